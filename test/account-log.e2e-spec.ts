import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccountSubscribeResponse } from '#libs/contracts';
import { collect, GatewayProcess, request, sleep, type ConnectedClient } from './support/gateway.js';
import { NatsServer, waitFor } from './support/processes.js';
import { expectHistoryServed, expectLimitHonoured, HISTORY, orderEvent, ordersClient, type OrderEvent, type OrderFrame, type OrdersSnapshot } from './support/account-log.js';

const STREAM = 'TRADEWIRE_ACCOUNTS';

const natsEnv = (nats: NatsServer, extra: Record<string, string> = {}) => ({ NATS_URL: nats.url, ENGINE_TRANSPORT: 'nats', ...extra });

/** How many messages the stream holds for a subject (JetStream stores the engine's publishes asynchronously). */
async function storedCount(jsm: JetStreamManager, subject: string): Promise<number> {
  const info = await jsm.streams.info(STREAM, { subjects_filter: subject });
  return info.state.subjects?.[subject] ?? 0;
}

async function publishOrders(nc: NatsConnection, jsm: JetStreamManager, account: string, events: OrderEvent[]): Promise<void> {
  const subject = `acct.${account}.order`;
  const before = await storedCount(jsm, subject);
  for (const event of events) nc.publish(subject, JSON.stringify(event));
  await nc.flush();
  await waitFor(`${events.length} events stored on ${subject}`, async () => ((await storedCount(jsm, subject)) >= before + events.length ? true : undefined));
}

