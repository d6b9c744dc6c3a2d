import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TradewireClient, type DeadmanFired, type DeadmanSwitchState } from '#libs/client';
import { NAMESPACES, type DeadmanEvent, type OrderDeadmanResponse } from '#libs/contracts';
import { TestEngine } from './support/engine.js';
import { collect, connectClient, GatewayProcess, nextEvent, request, requestRaw, sleep, type NamespaceSocket } from './support/gateway.js';
import { NatsServer, RedisServer, waitFor } from './support/processes.js';
import { FULL_LICENCE, hsToken, type TestClaims } from './support/tokens.js';
import { limitOrder, uniqueId } from './support/orders.js';

type OrdersSocket = NamespaceSocket<typeof NAMESPACES.orders>;

/**
 * The dead-man's switch (`order:deadman`, docs/protocol.md §6.6) against real gateway processes: two replicas on one
 * NATS and one Redis, and a NATS test engine that keeps its working orders, takes cancels of them and refuses cancels
 * of orders that are no longer working, as an engine does. What the switch did is read from the engine's side.
 */

const LEASE_MS = 1_000;
/** What a busy machine may add to a bound the switch keeps (process scheduling, the engine's round trip). */
const SLACK_MS = 2_000;
let nats: NatsServer;
let redis: RedisServer;
let engine: TestEngine;
let replicaA: GatewayProcess;
let replicaB: GatewayProcess;
const sockets: OrdersSocket[] = [];

const replicaEnv = (extra: Record<string, string> = {}) => ({
  NATS_URL: nats.url,
  REDIS_URL: redis.url,
  ENGINE_TRANSPORT: 'nats',
  ORDER_TIMEOUT_MS: '1000',
  DEADMAN_LEASE_MS: String(LEASE_MS),
  RATE_LIMIT_REQUESTS: '1000/1m',
  RATE_LIMIT_REQUEST_BURST: '100/1s',
  RATE_LIMIT_EVENTS: 'subscribe=10/1m,order:submit=600/1m:100',
  ...extra,
});

async function ordersSocket(gateway: GatewayProcess, claims: TestClaims = {}): Promise<OrdersSocket> {
  const { socket } = await connectClient(gateway.url, NAMESPACES.orders, { auth: { token: await hsToken({ sub: 'dm-trader', lic: FULL_LICENCE, ...claims }) } });
  sockets.push(socket);
  return socket;
}

async function submit(socket: OrdersSocket): Promise<{ clientOrderId: string; orderId: string }> {
  const clientOrderId = uniqueId('o');
  const answer = await request(socket, 'order:submit', limitOrder(clientOrderId));
  if (!answer.ok) throw new Error(`submit refused: ${answer.error.code} ${answer.error.message}`);
  return { clientOrderId, orderId: answer.data.orderId };
}

async function arm(socket: OrdersSocket, timeoutMs: number, switchId?: string): Promise<OrderDeadmanResponse> {
  const answer = await request(socket, 'order:deadman', { timeoutMs, ...(switchId ? { switchId } : {}) });
  if (!answer.ok) throw new Error(`order:deadman refused: ${answer.error.code} ${answer.error.message}`);
  return answer.data;
}

const working = (orderId: string) => engine.workingOrderIds().includes(orderId);
const cancelsOf = (orderId: string) => engine.cancels.filter((cancel) => cancel.orderId === orderId);

/** Waits until none of the orders is working any more; resolves with when that was seen. */
async function canceledAll(orders: { orderId: string }[], timeoutMs: number): Promise<number> {
  await waitFor('the orders canceled by the switch', () => (orders.every((order) => !working(order.orderId)) ? true : undefined), timeoutMs, 20);
  return Date.now();
}

async function firesOn(gateways: GatewayProcess[], reason: string): Promise<number> {
  let total = 0;
  for (const gateway of gateways) if (gateway.process.running) total += await gateway.metric('tradewire_deadman_fires_total', { reason });
  return total;
}

beforeAll(async () => {
  [nats, redis] = await Promise.all([NatsServer.start(), RedisServer.start()]);
  engine = await TestEngine.start(nats.url, { publishOrderEvents: true, strictCancels: true, submitReplyDelayMs: 5 });
  replicaA = await GatewayProcess.start(replicaEnv());
  replicaB = await GatewayProcess.start(replicaEnv());
});

