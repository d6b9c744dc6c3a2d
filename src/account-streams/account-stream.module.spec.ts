import type { INestApplicationContext } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accountSubject, ENGINE_SUBJECTS, NAMESPACES, type AccountEvent, type PositionsSnapshot } from '#libs/contracts';
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
    engineEvent('ACC-1001', position('AAPL', '10'));
    engineEvent('ACC-1001', position('MSFT', '5'));
    engineEvent('ACC-1001', position('AAPL', '12'));
    const { socket, client } = await loopback.connect(unitUser(), UNIT_LICENCE);
    const snapshots: PositionsSnapshot[] = [];
    const live: AccountEvent<'position'>[] = [];
    client.on('positions:snapshot', (snapshot: PositionsSnapshot) => snapshots.push(snapshot));
    client.on('position', (event: AccountEvent<'position'>) => live.push(event));
    expect(stream.watch(socket, 'ACC-1001')).toEqual({ account: 'ACC-1001', seq: 3, replayed: 0, resetRequired: false });
    await eventually(() => snapshots.length === 1);
    expect(snapshots[0]).toMatchObject({ account: 'ACC-1001', seq: 3 });
    expect(JSON.stringify(snapshots[0])).toContain('"quantity":"12"');
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

  it('drops an event older than the engine seq it already has', () => {
    engineEvent('ACC-1002', position('BTC', '1', 7));
    expect(stream.apply('ACC-1002', Date.now(), 6, position('BTC', '2'))).toBe('stale');
  });
});
