import type { INestApplicationContext } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accountSubject, ENGINE_SUBJECTS, NAMESPACES, type AccountEvent, type PortfolioSnapshot, type PositionsSnapshot } from '#libs/contracts';
import { EngineRoutes, InProcessContext, type AccountStream } from '#libs/realtime';
import { eventually, gatewayContext, LoopbackNamespace, UNIT_LICENCE, unitUser } from '../../test/support/app-context.js';
import { accountStreamToken } from './account-stream-events.js';

const position = (symbol: string, quantity: string, seq?: number) => ({
  ts: Date.now(),
  ...(seq === undefined ? {} : { seq }),
  symbol,
  quantity,
  avgPrice: '10',
  marketPrice: '11',
  marketValue: '110',
  unrealizedPnl: '10',
  realizedPnl: '0',
  dayPnl: '1',
});

/**
 * An account namespace made by AccountStreamModule.forKind('position') from its registry entry, in the gateway's real
 * module graph: engine events reach its stream through the routes the registry derived (durable kind), and a watcher
 * gets the snapshot, live events and a `since` replay.
 */
describe('AccountStreamModule.forKind', () => {
  let app: INestApplicationContext;
  let loopback: LoopbackNamespace;
  let stream: AccountStream<'position'>;

  function engineEvent(account: string, payload: unknown): void {
    const route = app.get(EngineRoutes).all().find((candidate) => candidate.subject === ENGINE_SUBJECTS.position);
    if (!route) throw new Error('no route for positions');
    route.handle(payload, new InProcessContext([accountSubject(account, 'position')]));
  }

  beforeAll(async () => {
    app = await gatewayContext({});
    loopback = await LoopbackNamespace.open(NAMESPACES.positions);
    stream = app.get<AccountStream<'position'>>(accountStreamToken('position'));
  });
  afterAll(async () => {
    await loopback.close();
    await app.close();
  });

  it('registers every account kind as a durable route of the registry', () => {
    expect(app.get(EngineRoutes).durableRoutes()).toEqual([
      { subject: ENGINE_SUBJECTS.order, accountKind: 'order' },
      { subject: ENGINE_SUBJECTS.position, accountKind: 'position' },
      { subject: ENGINE_SUBJECTS.portfolio, accountKind: 'portfolio' },
    ]);
  });

  it('hands account events to their handler directly (the transports skip Nest\'s per-message pipeline), control events not', () => {
    const routes = app.get(EngineRoutes);
    for (const subject of [ENGINE_SUBJECTS.order, ENGINE_SUBJECTS.position, ENGINE_SUBJECTS.portfolio]) expect(routes.handlerFor(subject)).toBeTypeOf('function');
    expect(routes.handlerFor(ENGINE_SUBJECTS.session)).toBeUndefined();
  });

  it('keeps an account snapshot by symbol, sends it to a watcher, then live events; replays `since`', async () => {
    const msft = position('MSFT', '5');
    const aapl = position('AAPL', '12');
    engineEvent('ACC-1001', position('AAPL', '10'));
    engineEvent('ACC-1001', msft);
    engineEvent('ACC-1001', aapl);
    const { socket, client } = await loopback.connect(unitUser(), UNIT_LICENCE);
    const snapshots: PositionsSnapshot[] = [];
    const live: AccountEvent<'position'>[] = [];
    client.on('positions:snapshot', (snapshot: PositionsSnapshot) => snapshots.push(snapshot));
    client.on('position', (event: AccountEvent<'position'>) => live.push(event));
    expect(stream.watch(socket, 'ACC-1001')).toEqual({ account: 'ACC-1001', seq: 3, replayed: 0, resetRequired: false });
    await eventually(() => snapshots.length === 1);
    // Spliced from the logged frames: the same items, in recency order, as the events themselves.
    expect(snapshots[0]).toEqual({
      account: 'ACC-1001',
      seq: 3,
      items: [
        { account: 'ACC-1001', seq: 2, ...msft },
        { account: 'ACC-1001', seq: 3, ...aapl },
      ],
    });
    engineEvent('ACC-1001', position('MSFT', '6'));
    await eventually(() => live.length === 1);
    expect(live[0]).toMatchObject({ account: 'ACC-1001', seq: 4, symbol: 'MSFT', quantity: '6' });

    const again = await loopback.connect(unitUser({ userId: 'user-2' }), UNIT_LICENCE);
    const replayed: AccountEvent<'position'>[] = [];
    again.client.on('position', (event: AccountEvent<'position'>) => replayed.push(event));
    expect(stream.watch(again.socket, 'ACC-1001', 2)).toEqual({ account: 'ACC-1001', seq: 4, replayed: 2, resetRequired: false });
    await eventually(() => replayed.length === 2);
    expect(replayed.map((event) => event.seq)).toEqual([3, 4]);
  });

  it('reads the latest event of each key back for in-process readers, as the engine sent it', () => {
    const first = position('AAPL', '3');
    engineEvent('ACC-1003', first);
    engineEvent('ACC-1003', position('MSFT', '4'));
    const [aapl, msft] = [...stream.itemsOf('ACC-1003')];
    expect(aapl).toEqual({ account: 'ACC-1003', seq: 1, ...first });
    expect(msft).toMatchObject({ seq: 2, symbol: 'MSFT', quantity: '4' });
    // Parsed once per item: a second read gets the same object.
    expect([...stream.itemsOf('ACC-1003')][0]).toBe(aapl);
    engineEvent('ACC-1003', position('AAPL', '5'));
    expect([...stream.itemsOf('ACC-1003')].map((item) => [item.symbol, item.quantity, item.seq])).toEqual([
      ['MSFT', '4', 2],
      ['AAPL', '5', 3],
    ]);
    expect([...stream.itemsOf('ACC-UNKNOWN')]).toEqual([]);
  });

  it('sends an account with no portfolio yet a snapshot whose portfolio is null, then the latest one', async () => {
    const portfolioStream = app.get<AccountStream<'portfolio'>>(accountStreamToken('portfolio'));
    const portfolioLoopback = await LoopbackNamespace.open(NAMESPACES.portfolio);
    try {
      const { socket, client } = await portfolioLoopback.connect(unitUser({ userId: 'user-3' }), UNIT_LICENCE);
      const snapshots: PortfolioSnapshot[] = [];
      client.on('portfolio:snapshot', (snapshot: PortfolioSnapshot) => snapshots.push(snapshot));
      portfolioStream.watch(socket, 'ACC-1004');
      await eventually(() => snapshots.length === 1);
      expect(snapshots[0]).toEqual({ account: 'ACC-1004', seq: 0, portfolio: null });
      const fields = { currency: 'USD', equity: '150', cash: '100', buyingPower: '100', marketValue: '50', dayPnl: '0', totalPnl: '0' };
      portfolioStream.apply('ACC-1004', 1_700_000_000_000, undefined, fields);
      portfolioStream.apply('ACC-1004', 1_700_000_000_001, undefined, { ...fields, cash: '90' });
      portfolioStream.watch(socket, 'ACC-1004');
      await eventually(() => snapshots.length === 2);
      expect(snapshots[1]).toEqual({ account: 'ACC-1004', seq: 2, portfolio: { account: 'ACC-1004', seq: 2, ts: 1_700_000_000_001, ...fields, cash: '90' } });
    } finally {
      await portfolioLoopback.close();
    }
  });

  it('drops an event older than the engine seq it already has', () => {
    engineEvent('ACC-1002', position('BTC', '1', 7));
    expect(stream.apply('ACC-1002', Date.now(), 6, position('BTC', '2'))).toBe('stale');
  });
});