describe('durable account log (NATS JetStream)', () => {
  let nats: NatsServer;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  const gateways: GatewayProcess[] = [];
  const clients: ConnectedClient<'/orders'>[] = [];

  const startGateway = async (env: Record<string, string> = {}) => {
    const gateway = await GatewayProcess.start(natsEnv(nats, env));
    gateways.push(gateway);
    return gateway;
  };

  beforeAll(async () => {
    nats = await NatsServer.start();
    nc = await connect({ servers: nats.url });
    // The first replica of the fleet creates the stream; from then on JetStream keeps the engine's account events,
    // whether or not any gateway runs.
    const first = await GatewayProcess.start(natsEnv(nats));
    await first.stop();
    jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info(STREAM);
    expect(info.config).toMatchObject({ subjects: ['acct.*.order', 'acct.*.position', 'acct.*.portfolio'], max_msgs_per_subject: 10_000, max_age: 604_800_000 * 1_000_000 });
  });

  afterAll(async () => {
    for (const client of clients) client.socket.close();
    for (const gateway of gateways) await gateway.stop();
    await nc.close();
    await nats.stop();
  });

  it('answers a gateway started after the events with the full snapshot and an exact `since` replay, one hydration for concurrent subscribers', async () => {
    const account = 'ACC-LOG-1';
    await publishOrders(nc, jsm, account, HISTORY());
    const gateway = await startGateway();

    const fresh = await expectHistoryServed(gateway, account, clients);

    // Live events go on from there, once each.
    const live = collect<OrderFrame>(fresh.socket, 'order');
    await publishOrders(nc, jsm, account, [orderEvent('O-3', 30, 6)]);
    await waitFor('live event', () => (live.length >= 1 ? true : undefined));
    await sleep(100);
    expect(live.map((event) => [event.seq, event.orderId, event.filledQuantity])).toEqual([[6, 'O-3', '30']]);
  });

  it('serves the same seqs and the same replay from a second replica on the same NATS', async () => {
    const account = 'ACC-LOG-2';
    const [one, two] = [await startGateway(), await startGateway()];
    await publishOrders(nc, jsm, account, [1, 2, 3, 4].map((seq) => orderEvent(`O-${seq % 2}`, seq * 10, seq)));

    const sessions: { ack: AccountSubscribeResponse | undefined; replay: OrderFrame[] }[] = [];
    for (const gateway of [one, two]) {
      const client = await ordersClient(gateway, [account]);
      clients.push(client);
      const replay = collect<OrderFrame>(client.socket, 'order');
      const ack = await request(client.socket, 'subscribe', { since: { [account]: 1 } });
      await waitFor('replay', () => (replay.length >= 3 ? true : undefined));
      sessions.push({ ack: ack.ok ? ack.data : undefined, replay });
    }
    expect(sessions[0]?.ack).toEqual({ accounts: [{ account, seq: 4, replayed: 3, resetRequired: false }] });
    expect(sessions[1]?.ack).toEqual(sessions[0]?.ack);
    expect(sessions[0]?.replay.map((event) => event.seq)).toEqual([2, 3, 4]);
    expect(sessions[1]?.replay).toEqual(sessions[0]?.replay);

    await publishOrders(nc, jsm, account, [orderEvent('O-1', 50, 5)]);
    await waitFor('live on both replicas', () => (sessions.every((session) => session.replay.length >= 4) ? true : undefined));
    expect(sessions[0]?.replay[3]).toEqual(sessions[1]?.replay[3]);
    expect(sessions[0]?.replay[3]).toMatchObject({ seq: 5, filledQuantity: '50' });
  });

  it('replays `since` to a client that reconnects to a gateway restarted mid-stream', async () => {
    const account = 'ACC-LOG-3';
    let gateway = await startGateway();
    const before = await ordersClient(gateway, [account]);
    clients.push(before);
    const seen = collect<OrderFrame>(before.socket, 'order');
    expect(await request(before.socket, 'subscribe', {})).toMatchObject({ ok: true, data: { accounts: [{ account, seq: 0 }] } });
    await publishOrders(nc, jsm, account, [1, 2, 3].map((seq) => orderEvent('O-1', seq, seq)));
    await waitFor('first events', () => (seen.length >= 3 ? true : undefined));
    const lastSeen = seen[seen.length - 1]?.seq ?? 0;
    expect(lastSeen).toBe(3);

    await gateway.stop();
    // The engine goes on while the gateway is away.
    await publishOrders(nc, jsm, account, [4, 5, 6].map((seq) => orderEvent('O-1', seq, seq)));
    gateway = await startGateway();

    const after = await ordersClient(gateway, [account]);
    clients.push(after);
    const replayed = collect<OrderFrame>(after.socket, 'order');
    const resumed = await request(after.socket, 'subscribe', { since: { [account]: lastSeen } });
    expect(resumed).toEqual({ ok: true, data: { accounts: [{ account, seq: 6, replayed: 3, resetRequired: false }] } });
    await publishOrders(nc, jsm, account, [orderEvent('O-1', 7, 7)]);
    await waitFor('replay then live', () => (replayed.length >= 4 ? true : undefined));
    await sleep(100);
    expect(replayed.map((event) => [event.seq, event.filledQuantity])).toEqual([
      [4, '4'],
      [5, '5'],
      [6, '6'],
      [7, '7'],
    ]);
  });

  it('delivers events published during hydration exactly once, in order, with and without engine seq', async () => {
    const unnumbered = 'ACC-LOG-4';
    const numbered = 'ACC-LOG-5';
    const retained = 300;
    await publishOrders(nc, jsm, unnumbered, Array.from({ length: retained }, (_, i) => orderEvent('O-1', i + 1)));
    await publishOrders(nc, jsm, numbered, Array.from({ length: retained }, (_, i) => orderEvent('O-1', i + 1, i + 1)));
    const gateway = await startGateway();
    const client = await ordersClient(gateway, [unnumbered, numbered]);
    clients.push(client);
    const snapshots = collect<OrdersSnapshot>(client.socket, 'orders:snapshot');
    const live = collect<OrderFrame>(client.socket, 'order');

    // The burst starts before the subscribe, goes on while the gateway reads the log, and on for a while after the ack.
    let published = retained;
    let acked = false;
    let afterAck = 0;
    const publishing = (async () => {
      while (!acked || afterAck < 100) {
        published++;
        nc.publish(`acct.${unnumbered}.order`, JSON.stringify(orderEvent('O-1', published)));
        nc.publish(`acct.${numbered}.order`, JSON.stringify(orderEvent('O-1', published, published)));
        if (acked) afterAck++;
        if (published % 5 === 0) {
          await nc.flush();
          await sleep(1);
        }
      }
      await nc.flush();
    })();
    await sleep(20);
    const ack = await request(client.socket, 'subscribe', {});
    acked = true;
    await publishing;
    expect(ack.ok).toBe(true);
    const acks = ack.ok ? ack.data.accounts : [];
    const total = published;
    await waitFor('every event', () => (live.filter((e) => e.account === unnumbered).length + (acks.find((a) => a.account === unnumbered)?.seq ?? 0) >= total && live.filter((e) => e.account === numbered).length + (acks.find((a) => a.account === numbered)?.seq ?? 0) >= total ? true : undefined), 20_000);
    await sleep(200);
    for (const account of [unnumbered, numbered]) {
      const subscribed = acks.find((a) => a.account === account);
      expect(subscribed).toMatchObject({ resetRequired: false, replayed: 0 });
      const start = subscribed?.seq ?? 0;
      expect(start).toBeGreaterThan(retained); // the subscribe came during the burst...
      expect(start).toBeLessThan(total); // ...and the burst went on after it
      const snapshot = snapshots.find((s) => s.account === account);
      // Event n carries filledQuantity n: the snapshot holds the last one before the live ones, which follow one by one.
      expect(snapshot?.seq).toBe(start);
      expect(snapshot?.items.map((item) => Number(item.filledQuantity))).toEqual([start]);
      const events = live.filter((e) => e.account === account);
      expect(events.map((e) => e.seq)).toEqual(Array.from({ length: total - start }, (_, i) => start + 1 + i));
      expect(events.map((e) => Number(e.filledQuantity))).toEqual(events.map((e) => e.seq));
    }

    // The whole history is there for `since`, numbered the same way.
    const again = await ordersClient(gateway, [unnumbered]);
    clients.push(again);
    const replayed = collect<OrderFrame>(again.socket, 'order');
    expect(await request(again.socket, 'subscribe', { since: { [unnumbered]: 0 } })).toEqual({ ok: true, data: { accounts: [{ account: unnumbered, seq: total, replayed: total, resetRequired: false }] } });
    await waitFor('full replay', () => (replayed.length >= total ? true : undefined));
    expect(replayed.map((e) => Number(e.filledQuantity))).toEqual(Array.from({ length: total }, (_, i) => i + 1));
  });

  it('lets an unsubscribe sent while the subscribe waits for the log win', async () => {
    const account = 'ACC-LOG-8';
    await publishOrders(nc, jsm, account, Array.from({ length: 300 }, (_, i) => orderEvent('O-1', i + 1, i + 1)));
    const gateway = await startGateway();
    const client = await ordersClient(gateway, [account]);
    clients.push(client);
    const live = collect<OrderFrame>(client.socket, 'order');
    // Sent back to back: the unsubscribe arrives while the gateway reads the account back from the log.
    const subscribed = request(client.socket, 'subscribe', {});
    const unsubscribed = request(client.socket, 'unsubscribe', { accounts: [account] });
    expect((await subscribed).ok).toBe(true);
    expect(await unsubscribed).toEqual({ ok: true, data: { accounts: [account] } });
    await publishOrders(nc, jsm, account, [orderEvent('O-1', 301, 301)]);
    await sleep(300);
    expect(live).toEqual([]);
    expect(await gateway.metric('tradewire_subscriptions', { namespace: '/orders' })).toBe(0);
  });
});

