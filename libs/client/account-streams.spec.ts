import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NAMESPACES, type AccountEvent, type AccountSubscribeRequest } from '#libs/contracts';
import { ScriptedGateway, until } from './spec-support/scripted-gateway.js';
import { TradewireClient, type AccountSnapshotInfo, type Order } from './index.js';

const ORDERS = NAMESPACES.orders;

const order = (seq: number, orderId = `O-${seq}`, account = 'ACC-1'): AccountEvent<'order'> => ({
  account,
  seq,
  ts: 1000 + seq,
  orderId,
  clientOrderId: `c-${orderId}`,
  symbol: 'NASDAQ:AAPL',
  side: 'buy',
  type: 'limit',
  status: 'new',
  execType: 'new',
  quantity: '10',
  filledQuantity: '0',
  leavesQuantity: '10',
  price: '1.00',
});

describe('account streams in the SDK', () => {
  let gateway: ScriptedGateway;
  let client: TradewireClient;

  beforeEach(async () => {
    gateway = await ScriptedGateway.start();
    client = new TradewireClient({ url: gateway.url, getToken: () => 'token', transports: ['websocket'], pingIntervalMs: 0, backoff: { minDelayMs: 20, maxDelayMs: 100 } });
  });
  afterEach(async () => {
    client.close();
    await gateway.close();
  });

  it('loads the snapshot, then applies live events once each, in seq order, across a reconnect with since', async () => {
    let answer: { account: string; seq: number; replayed: number; resetRequired: boolean } = { account: 'ACC-1', seq: 5, replayed: 0, resetRequired: false };
    gateway.on(ORDERS, 'subscribe', () => ({ ok: true, data: { accounts: [answer] } }));
    const blotter = client.orders.subscribe();
    const seen: Order[] = [];
    blotter.on('order', (o) => seen.push(o));
    const replays: unknown[] = [];
    blotter.on('replay', (info) => replays.push(info));
    await until('subscribe', () => gateway.requestsOf(ORDERS, 'subscribe').length === 1);
    expect(gateway.requestsOf(ORDERS, 'subscribe')[0].payload).toEqual({});
    gateway.emit(ORDERS, 'orders:snapshot', { account: 'ACC-1', seq: 5, items: [order(3, 'O-A'), order(5, 'O-B')] });
    gateway.emit(ORDERS, 'order', order(5, 'O-B')); // already in the snapshot
    gateway.emit(ORDERS, 'order', order(6, 'O-A'));
    gateway.emit(ORDERS, 'order', order(7, 'O-C'));
    await until('live events', () => seen.length === 2);
    expect(client.orders.seqs()).toEqual({ 'ACC-1': 7 });

    answer = { account: 'ACC-1', seq: 9, replayed: 2, resetRequired: false };
    gateway.dropAll();
    await until('the resubscribe', () => gateway.requestsOf(ORDERS, 'subscribe').length === 2);
    expect(gateway.requestsOf(ORDERS, 'subscribe')[1].payload).toEqual({ since: { 'ACC-1': 7 } });
    // The replay overlaps what was already applied live: seq 7 again, then 8 and 9.
    for (const seq of [7, 8, 9]) gateway.emit(ORDERS, 'order', order(seq, seq === 7 ? 'O-C' : seq === 8 ? 'O-A' : 'O-9'));
    await until('the replay', () => seen.length === 4);
    expect(seen.map((o) => o.seq)).toEqual([6, 7, 8, 9]);
    expect(replays).toEqual([{ account: 'ACC-1', replayed: 2, since: 7 }]);
    expect(client.orders.store.list().map((o) => o.orderId).sort()).toEqual(['O-9', 'O-A', 'O-B', 'O-C']);
    expect(client.orders.store.get('O-A')?.seq).toBe(8);
    expect(client.diagnostics()).toMatchObject({ duplicatesDropped: 2, reconnects: 1 });
  });

  it('reloads the snapshot when the replay log no longer reaches since, and says so', async () => {
    let resetRequired = false;
    gateway.on(ORDERS, 'subscribe', (_socket, payload) => ({
      ok: true,
      data: { accounts: [{ account: 'ACC-1', seq: 50, replayed: 0, resetRequired: resetRequired && (payload as AccountSubscribeRequest).since !== undefined }] },
    }));
    const blotter = client.orders.subscribe({ accounts: ['ACC-1'] });
    const resets: AccountSnapshotInfo[] = [];
    const snapshots: AccountSnapshotInfo[] = [];
    blotter.on('reset', (info) => resets.push(info));
    blotter.on('snapshot', (info) => snapshots.push(info));
    await until('subscribe', () => gateway.requestsOf(ORDERS, 'subscribe').length === 1);
    expect(gateway.requestsOf(ORDERS, 'subscribe')[0].payload).toEqual({ accounts: ['ACC-1'] });
    gateway.emit(ORDERS, 'orders:snapshot', { account: 'ACC-1', seq: 4, items: [order(4, 'O-OLD')] });
    await until('the snapshot', () => snapshots.length === 1);

    resetRequired = true;
    gateway.dropAll();
    await until('the resubscribe', () => gateway.requestsOf(ORDERS, 'subscribe').length === 2);
    expect(gateway.requestsOf(ORDERS, 'subscribe')[1].payload).toEqual({ accounts: ['ACC-1'], since: { 'ACC-1': 4 } });
    await until('the reset', () => resets.length === 1);
    gateway.emit(ORDERS, 'orders:snapshot', { account: 'ACC-1', seq: 50, items: [order(49, 'O-NEW')] });
    await until('the new snapshot', () => snapshots.length === 2);
    expect(resets).toEqual([{ account: 'ACC-1', seq: 50, resetRequired: true }]);
    expect(snapshots).toEqual([
      { account: 'ACC-1', seq: 4, resetRequired: false },
      { account: 'ACC-1', seq: 50, resetRequired: true },
    ]);
    expect(client.orders.store.list().map((o) => o.orderId)).toEqual(['O-NEW']);
  });

  it('keeps positions by account and symbol and the portfolio per account', async () => {
    gateway.on(NAMESPACES.positions, 'subscribe', () => ({ ok: true, data: { accounts: [{ account: 'ACC-1', seq: 2, replayed: 0, resetRequired: false }] } }));
    gateway.on(NAMESPACES.portfolio, 'subscribe', () => ({ ok: true, data: { accounts: [{ account: 'ACC-1', seq: 2, replayed: 0, resetRequired: false }] } }));
    const positions = client.positions.subscribe();
    const portfolio = client.portfolio.subscribe();
    const position = (seq: number, symbol: string, quantity: string) => ({ account: 'ACC-1', seq, ts: seq, symbol, quantity, avgPrice: '1', marketPrice: '1', marketValue: '1', unrealizedPnl: '0', realizedPnl: '0', dayPnl: '0' });
    const totals = { account: 'ACC-1', seq: 2, ts: 2, currency: 'USD', equity: '100', cash: '50', buyingPower: '100', marketValue: '50', dayPnl: '0', totalPnl: '0' };
    const snapshots = new Promise((resolve) => positions.once('snapshot', resolve));
    await until('subscribes', () => gateway.requestsOf(NAMESPACES.positions, 'subscribe').length === 1 && gateway.requestsOf(NAMESPACES.portfolio, 'subscribe').length === 1);
    gateway.emit(NAMESPACES.positions, 'positions:snapshot', { account: 'ACC-1', seq: 2, items: [position(1, 'NASDAQ:AAPL', '10')] });
    gateway.emit(NAMESPACES.portfolio, 'portfolio:snapshot', { account: 'ACC-1', seq: 2, portfolio: totals });
    await snapshots;
    gateway.emit(NAMESPACES.positions, 'position', position(3, 'NASDAQ:AAPL', '15'));
    gateway.emit(NAMESPACES.positions, 'position', position(4, 'NASDAQ:MSFT', '2'));
    gateway.emit(NAMESPACES.portfolio, 'portfolio', { ...totals, seq: 5, equity: '110' });
    await until('the events', () => client.positions.store.list().length === 2 && client.portfolio.store.get('ACC-1')?.equity === '110');
    expect(client.positions.store.get('ACC-1', 'NASDAQ:AAPL')?.quantity).toBe('15');
    expect([...client.positions.store.ofAccount('ACC-1').keys()]).toEqual(['NASDAQ:AAPL', 'NASDAQ:MSFT']);
    portfolio.unsubscribe();
    await until('the unsubscribe', () => gateway.requestsOf(NAMESPACES.portfolio, 'unsubscribe').length === 1);
    expect(client.portfolio.store.list()).toEqual([]);
  });

  it('reports a malformed event on error and goes on', async () => {
    gateway.on(ORDERS, 'subscribe', () => ({ ok: true, data: { accounts: [{ account: 'ACC-1', seq: 0, replayed: 0, resetRequired: false }] } }));
    const errors: string[] = [];
    client.on('error', (e) => errors.push(e.message));
    const blotter = client.orders.subscribe();
    const seen: number[] = [];
    blotter.on('order', (o) => seen.push(o.seq));
    await until('subscribe', () => gateway.requestsOf(ORDERS, 'subscribe').length === 1);
    gateway.emit(ORDERS, 'order', { account: 'ACC-1', seq: 'one' });
    gateway.emit(ORDERS, 'orders:snapshot', { account: 'ACC-1', seq: 1, items: [{ nope: true }] });
    gateway.emit(ORDERS, 'order', order(2));
    await until('the good event', () => seen.length === 1);
    expect(errors).toEqual(['order: not an order event', 'orders:snapshot: snapshot items are malformed']);
  });

  it('checks its arguments', () => {
    expect(() => client.orders.subscribe({ accounts: [] })).toThrow(/accounts/);
    expect(() => client.positions.subscribe({ accounts: ['bad account!'] })).toThrow(expect.objectContaining({ name: 'InvalidArgumentError', code: 'INVALID_ARGUMENT' }));
  });
});
