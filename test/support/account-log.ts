import { expect } from 'vitest';
import { NAMESPACES } from '#libs/contracts';
import { collect, connectClient, nextEvent, request, type ConnectedClient, type GatewayProcess } from './gateway.js';
import { waitFor } from './processes.js';
import { hsToken } from './tokens.js';

/** What the durable account log tests share, whichever log (JetStream, Redis Streams) is behind the gateway. */

/** An order event; `filled` tells the events of one order apart, `seq` is the engine's own when given. */
export const orderEvent = (orderId: string, filled: number, seq?: number) => ({
  orderId,
  clientOrderId: `c-${orderId}`,
  symbol: 'NASDAQ:AAPL',
  side: 'buy',
  type: 'limit',
  status: 'partially_filled',
  execType: 'trade',
  quantity: '100000',
  filledQuantity: String(filled),
  leavesQuantity: String(100_000 - filled),
  price: '189.50',
  ts: Date.now(),
  ...(seq === undefined ? {} : { seq }),
});

export type OrderEvent = ReturnType<typeof orderEvent>;

export interface OrderFrame {
  account: string;
  seq: number;
  orderId: string;
  filledQuantity: string;
}

export interface OrdersSnapshot {
  account: string;
  seq: number;
  items: OrderFrame[];
}

/** The five events `expectHistoryServed` expects: three orders, two of them updated. */
export const HISTORY = (): OrderEvent[] => [orderEvent('O-1', 0, 1), orderEvent('O-2', 0, 2), orderEvent('O-1', 10, 3), orderEvent('O-3', 0, 4), orderEvent('O-2', 20, 5)];

export async function ordersClient(gateway: GatewayProcess, accounts: string[]): Promise<ConnectedClient<'/orders'>> {
  return connectClient(gateway.url, NAMESPACES.orders, { auth: { token: await hsToken({ sub: `trader-${accounts.join('-')}`, accounts }) } });
}

/**
 * A replica that has not seen `account` yet, and whose log holds HISTORY, answers two concurrent subscribers with one
 * hydration: a fresh one gets the full snapshot, one resuming `since` 2 gets an exact replay. Returns the fresh client.
 */
export async function expectHistoryServed(gateway: GatewayProcess, account: string, clients: ConnectedClient<'/orders'>[]): Promise<ConnectedClient<'/orders'>> {
  const fresh = await ordersClient(gateway, [account]);
  const resuming = await ordersClient(gateway, [account]);
  clients.push(fresh, resuming);
  const snapshot = nextEvent<OrdersSnapshot>(fresh.socket, 'orders:snapshot');
  const replayed = collect<OrderFrame>(resuming.socket, 'order');
  const resumingSnapshots = collect<OrdersSnapshot>(resuming.socket, 'orders:snapshot');
  // Both subscribe at once: they share one hydration.
  const [subFresh, subResuming] = await Promise.all([
    request(fresh.socket, 'subscribe', {}),
    request(resuming.socket, 'subscribe', { since: { [account]: 2 } }),
  ]);
  expect(subFresh).toEqual({ ok: true, data: { accounts: [{ account, seq: 5, replayed: 0, resetRequired: false }] } });
  expect(subResuming).toEqual({ ok: true, data: { accounts: [{ account, seq: 5, replayed: 3, resetRequired: false }] } });
  const items = (await snapshot).items;
  expect((await snapshot).seq).toBe(5);
  expect(items.map((item) => [item.orderId, item.seq, item.filledQuantity]).sort()).toEqual([
    ['O-1', 3, '10'],
    ['O-2', 5, '20'],
    ['O-3', 4, '0'],
  ]);
  await waitFor('replay', () => (replayed.length >= 3 ? true : undefined));
  expect(replayed.map((event) => [event.seq, event.orderId])).toEqual([
    [3, 'O-1'],
    [4, 'O-3'],
    [5, 'O-2'],
  ]);
  expect(resumingSnapshots).toEqual([]);
  expect(await gateway.metric('tradewire_account_log_hydrations_total', { namespace: '/orders', outcome: 'hydrated' })).toBe(1);
  return fresh;
}

/**
 * With ACCOUNT_LOG_MAX_PER_SUBJECT 3 and six numbered events of `account` (O-1 … O-6) published: a resume from
 * before what the log holds gets resetRequired and a snapshot, one from within it an exact replay.
 */
export async function expectLimitHonoured(gateway: GatewayProcess, account: string): Promise<void> {
  const beyond = await ordersClient(gateway, [account]);
  const snapshot = nextEvent<OrdersSnapshot>(beyond.socket, 'orders:snapshot');
  expect(await request(beyond.socket, 'subscribe', { since: { [account]: 1 } })).toEqual({ ok: true, data: { accounts: [{ account, seq: 6, replayed: 0, resetRequired: true }] } });
  expect((await snapshot).items.map((item) => item.orderId).sort()).toEqual(['O-4', 'O-5', 'O-6']);

  const within = await ordersClient(gateway, [account]);
  const replayed = collect<OrderFrame>(within.socket, 'order');
  expect(await request(within.socket, 'subscribe', { since: { [account]: 3 } })).toEqual({ ok: true, data: { accounts: [{ account, seq: 6, replayed: 3, resetRequired: false }] } });
  await waitFor('replay', () => (replayed.length >= 3 ? true : undefined));
  expect(replayed.map((e) => e.seq)).toEqual([4, 5, 6]);
  for (const client of [beyond, within]) client.socket.close();
}