afterAll(async () => {
  for (const socket of sockets) socket.close();
  await Promise.all([replicaA?.stop(), replicaB?.stop()]);
  await engine?.close();
  await Promise.all([nats?.stop(), redis?.stop()]);
});

describe("dead-man's switch", { timeout: 30_000 }, () => {
  it('fires when it is not refreshed in time: every order submitted through the connection is canceled, before or after arming, and no other', async () => {
    const socket = await ordersSocket(replicaA);
    const other = await ordersSocket(replicaA);
    const before = await submit(socket);
    const armedAt = Date.now();
    const armed = await arm(socket, 2_000);
    expect(armed).toEqual({ armed: true, switchId: expect.stringMatching(/^[A-Za-z0-9_-]{8,64}$/) as string, timeoutMs: 2_000, deadline: expect.any(Number) as number, resumed: false, orders: 1 });
    expect(Math.abs((armed.deadline ?? 0) - (armedAt + 2_000))).toBeLessThan(500);
    const after = await submit(socket);
    const alreadyDone = await submit(socket);
    const elsewhere = await submit(other);
    // One of them is canceled by hand first: the switch's cancel of it is refused by the engine, and that is fine.
    expect((await request(socket, 'order:cancel', { account: 'ACC-1001', orderId: alreadyDone.orderId })).ok).toBe(true);
    const fired = nextEvent<DeadmanEvent>(socket, 'deadman', 6_000);

    expect(working(before.orderId) && working(after.orderId)).toBe(true);
    const event = await fired;
    const firedSeenAt = await canceledAll([before, after], 2_000);
    expect(event).toEqual({ state: 'fired', switchId: armed.switchId, reason: 'timeout', firedAt: expect.any(Number) as number, orders: 3 });
    expect(firedSeenAt - armedAt).toBeGreaterThanOrEqual(2_000);
    expect(firedSeenAt - armedAt).toBeLessThan(2_000 + 250 + SLACK_MS);
    expect(working(elsewhere.orderId)).toBe(true);
    expect(cancelsOf(elsewhere.orderId)).toEqual([]);
    expect(cancelsOf(before.orderId)).toEqual([{ account: 'ACC-1001', orderId: before.orderId, clientOrderId: before.clientOrderId, userId: 'dm-trader', tenant: 'acme-capital', ts: expect.any(Number) as number }]);
    expect(cancelsOf(alreadyDone.orderId)).toHaveLength(2);
    await waitFor('the refused cancel counted', async () => ((await replicaA.metric('tradewire_deadman_cancels_total', { outcome: 'refused' })) >= 1 ? true : undefined));
    expect(await replicaA.metric('tradewire_deadman_fires_total', { reason: 'timeout' })).toBeGreaterThanOrEqual(1);

    // Fired is fired: naming the switch again arms a new one, and says what became of the old.
    const again = await arm(socket, 1_000, armed.switchId);
    expect(again).toMatchObject({ armed: true, resumed: false, orders: 0, fired: { switchId: armed.switchId, reason: 'timeout', orders: 3 } });
    expect(again.switchId).not.toBe(armed.switchId);
    expect(await request(socket, 'order:deadman', { timeoutMs: 0 })).toEqual({ ok: true, data: { armed: false, switchId: again.switchId } });

    // The audit trail: armed by the client on its connection, fired with what the engine did with each cancel.
    const armedRecord = await replicaA.audited((record) => record.kind === 'deadman.armed' && record.switchId === armed.switchId, 'deadman.armed');
    expect(armedRecord).toMatchObject({ by: 'client', user: 'dm-trader', tenant: 'acme-capital', timeoutMs: 2_000, deadline: armed.deadline, orders: 1, address: '127.0.0.1' });
    expect(replicaA.auditRecords().some((record) => record.kind === 'handshake' && record.outcome === 'accepted' && record.connection === armedRecord.connection)).toBe(true);
    const firedRecord = await replicaA.audited((record) => record.kind === 'deadman.fired' && record.switchId === armed.switchId, 'deadman.fired');
    expect(firedRecord).toMatchObject({ trigger: 'timeout', user: 'dm-trader', tenant: 'acme-capital', connection: armedRecord.connection, timeoutMs: 2_000, accounts: ['ACC-1001'], canceled: 2, refused: 1, failed: 0, outcome: 'accepted' });
    expect([...(firedRecord.orderIds as string[])].sort()).toEqual([before.orderId, after.orderId].sort());
    expect(await replicaA.audited((record) => record.kind === 'deadman.disarmed' && record.switchId === again.switchId, 'deadman.disarmed')).toMatchObject({ reason: 'client', connection: armedRecord.connection });
  });

  it('holds while it is refreshed, and disarmed it cancels nothing', async () => {
    const socket = await ordersSocket(replicaA);
    const armed = await arm(socket, 2_000);
    const order = await submit(socket);
    const events = collect<DeadmanEvent>(socket, 'deadman');
    for (let i = 0; i < 10; i++) {
      await sleep(500);
      const refreshed = await arm(socket, 2_000);
      expect(refreshed).toMatchObject({ armed: true, switchId: armed.switchId, resumed: true, orders: 1 });
    }
    expect(working(order.orderId)).toBe(true);
    expect(await request(socket, 'order:deadman', { timeoutMs: 0 })).toEqual({ ok: true, data: { armed: false, switchId: armed.switchId } });
    await sleep(2_800);
    expect(working(order.orderId)).toBe(true);
    expect(cancelsOf(order.orderId)).toEqual([]);
    expect(events).toEqual([]);
    // Disarming what is not armed is not an error.
    expect(await request(socket, 'order:deadman', { timeoutMs: 0 })).toEqual({ ok: true, data: { armed: false } });
    // Armed once and disarmed once in the trail; the ten refreshes are only order commands.
    await replicaA.audited((record) => record.kind === 'deadman.disarmed' && record.switchId === armed.switchId, 'deadman.disarmed');
    const connection = replicaA.auditRecords().find((record) => record.kind === 'deadman.armed' && record.switchId === armed.switchId)?.connection;
    // The last command's record is written after its answer, so the thirteenth may still be on its way.
    const commands = await waitFor('thirteen deadman commands audited', () => {
      const found = replicaA.auditRecords().filter((record) => record.kind === 'order.command' && record.command === 'deadman' && record.connection === connection);
      return found.length >= 13 ? found : undefined;
    });
    expect(commands).toHaveLength(13);
    expect(replicaA.auditRecords().filter((record) => record.kind === 'deadman.armed' && record.switchId === armed.switchId)).toHaveLength(1);
  });

  it('fires when the connection drops and does not come back within the timeout, counted from the drop', async () => {
    const socket = await ordersSocket(replicaA);
    await arm(socket, 3_000);
    const order = await submit(socket);
    await sleep(1_500);
    const droppedAt = Date.now();
    socket.close();
    await sleep(2_000);
    // The drop gave the client the whole timeout: the deadline of the last arm (passed 500 ms ago) did not cut it short.
    expect(working(order.orderId)).toBe(true);
    const canceledAt = await canceledAll([order], 6_000);
    expect(canceledAt - droppedAt).toBeGreaterThanOrEqual(3_000);
    expect(canceledAt - droppedAt).toBeLessThan(3_000 + 250 + SLACK_MS);
    expect(await firesOn([replicaA, replicaB], 'disconnect')).toBeGreaterThanOrEqual(1);
  });

  it('keeps the orders when the client comes back quickly through another replica and re-attaches the switch, and covers what it submits there', async () => {
    const first = await ordersSocket(replicaA);
    const armed = await arm(first, 3_000);
    const order = await submit(first);
    first.close();
    await sleep(300);
    const second = await ordersSocket(replicaB);
    const resumed = await arm(second, 3_000, armed.switchId);
    expect(resumed).toMatchObject({ armed: true, switchId: armed.switchId, resumed: true, orders: 1 });
    const later = await submit(second);
    for (let i = 0; i < 8; i++) {
      await sleep(500);
      await arm(second, 3_000);
    }
    expect(working(order.orderId) && working(later.orderId)).toBe(true);
    expect(cancelsOf(order.orderId)).toEqual([]);
    // The new connection took the switch over, on the replica it came back through.
    expect(await replicaB.audited((record) => record.kind === 'deadman.armed' && record.switchId === armed.switchId, 'deadman.armed by takeover')).toMatchObject({ by: 'takeover', user: 'dm-trader', orders: 1 });

    // Another user cannot take it over: naming it arms a switch of that user's own.
    const stranger = await ordersSocket(replicaA, { sub: 'dm-stranger' });
    const strangers = await arm(stranger, 1_000, armed.switchId);
    expect(strangers).toMatchObject({ armed: true, resumed: false, orders: 0 });
    expect(strangers.switchId).not.toBe(armed.switchId);
    expect((await request(stranger, 'order:deadman', { timeoutMs: 0 })).ok).toBe(true);

    // And the re-attached switch fires for both orders when this connection goes too.
    second.close();
    await canceledAll([order, later], 3_000 + 250 + SLACK_MS + 1_000);
  });

  it('fires after the replica holding its connection was SIGKILLed: another replica takes it over within its lease', async () => {
    const doomed = await GatewayProcess.start(replicaEnv());
    const socket = await ordersSocket(doomed);
    await arm(socket, 2_000);
    const orders = [await submit(socket), await submit(socket)];
    const before = await firesOn([replicaA, replicaB], 'replica_lost');
    const killedAt = Date.now();
    await doomed.process.stop('SIGKILL');
    socket.close();
    const canceledAt = await canceledAll(orders, 8_000);
    // Due at most two seconds after the kill; the dead replica's lease (1 s) outlives it by at most that; then a sweep.
    expect(canceledAt - killedAt).toBeLessThan(2_000 + LEASE_MS + 250 + SLACK_MS);
    expect(await firesOn([replicaA, replicaB], 'replica_lost')).toBe(before + 1);
    for (const order of orders) expect(cancelsOf(order.orderId)).toHaveLength(1);
    // Recorded by the replica that fired it, with the dead replica's connection.
    const firedOrderIds = orders.map((order) => order.orderId).sort();
    const fired = await waitFor('deadman.fired as replica_lost', () =>
      [...replicaA.auditRecords(), ...replicaB.auditRecords()].find(
        (record) => record.kind === 'deadman.fired' && record.trigger === 'replica_lost' && JSON.stringify([...(record.orderIds as string[])].sort()) === JSON.stringify(firedOrderIds),
      ),
    );
    expect(fired).toMatchObject({ user: 'dm-trader', canceled: 2, failed: 0, outcome: 'accepted' });
    expect(fired.node).not.toBe(`test-${doomed.port}`);
  });

  it('is detached, not lost, when the replica holding its connection drains (SIGTERM): the client re-attaches it elsewhere and the orders stay', async () => {
    const draining = await GatewayProcess.start(replicaEnv());
    const first = await ordersSocket(draining);
    const armed = await arm(first, 3_000);
    const order = await submit(first);
    expect(await draining.stop()).toEqual({ code: 0, signal: null });
    // The drain closed the connection while the switch's store was still open: the switch waits for the client.
    const store = new Redis(redis.url);
    try {
      expect(await store.hget(`tradewire:{deadman}:s:${armed.switchId}`, 'connected')).toBe('0');
    } finally {
      store.disconnect();
    }
    expect(draining.process.output).not.toContain("dead-man's switch store unavailable");
    const connection = draining.auditRecords().find((record) => record.kind === 'deadman.armed' && record.switchId === armed.switchId)?.connection;
    expect(draining.auditRecords().find((record) => record.kind === 'disconnect' && record.connection === connection)).toMatchObject({ code: 'shutdown' });
    const second = await ordersSocket(replicaB);
    expect(await arm(second, 3_000, armed.switchId)).toMatchObject({ armed: true, switchId: armed.switchId, resumed: true, orders: 1 });
    expect(working(order.orderId)).toBe(true);
    expect(cancelsOf(order.orderId)).toEqual([]);
    expect((await request(second, 'order:deadman', { timeoutMs: 0 })).ok).toBe(true);
  });

  it('refuses bad input, the wrong role and a licence without trading, and changes nothing', async () => {
    const socket = await ordersSocket(replicaA);
    for (const payload of [{ timeoutMs: 999 }, { timeoutMs: 3_600_001 }, { timeoutMs: 1500.5 }, { timeoutMs: '1000' }, {}, { timeoutMs: 1_000, switchId: 'bad id!' }, { timeoutMs: 1_000, extra: true }]) {
      const answer = await requestRaw(socket, 'order:deadman', payload);
      expect(answer).toMatchObject({ ok: false, error: { code: 'INVALID_REQUEST' } });
    }
    expect(await request(socket, 'order:deadman', { timeoutMs: 999 })).toMatchObject({ ok: false, error: { message: expect.stringContaining('timeoutMs must be 0 (disarm) or from 1000 to 3600000') as string } });
    const viewer = await ordersSocket(replicaA, { roles: ['viewer'] });
    expect(await request(viewer, 'order:deadman', { timeoutMs: 1_000 })).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    const unlicensed = await ordersSocket(replicaA, { lic: { ...FULL_LICENCE, features: [] } });
    expect(await request(unlicensed, 'order:deadman', { timeoutMs: 1_000 })).toMatchObject({ ok: false, error: { code: 'NOT_ENTITLED' } });
    // The connection holds one switch: naming another while it does is refused.
    const armed = await arm(socket, 1_000);
    expect(await request(socket, 'order:deadman', { timeoutMs: 1_000, switchId: 'another-switch-id' })).toMatchObject({ ok: false, error: { code: 'INVALID_REQUEST', details: { switchId: armed.switchId } } });
    expect((await request(socket, 'order:deadman', { timeoutMs: 0 })).ok).toBe(true);
  });
});

