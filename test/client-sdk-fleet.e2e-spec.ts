import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RequestError, TradewireClient, type AccountReplayInfo, type Book, type ConnectionState, type ConnectionStateInfo, type Order, type ResyncInfo } from '#libs/client';
import type { BookLevel } from '#libs/contracts';
import { TestEngine } from './support/engine.js';
import { FrameTamperProxy } from './support/frame-tamper-proxy.js';
import { GatewayProcess, sleep } from './support/gateway.js';
import { LoadBalancer } from './support/load-balancer.js';
import { NatsServer, RedisServer, waitFor } from './support/processes.js';
import { FULL_LICENCE, hsToken } from './support/tokens.js';

/**
 * The client SDK as a dashboard team uses it, against real gateway processes: two replicas on one NATS (JetStream
 * account log) and one Redis, behind a real HAProxy configured as in docker/haproxy.cfg. The test plays the engine
 * over NATS (market data, numbered account events, answers to order requests) and watches only what the SDK's public
 * API shows.
 */

const INSTRUMENT = 'NASDAQ:AAPL';

interface StateChange {
  state: ConnectionState;
  info: ConnectionStateInfo;
  at: number;
}

interface Fleet {
  replicas: GatewayProcess[];
  balancer: LoadBalancer;
  /** The replica that holds the client's connection, found from the replicas' own connection counts. */
  serving(namespace?: string): Promise<GatewayProcess>;
  /** A running replica other than this one. */
  other(replica: GatewayProcess): GatewayProcess;
}

let nats: NatsServer;
let redis: RedisServer;
let engine: TestEngine;
const cleanups: (() => Promise<void> | void)[] = [];

const replicaEnv = (extra: Record<string, string> = {}) => ({
  NATS_URL: nats.url,
  REDIS_URL: redis.url,
  ENGINE_TRANSPORT: 'nats',
  // Readiness drops this long before clients are told to leave: HAProxy (checking every 100 ms) has moved on by then.
  DRAIN_DELAY_MS: '400',
  ...extra,
});

async function startFleet(extra: Record<string, string> = {}, size = 2): Promise<Fleet> {
  // One after the other: booting side by side on a busy 2-core machine can take longer than a start may.
  const replicas: GatewayProcess[] = [];
  for (let i = 0; i < size; i++) replicas.push(await GatewayProcess.start(replicaEnv(extra)));
  const balancer = await LoadBalancer.start(replicas.map((replica) => replica.port));
  cleanups.push(async () => {
    await balancer.stop();
    await Promise.all(replicas.map((replica) => replica.stop()));
  });
  return {
    replicas,
    balancer,
    serving: (namespace = '/market-data') =>
      waitFor(`the replica serving ${namespace}`, async () => {
        for (const replica of replicas) {
          if (replica.process.running && (await replica.metric('tradewire_connections', { namespace })) > 0) return replica;
        }
        return undefined;
      }),
    other: (replica) => replicas.find((candidate) => candidate !== replica && candidate.process.running) ?? replica,
  };
}

/** A client whose state changes are recorded with their time, closed after the test. */
function newClient(url: string | string[], getToken: () => Promise<string>): { client: TradewireClient; states: StateChange[] } {
  const client = new TradewireClient({ url, getToken });
  const states: StateChange[] = [];
  client.on('state', (state, info) => states.push({ state, info, at: Date.now() }));
  cleanups.push(() => client.close());
  return { client, states };
}

const traderToken = (accounts: string[], expiresIn = 3600) => hsToken({ sub: `trader-${accounts.join('-')}`, accounts, lic: FULL_LICENCE }, { expiresIn });

/** Quotes on a timer, as an engine publishes them, until the test ends. */
function quotesFlowing(instrument = INSTRUMENT, everyMs = 25): void {
  let tick = 0;
  const timer = setInterval(() => {
    tick++;
    engine.publishQuote(instrument, (189 + (tick % 100) / 100).toFixed(2), '190.00');
  }, everyMs);
  cleanups.push(() => clearInterval(timer));
}