describe('durable account log at its limits', () => {
  it('answers with resetRequired and a snapshot beyond the per-subject limit, and replays within it', async () => {
    const nats = await NatsServer.start();
    const nc = await connect({ servers: nats.url });
    const env = natsEnv(nats, { ACCOUNT_LOG_MAX_PER_SUBJECT: '3' });
    let gateway = await GatewayProcess.start(env);
    try {
      await gateway.stop();
      const jsm = await jetstreamManager(nc);
      expect((await jsm.streams.info(STREAM)).config.max_msgs_per_subject).toBe(3);
      const account = 'ACC-LOG-6';
      for (let seq = 1; seq <= 6; seq++) nc.publish(`acct.${account}.order`, JSON.stringify(orderEvent(`O-${seq}`, seq, seq)));
      await nc.flush();
      await waitFor('stream holds the last 3', async () => ((await jsm.streams.info(STREAM)).state.last_seq === 6 ? true : undefined));
      gateway = await GatewayProcess.start(env);

      await expectLimitHonoured(gateway, account);
    } finally {
      await gateway.stop();
      await nc.close();
      await nats.stop();
    }
  });

  it('is not ready, and falls back to the replica’s own state without hanging, when JetStream is not available', async () => {
    const nats = await NatsServer.start(undefined, undefined, { jetstream: false });
    const nc = await connect({ servers: nats.url });
    const gateway = await GatewayProcess.start(natsEnv(nats, { ACCOUNT_LOG_HYDRATE_TIMEOUT_MS: '2000' }), { waitReady: false });
    try {
      // Readiness says why: the load balancer sends new clients to replicas that can hydrate accounts.
      const notReady = await waitFor('readiness naming the account log', async () => {
        const response = await fetch(`${gateway.url}/health/ready`);
        const body = (await response.json()) as { status: string; error?: Record<string, { status: string; kind?: string; message?: string }> };
        return body.error?.accountLog ? { status: response.status, body } : undefined;
      });
      expect(notReady.status).toBe(503);
      expect(notReady.body.error?.accountLog).toMatchObject({ status: 'down', kind: 'jetstream', message: expect.any(String) as string });
      expect((await fetch(`${gateway.url}/health/live`)).status).toBe(200);
      const account = 'ACC-LOG-7';
      const first = await ordersClient(gateway, [account]);
      const live = collect<OrderFrame>(first.socket, 'order');
      expect(await request(first.socket, 'subscribe', {})).toEqual({ ok: true, data: { accounts: [{ account, seq: 0, replayed: 0, resetRequired: false }] } });
      expect(await gateway.metric('tradewire_account_log_hydrations_total', { namespace: '/orders', outcome: 'failed' })).toBe(1);

      // Live events and the in-memory replay work as they always did.
      for (let seq = 1; seq <= 2; seq++) nc.publish(`acct.${account}.order`, JSON.stringify(orderEvent('O-1', seq, seq)));
      await nc.flush();
      await waitFor('live events', () => (live.length >= 2 ? true : undefined));
      const back = await ordersClient(gateway, [account]);
      const replayed = collect<OrderFrame>(back.socket, 'order');
      expect(await request(back.socket, 'subscribe', { since: { [account]: 1 } })).toEqual({ ok: true, data: { accounts: [{ account, seq: 2, replayed: 1, resetRequired: false }] } });
      await waitFor('replay', () => (replayed.length >= 1 ? true : undefined));
      expect(replayed.map((e) => e.seq)).toEqual([2]);
      await gateway.printed('account log');
      for (const client of [first, back]) client.socket.close();
    } finally {
      await gateway.stop();
      await nc.close();
      await nats.stop();
    }
  });
});