describe("dead-man's switch through the client SDK", { timeout: 40_000 }, () => {
  it('keeps its switch refreshed, re-attaches it on the replica it fails over to after a SIGKILL (the orders stay), and the gateway fires it once the client is gone', async () => {
    const doomed = await GatewayProcess.start(replicaEnv());
    const client = new TradewireClient({ url: [doomed.url, replicaB.url], getToken: () => hsToken({ sub: 'dm-sdk', lic: FULL_LICENCE }) });
    const armedEvents: { state: DeadmanSwitchState; resumed: boolean }[] = [];
    const fired: DeadmanFired[] = [];
    client.orders.deadman.on('armed', (state, info) => armedEvents.push({ state, resumed: info.resumed }));
    client.orders.deadman.on('fired', (event) => fired.push(event));
    try {
      const armed = await client.orders.deadman.arm(2_000);
      expect(armed).toMatchObject({ armed: true, timeoutMs: 2_000, orders: 0 });
      expect(() => void client.orders.deadman.arm(500)).toThrow(/timeoutMs/);
      const order = await client.orders.submit({ account: 'ACC-1001', instrument: 'NASDAQ:AAPL', side: 'buy', type: 'limit', quantity: '100', price: '189.40' });
      // Three timeouts with no call from the application: the SDK's own refreshes hold it.
      await sleep(6_000);
      expect(working(order.orderId)).toBe(true);

      await doomed.process.stop('SIGKILL');
      await waitFor('the switch re-attached on the other replica', () => (armedEvents.some((event) => event.resumed) ? true : undefined), 10_000);
      expect(armedEvents.at(-1)?.state).toMatchObject({ armed: true, switchId: armed.switchId, orders: 1 });
      await sleep(3_000);
      expect(working(order.orderId)).toBe(true);
      expect(cancelsOf(order.orderId)).toEqual([]);
      expect(fired).toEqual([]);
    } finally {
      client.close();
      await doomed.stop();
    }
    const orderIds = engine.submits.filter((submitted) => submitted.userId === 'dm-sdk').map((submitted) => submitted.clientOrderId);
    expect(orderIds).toHaveLength(1);
    // The client is gone for good: the switch fires on the replica it was re-attached to.
    await waitFor('the order canceled after the client closed', () => (engine.cancels.some((cancel) => cancel.clientOrderId === orderIds[0]) ? true : undefined), 5_000);
  });
});

describe("dead-man's switch without Redis (one process)", { timeout: 30_000 }, () => {
  let gateway: GatewayProcess;
  beforeAll(async () => {
    gateway = await GatewayProcess.start(Object.fromEntries(Object.entries(replicaEnv()).filter(([name]) => name !== 'REDIS_URL')));
  });
  afterAll(async () => {
    await gateway?.stop();
  });

  it('fires on a timeout and on a drop from the process memory', async () => {
    const timedOut = await ordersSocket(gateway);
    await arm(timedOut, 2_000);
    const first = await submit(timedOut);
    const event = await nextEvent<DeadmanEvent>(timedOut, 'deadman', 6_000);
    expect(event).toMatchObject({ state: 'fired', reason: 'timeout', orders: 1 });
    await canceledAll([first], 2_000);

    const dropped = await ordersSocket(gateway);
    await arm(dropped, 2_000);
    const second = await submit(dropped);
    dropped.close();
    await canceledAll([second], 6_000);
    expect(await gateway.metric('tradewire_deadman_fires_total', { reason: 'disconnect' })).toBe(1);
  });
});