beforeAll(async () => {
  [nats, redis] = await Promise.all([NatsServer.start(), RedisServer.start()]);
  engine = await TestEngine.start(nats.url, { publishOrderEvents: true });
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

afterAll(async () => {
  await engine?.close();
  await Promise.all([nats?.stop(), redis?.stop()]);
});

// Each test starts its own fleet and fails over once or twice: more than the default 30 s on a busy machine.
describe('client SDK: failover between replicas', { timeout: 60_000 }, () => {
  it('survives a replica SIGKILLed mid-stream: reconnects to the other, restores market data and replays the account (2,000 events, each once, in order)', async () => {
    const fleet = await startFleet();
    const account = 'ACC-SDK-KILL';
    const { client, states } = newClient(fleet.balancer.url, () => traderToken([account]));
    quotesFlowing();
    const md = client.marketData.subscribe({ instruments: [INSTRUMENT], channels: ['quote'] });
    const quotesAt: number[] = [];
    md.on('quote', () => quotesAt.push(Date.now()));
    const restored: boolean[] = [];
    md.on('subscribed', (_items, info) => restored.push(info.restored));
    const orders = client.orders.subscribe();
    const seqs: number[] = [];
    const replays: AccountReplayInfo[] = [];
    orders.on('order', (order) => seqs.push(order.seq));
    orders.on('replay', (info) => replays.push(info));
    await waitFor('quotes', () => (quotesAt.length > 0 ? true : undefined));
    const first = await fleet.serving('/orders');
    await waitFor('the account subscribed', async () => ((await first.metric('tradewire_subscriptions', { namespace: '/orders' })) > 0 ? true : undefined));

    const total = 2_000;
    let published = 0;
    let killedAt = 0;
    while (published < total) {
      for (let i = 0; i < 20; i++) {
        published++;
        engine.publishOrder(account, { orderId: `O-${published % 50}`, clientOrderId: `c-${published % 50}`, symbol: INSTRUMENT, side: 'buy', type: 'limit', status: 'partially_filled', execType: 'trade', quantity: '1000000', filledQuantity: String(published), leavesQuantity: String(1_000_000 - published), price: '189.50' });
      }
      await engine.flush();
      if (published === 600) {
        first.process.child.kill('SIGKILL');
        killedAt = Date.now();
      }
      await sleep(10);
    }
    await waitFor(`${total} order events`, () => (seqs.length >= total ? true : undefined), 30_000);
    await sleep(300); // nothing more may come

    expect(seqs).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    const second = await fleet.serving('/orders');
    expect(second).toBe(fleet.other(first));
    expect(states.some((s) => s.state === 'reconnecting')).toBe(true);
    expect(states.some((s) => s.state === 'disconnected')).toBe(false);
    expect(states.at(-1)?.state).toBe('connected');
    expect(client.diagnostics().namespaces.map((n) => n.node).sort()).toEqual([`test-${second.port}`, `test-${second.port}`]);
    // Market data came back on the other replica by itself.
    const resumed = states.at(-1)?.at ?? Number.POSITIVE_INFINITY;
    await waitFor('quotes after the reconnect', () => (quotesAt.some((at) => at > resumed) ? true : undefined));
    expect(restored).toEqual([false, true]);
    // The account resumed from the last seq the application saw, on the other replica, from the JetStream log.
    expect(replays).toHaveLength(1);
    expect(replays[0]).toMatchObject({ account });
    expect(replays[0]?.since).toBeGreaterThan(0);
    expect(client.diagnostics().reconnects).toBeGreaterThanOrEqual(1);
    expect(killedAt).toBeGreaterThan(0);
  });

  it('moves through a list of replica URLs, without a load balancer, when its replica is SIGKILLed, and replays the account', async () => {
    const replicas: GatewayProcess[] = [];
    for (let i = 0; i < 2; i++) replicas.push(await GatewayProcess.start(replicaEnv()));
    cleanups.push(async () => void (await Promise.all(replicas.map((replica) => replica.stop()))));
    const [first, second] = replicas as [GatewayProcess, GatewayProcess];
    const account = 'ACC-SDK-URLS';
    const { client, states } = newClient([first.url, second.url], () => traderToken([account]));
    quotesFlowing();
    const quotesAt: number[] = [];
    client.marketData.subscribe({ instruments: [INSTRUMENT], channels: ['quote'] }).on('quote', () => quotesAt.push(Date.now()));
    const seqs: number[] = [];
    client.orders.subscribe().on('order', (order) => seqs.push(order.seq));
    await waitFor('quotes', () => (quotesAt.length > 0 ? true : undefined));
    await waitFor('the account subscribed on the first URL', async () => ((await first.metric('tradewire_subscriptions', { namespace: '/orders' })) > 0 ? true : undefined));

    const total = 300;
    for (let n = 1; n <= total; n++) {
      engine.publishOrder(account, { orderId: 'O-1', clientOrderId: 'c-1', symbol: INSTRUMENT, side: 'buy', type: 'limit', status: 'partially_filled', execType: 'trade', quantity: '1000', filledQuantity: String(n), leavesQuantity: String(1000 - n), price: '189.50' });
      if (n % 20 === 0) {
        await engine.flush();
        if (n === 100) first.process.child.kill('SIGKILL');
        await sleep(10);
      }
    }
    await waitFor(`${total} order events`, () => (seqs.length >= total ? true : undefined), 30_000);
    await sleep(300);
    expect(seqs).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    // Both namespaces ride the one connection to the second replica; each says so when its welcome has come.
    await waitFor('both namespaces welcomed by the second replica', () =>
      client.diagnostics().namespaces.every((n) => n.node === `test-${second.port}`) && client.diagnostics().namespaces.length === 2 ? true : undefined,
    );
    const resumed = states.at(-1)?.at ?? Number.POSITIVE_INFINITY;
    expect(states.at(-1)?.state).toBe('connected');
    await waitFor('quotes after the move', () => (quotesAt.some((at) => at > resumed) ? true : undefined));
  });

  it('follows a SIGTERM: reconnected within the shutdown notice’s reconnectInMs plus jitter, data flowing again', async () => {
    const fleet = await startFleet();
    const { client, states } = newClient(fleet.balancer.url, () => traderToken(['ACC-SDK-TERM']));
    quotesFlowing();
    const quotesAt: number[] = [];
    client.marketData.subscribe({ instruments: [INSTRUMENT], channels: ['quote'] }).on('quote', () => quotesAt.push(Date.now()));
    await waitFor('quotes', () => (quotesAt.length > 0 ? true : undefined));
    const first = await fleet.serving();

    first.process.child.kill('SIGTERM');
    await first.process.exited;
    await waitFor('connected again', () => (states.filter((s) => s.state === 'connected').length >= 2 ? true : undefined), 10_000);
    const left = states.find((s) => s.state === 'reconnecting');
    const back = states.filter((s) => s.state === 'connected')[1];
    // The gateway's notice says 2,000 ms; the SDK picks a moment inside that window (full jitter), then connects: one
    // handshake, whose time is the busy machine's (hence the loose bound on the whole).
    expect(left?.info).toMatchObject({ reason: 'shutdown' });
    expect(left?.info.retryInMs).toBeGreaterThanOrEqual(0);
    expect(left?.info.retryInMs).toBeLessThanOrEqual(2_000);
    expect((back?.at ?? 0) - (left?.at ?? 0)).toBeLessThan((left?.info.retryInMs ?? 0) + 5_000);
    expect(await fleet.serving()).toBe(fleet.other(first));
    await waitFor('quotes after the reconnect', () => (quotesAt.some((at) => at > (back?.at ?? 0)) ? true : undefined));
  });

  it('sends an order submitted across a reconnect to the engine once', async () => {
    // Three replicas: the client fails over twice.
    const fleet = await startFleet({ ORDER_TIMEOUT_MS: '1500' }, 3);
    const account = 'ACC-SDK-ORDER';
    const { client } = newClient(fleet.balancer.url, () => traderToken([account]));
    const orders = client.orders.subscribe();
    const events: Order[] = [];
    orders.on('order', (order) => events.push(order));
    const first = await fleet.serving('/orders');
    const eventsOf = (clientOrderId: string) => events.filter((e) => e.clientOrderId === clientOrderId);

    // Submitted while the replica is gone and the SDK is reconnecting: sent once, on the new connection.
    first.process.child.kill('SIGKILL');
    await waitFor('the SDK noticed', () => (client.state === 'reconnecting' ? true : undefined));
    const whileAway = await client.orders.submit({ account, instrument: INSTRUMENT, side: 'buy', type: 'limit', quantity: '10', price: '189.50' });
    expect(whileAway).toMatchObject({ orderId: expect.stringMatching(/^O-/) as string, status: 'new' });
    expect(engine.submitsOf(whileAway.clientOrderId)).toHaveLength(1);
    // In the blotter, as a live event or, when the engine's event was applied before the resubscribe was answered,
    // in the account's snapshot.
    await waitFor('its order in the blotter', () => client.orders.store.byClientOrderId(whileAway.clientOrderId, account));

    // In flight when its replica dies: the engine has it, and its answer goes to the dead replica. The SDK sends it
    // again with the same clientOrderId on the next replica, which finds the first claim in Redis and does not pass
    // it on: it waits for the first answer, which never comes, and answers ENGINE_TIMEOUT. The order itself shows in
    // the blotter, once.
    const second = await fleet.serving('/orders');
    expect(second).not.toBe(first);
    // The answer is held well past the kill below: on a loaded machine a shorter hold can reach the replica before it
    // dies, and the submit then succeeds there instead of failing over (the order event is published at once anyway).
    engine.submitReplyDelayMs = 5_000;
    cleanups.push(() => void (engine.submitReplyDelayMs = 150));
    const clientOrderId = `across-${Date.now()}`;
    const answer = client.orders.submit({ account, instrument: INSTRUMENT, side: 'buy', type: 'limit', quantity: '20', price: '189.40', clientOrderId });
    const refused = expect(answer).rejects.toMatchObject({ code: 'ENGINE_TIMEOUT' });
    await waitFor('the engine has it', () => (engine.submitsOf(clientOrderId).length > 0 ? true : undefined));
    second.process.child.kill('SIGKILL');
    await refused;
    await expect(answer).rejects.toBeInstanceOf(RequestError);
    expect(await fleet.serving('/orders')).toBe(fleet.other(second));
    await waitFor('its order in the blotter', () => client.orders.store.byClientOrderId(clientOrderId, account));
    await sleep(300);
    expect(engine.submitsOf(clientOrderId)).toHaveLength(1);
    // Once: a live event at most once each (an order applied before a resubscribe comes in its snapshot instead).
    expect(eventsOf(clientOrderId).length).toBeLessThanOrEqual(1);
    expect(eventsOf(whileAway.clientOrderId).length).toBeLessThanOrEqual(1);
    expect(client.orders.store.list().filter((order) => order.clientOrderId === clientOrderId)).toHaveLength(1);
    expect(client.orders.store.byClientOrderId(clientOrderId, account)).toMatchObject({ clientOrderId, status: 'new' });
  });
});

/** A rewrite of the first frame that matches; every other frame goes through as it is. */
function once(matches: (text: string) => boolean, damage: (text: string) => string | null): (text: string) => string | null {
  let done = false;
  return (text) => {
    if (done || !matches(text)) return text;
    done = true;
    return damage(text);
  };
}

describe('client SDK: book verification', () => {
  const level = (price: string, size: string): BookLevel => [price, size];
  const fullBook = () => ({
    bids: Array.from({ length: 12 }, (_, i) => level((189.4 - i * 0.01).toFixed(2), String(100 + i))),
    asks: Array.from({ length: 12 }, (_, i) => level((189.6 + i * 0.01).toFixed(2), String(200 + i))),
  });

  it('resyncs by itself after a delta that skips a seq or carries a wrong level, and shows a verified book after', async () => {
    const gateway = await GatewayProcess.start(replicaEnv({ WS_COMPRESSION: 'off' }));
    const proxy = await FrameTamperProxy.start(gateway.port);
    cleanups.push(async () => {
      await proxy.stop();
      await gateway.stop();
    });
    const { client } = newClient(proxy.url, () => traderToken(['ACC-SDK-BOOK']));
    const md = client.marketData.subscribe({ instruments: [INSTRUMENT], channels: ['book'], depth: 10 });
    const books: Pick<Book, 'bids' | 'asks' | 'verified'>[] = [];
    const resyncs: ResyncInfo[] = [];
    md.on('book', (book) => books.push({ bids: [...book.bids], asks: [...book.asks], verified: book.verified }));
    md.on('resync', (info) => resyncs.push(info));
    await waitFor('subscribed', async () => ((await gateway.metric('tradewire_subscriptions', { namespace: '/market-data' })) > 0 ? true : undefined));
    const { bids, asks } = fullBook();
    engine.publishBook(INSTRUMENT, 'snapshot', bids, asks);
    await engine.flush();
    await waitFor('a verified book', () => (books.at(-1)?.verified ? true : undefined));

    // A wrong level: the update says 777 at 189.41, the client is shown 778. The checksum gives it away. Once only:
    // the snapshot that the resync brings carries 777 too, and goes through as it is.
    proxy.rewrite = once((text) => text.includes('"777"'), (text) => text.replace('"777"', '"778"'));
    engine.publishBook(INSTRUMENT, 'delta', [level('189.41', '777')], []);
    await engine.flush();
    await waitFor('a resync', () => (resyncs.length >= 1 ? true : undefined));
    await waitFor('a verified book with the true level', () => (books.at(-1)?.verified && books.at(-1)?.bids.some(([p, s]) => p === '189.41' && s === '777') ? true : undefined));

    // A lost update: the next one's prevSeq is not the last seq the client applied.
    proxy.rewrite = once((text) => text.includes('"555"'), () => null);
    engine.publishBook(INSTRUMENT, 'delta', [level('189.42', '555')], []);
    await engine.flush();
    await sleep(100);
    engine.publishBook(INSTRUMENT, 'delta', [], [level('189.59', '50')]);
    await engine.flush();
    await waitFor('a second resync', () => (resyncs.length >= 2 ? true : undefined));
    await waitFor('a verified book with both levels', () => {
      const book = books.at(-1);
      return book?.verified && book.bids.some(([p, s]) => p === '189.42' && s === '555') && book.asks[0]?.[0] === '189.59' ? true : undefined;
    });
    expect(resyncs.map((r) => r.reason)).toEqual(['checksum', 'gap']);
    expect(resyncs[0]).toMatchObject({ stream: `book:${INSTRUMENT}`, checksum: expect.any(Number) as number, computed: expect.any(Number) as number });
    expect(client.diagnostics()).toMatchObject({ resyncs: 2, gaps: 1, checksumMismatches: 1 });
  });

  // A book whose every snapshot fails its checksum (here: damaged on the way each time; in the field, say, a
  // server-side checksum bug) must not make the SDK send resync after resync: each is a request of the user's, and
  // past RATE_LIMIT_BLOCK_AFTER refusals the user is blocked from every request on every tab.
  it('backs off when the snapshots themselves do not verify, inside the user’s request limits', async () => {
    const gateway = await GatewayProcess.start(replicaEnv({ WS_COMPRESSION: 'off' }));
    const proxy = await FrameTamperProxy.start(gateway.port);
    cleanups.push(async () => {
      await proxy.stop();
      await gateway.stop();
    });
    const { client } = newClient(proxy.url, () => traderToken(['ACC-SDK-BOOK-LOOP']));
    const md = client.marketData.subscribe({ instruments: [INSTRUMENT], channels: ['book'], depth: 10 });
    await waitFor('subscribed', async () => ((await gateway.metric('tradewire_subscriptions', { namespace: '/market-data' })) > 0 ? true : undefined));
    proxy.rewrite = (text) => text.replace('"777"', '"778"');
    const { bids, asks } = fullBook();
    bids[1] = level('189.39', '777');
    engine.publishBook(INSTRUMENT, 'snapshot', bids, asks);
    await engine.flush();
    await waitFor('a resync', () => (client.diagnostics().resyncs > 0 ? true : undefined));
    await sleep(3_000);
    md.unsubscribe();
    expect(await gateway.metric('tradewire_rate_limited_total', { event: 'resync' })).toBe(0);
    expect(client.diagnostics().resyncs).toBeLessThanOrEqual(5);
  });
});

describe('client SDK: tokens and limits', () => {
  it('refreshes an expiring token on every open namespace without reconnecting', async () => {
    const gateway = await GatewayProcess.start(replicaEnv({ TOKEN_EXPIRY_WARNING_MS: '3000' }));
    cleanups.push(async () => void (await gateway.stop()));
    const account = 'ACC-SDK-AUTH';
    const issued: number[] = [];
    // The first token lives 5 s: auth:expiring comes after about 2 s. Later ones live an hour.
    const { client, states } = newClient(gateway.url, async () => {
      issued.push(Date.now());
      return traderToken([account], issued.length === 1 ? 5 : 3600);
    });
    const refreshed: number[] = [];
    client.on('tokenRefreshed', ({ expiresAt }) => refreshed.push(expiresAt));
    quotesFlowing();
    const quotesAt: number[] = [];
    client.marketData.subscribe({ instruments: [INSTRUMENT], channels: ['quote'] }).on('quote', () => quotesAt.push(Date.now()));
    client.orders.subscribe();
    await waitFor('quotes', () => (quotesAt.length > 0 ? true : undefined));
    await waitFor('a second token', () => (issued.length >= 2 ? true : undefined), 6_000);
    await sleep(4_000); // past the first token's expiry
    expect(states.map((s) => s.state)).toEqual(['connecting', 'connected']);
    // One fresh token, sent once on each namespace (the warning comes on both).
    expect(issued).toHaveLength(2);
    expect(refreshed).toHaveLength(2);
    for (const expiresAt of refreshed) expect(expiresAt).toBeGreaterThan(Date.now() + 3_000_000); // the hour-long token
    expect(quotesAt.some((at) => at > Date.now() - 500)).toBe(true);
    for (const namespace of ['/market-data', '/orders']) {
      expect(await gateway.metric('tradewire_handshakes_total', { namespace, outcome: 'ok' })).toBe(1);
      expect(await gateway.metric('tradewire_connections', { namespace })).toBe(1);
    }
  });

  it('waits out RATE_LIMITED and then succeeds', async () => {
    const gateway = await GatewayProcess.start(replicaEnv({ RATE_LIMIT_EVENTS: 'subscribe=1/2s' }));
    cleanups.push(async () => void (await gateway.stop()));
    const { client } = newClient(gateway.url, () => traderToken(['ACC-SDK-LIMIT']));
    const seen = new Set<string>();
    const other = 'NYSE:IBM';
    quotesFlowing(INSTRUMENT);
    quotesFlowing(other);
    client.marketData.subscribe({ instruments: [INSTRUMENT], channels: ['quote'] }).on('quote', () => seen.add(INSTRUMENT));
    await waitFor('the first instrument', () => (seen.has(INSTRUMENT) ? true : undefined));
    client.marketData.subscribe({ instruments: [other], channels: ['quote'] }).on('quote', () => seen.add(other));
    await waitFor('the second instrument, after the wait', () => (seen.has(other) ? true : undefined), 8_000);
    expect(await gateway.metric('tradewire_rate_limited_total', { event: 'subscribe' })).toBeGreaterThanOrEqual(1);
    expect(client.diagnostics().rateLimitedRetries).toBeGreaterThanOrEqual(1);
  });
});
