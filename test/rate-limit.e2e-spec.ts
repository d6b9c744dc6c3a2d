import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { Manager } from 'socket.io-client';
import { NAMESPACES, type AckResponse, type MdSubscribeRequest, type OrderSubmitRequest, type WelcomePayload, type WireError } from '#libs/contracts';
import { connectClient, expectRefused, GatewayProcess, managerSocket, request, sleep } from './support/gateway.js';
import { freePort, ManagedProcess, RedisServer } from './support/processes.js';
import { FULL_LICENCE, hsToken } from './support/tokens.js';

const quote = (instrument: string): MdSubscribeRequest => ({ instruments: [instrument], channels: ['quote'] });

function refusal(response: AckResponse<unknown>): WireError {
  if (response.ok) throw new Error(`expected a refusal, got ${JSON.stringify(response)}`);
  return response.error;
}

/** Every rule with the real socket.io-client, small limits set through the environment so the tests run fast. */
describe('rate limits', () => {
  describe('per user and event (one replica, memory store)', () => {
    let gateway: GatewayProcess;

    beforeAll(async () => {
      gateway = await GatewayProcess.start({
        ENGINE_TRANSPORT: 'simulator',
        RATE_LIMIT_EVENTS: 'subscribe=3/3s',
        RATE_LIMIT_REQUEST_BURST: '8/8s',
        RATE_LIMIT_REQUESTS: '1000/1m',
        RATE_LIMIT_BLOCK_AFTER: '5/1m',
        RATE_LIMIT_BLOCK_MS: '3000',
        RATE_LIMIT_MAX_SUBSCRIPTIONS: '4',
      });
    });
    afterAll(async () => {
      await gateway.stop();
    });

    it('refuses a subscribe burst with RATE_LIMITED and retryAfterMs; the connection goes on and the bucket refills', async () => {
      const { socket } = await connectClient(gateway.url, NAMESPACES.marketData, { auth: { token: await hsToken({ sub: 'burst-user' }) } });
      for (const symbol of ['AAPL', 'MSFT', 'NVDA']) expect((await request(socket, 'subscribe', quote(`NASDAQ:${symbol}`))).ok).toBe(true);
      const error = refusal(await request(socket, 'subscribe', quote('NASDAQ:AMZN')));
      expect(error).toMatchObject({ code: 'RATE_LIMITED', status: 429, message: 'too many subscribe requests' });
      // 3 per 3 s: the next token is at most a second away.
      expect(error.retryAfterMs).toBeGreaterThan(0);
      expect(error.retryAfterMs).toBeLessThanOrEqual(1_000);
      // Nothing else changed: still connected, still subscribed to the first three only, other requests answered.
      expect(socket.connected).toBe(true);
      expect((await request(socket, 'ping', {})).ok).toBe(true);
      const unsubscribed = await request(socket, 'unsubscribe', { instruments: ['NASDAQ:AMZN', 'NASDAQ:NVDA'] });
      expect(unsubscribed.ok && unsubscribed.data.unsubscribed).toEqual(['quote:NASDAQ:NVDA']);
      await sleep(error.retryAfterMs ?? 1_000);
      const again = await request(socket, 'subscribe', quote('NASDAQ:AMZN'));
      expect(again.ok && again.data.subscribed.map((s) => s.stream)).toEqual(['quote:NASDAQ:AMZN']);
      expect(await gateway.metric('tradewire_rate_limited_total', { namespace: NAMESPACES.marketData, event: 'subscribe', rule: 'subscribe' })).toBeGreaterThanOrEqual(1);
      expect(await gateway.metric('tradewire_client_requests_total', { namespace: NAMESPACES.marketData, event: 'subscribe', outcome: 'RATE_LIMITED' })).toBeGreaterThanOrEqual(1);
      socket.close();
    });

    it('holds every request of a user to the overall short-window burst, ping included, on every namespace', async () => {
      const token = await hsToken({ sub: 'overall-user' });
      const { socket: md } = await connectClient(gateway.url, NAMESPACES.marketData, { auth: { token } });
      const { socket: orders } = await connectClient(gateway.url, NAMESPACES.orders, { auth: { token } });
      // 12 requests at once against 8 per 8 s: at most one token refills while they are answered.
      const answers = await Promise.all(
        Array.from({ length: 12 }, (_, i) => (i % 2 === 0 ? request(md, 'unsubscribe', { instruments: ['NASDAQ:AAPL'] }) : request(orders, 'unsubscribe', {}))),
      );
      const refused = answers.filter((a) => !a.ok).map(refusal);
      expect(answers.filter((a) => a.ok).length).toBeGreaterThanOrEqual(8);
      expect(refused.length).toBeGreaterThanOrEqual(1);
      for (const error of refused) {
        expect(error).toMatchObject({ code: 'RATE_LIMITED', status: 429, message: 'too many requests' });
        expect(error.retryAfterMs).toBeGreaterThan(0);
        expect(error.retryAfterMs).toBeLessThanOrEqual(1_000);
      }
      // ping is answered without waiting for the store, but counts: an exhausted user's ping is refused too.
      expect(refusal(await request(md, 'ping', {}))).toMatchObject({ code: 'RATE_LIMITED' });
      expect(md.connected && orders.connected).toBe(true);
      const counted = await Promise.all(
        [NAMESPACES.marketData, NAMESPACES.orders].map((namespace) => gateway.metric('tradewire_rate_limited_total', { namespace, event: 'unsubscribe', rule: 'request-burst' })),
      );
      expect(counted[0] + counted[1]).toBe(refused.length);
      // Another user is not affected.
      const { socket: other } = await connectClient(gateway.url, NAMESPACES.marketData, { auth: { token: await hsToken({ sub: 'bystander' }) } });
      expect((await request(other, 'ping', {})).ok).toBe(true);
      for (const socket of [md, orders, other]) socket.close();
    });

    it('blocks a repeat offender for a while, every request of it, then lets it back', async () => {
      const { socket } = await connectClient(gateway.url, NAMESPACES.marketData, { auth: { token: await hsToken({ sub: 'offender' }) } });
      const answers: AckResponse<unknown>[] = [];
      for (let i = 0; i < 8; i += 1) answers.push(await request(socket, 'subscribe', quote('NASDAQ:AAPL')));
      expect(answers.map((a) => a.ok)).toEqual([true, true, true, false, false, false, false, false]);
      // The fifth refusal blocks for RATE_LIMIT_BLOCK_MS (3 s), longer than any subscribe wait (1 s).
      const blocked = refusal(answers[7]);
      expect(blocked.message).toMatch(/blocked/);
      expect(blocked.retryAfterMs).toBeGreaterThan(2_000);
      expect(blocked.retryAfterMs).toBeLessThanOrEqual(3_000);
      // Blocked means every request, even those whose buckets are full.
      const unsubscribe = refusal(await request(socket, 'unsubscribe', { instruments: ['NASDAQ:AAPL'] }));
      expect(unsubscribe.code).toBe('RATE_LIMITED');
      expect(unsubscribe.retryAfterMs).toBeGreaterThan(1_000);
      expect(refusal(await request(socket, 'ping', {})).code).toBe('RATE_LIMITED');
      expect(socket.connected).toBe(true);
      expect(await gateway.metric('tradewire_rate_limited_total', { namespace: NAMESPACES.marketData, event: 'subscribe', rule: 'blocked' })).toBeGreaterThanOrEqual(1);
      await gateway.printed(/"userId":"offender".*user blocked: too many refused requests/);
      await sleep(unsubscribe.retryAfterMs ?? 3_000);
      expect((await request(socket, 'unsubscribe', { instruments: ['NASDAQ:AAPL'] })).ok).toBe(true);
      expect((await request(socket, 'subscribe', quote('NASDAQ:AAPL'))).ok).toBe(true);
      socket.close();
    });

    it('caps concurrent subscriptions per user across connections with SUBSCRIPTION_LIMIT, released on unsubscribe and disconnect', async () => {
      const token = await hsToken({ sub: 'collector' });
      const first = await connectClient(gateway.url, NAMESPACES.marketData, { auth: { token } });
      const second = await connectClient(gateway.url, NAMESPACES.marketData, { auth: { token } });
      const three = await request(first.socket, 'subscribe', { instruments: ['NASDAQ:AAPL'], channels: ['quote', 'trade', 'book'] });
      expect(three, JSON.stringify(three)).toMatchObject({ ok: true });
      expect(three.ok && three.data.subscribed).toHaveLength(3);
      const two = await request(second.socket, 'subscribe', { instruments: ['NASDAQ:MSFT', 'NASDAQ:NVDA'], channels: ['quote'] });
      expect(two.ok && two.data.subscribed.map((s) => s.stream)).toEqual(['quote:NASDAQ:MSFT']);
      expect(two.ok && two.data.rejected).toEqual([{ instrument: 'NASDAQ:NVDA', channel: 'quote', code: 'SUBSCRIPTION_LIMIT', message: 'at most 4 subscriptions per user at once, across all connections' }]);
      // Another user has a cap of its own.
      const other = await connectClient(gateway.url, NAMESPACES.marketData, { auth: { token: await hsToken({ sub: 'someone-else' }) } });
      const theirs = await request(other.socket, 'subscribe', { instruments: ['NASDAQ:NVDA'], channels: ['quote'] });
      expect(theirs.ok && theirs.data.subscribed).toHaveLength(1);
      other.socket.close();
      // An unsubscribe frees its slot.
      expect((await request(first.socket, 'unsubscribe', { instruments: ['NASDAQ:AAPL'], channels: ['book'] })).ok).toBe(true);
      const freed = await request(second.socket, 'subscribe', quote('NASDAQ:NVDA'));
      expect(freed.ok && freed.data.subscribed.map((s) => s.stream)).toEqual(['quote:NASDAQ:NVDA']);
      // A disconnect frees all of that connection's slots (the subscribe bucket is 3 per 3 s: wait for a token).
      first.socket.close();
      await sleep(1_100);
      const after = await request(second.socket, 'subscribe', { instruments: ['NASDAQ:AMZN'], channels: ['quote', 'trade'] });
      expect(after.ok && after.data.subscribed).toHaveLength(2);
      expect(after.ok && after.data.rejected).toEqual([]);
      second.socket.close();
    });
  });

  describe('cancels are never locked out (simulator engine)', () => {
    let gateway: GatewayProcess;

    beforeAll(async () => {
      gateway = await GatewayProcess.start({
        ENGINE_TRANSPORT: 'simulator',
        SIMULATOR: 'on',
        SIMULATOR_RATE: '5',
        RATE_LIMIT_REQUEST_BURST: '4/1m',
        RATE_LIMIT_REQUESTS: '1000/1m',
        RATE_LIMIT_BLOCK_AFTER: '3/1m',
        RATE_LIMIT_BLOCK_MS: '60000',
        RATE_LIMIT_CANCELS: '3/1m',
      });
    });
    afterAll(async () => {
      await gateway.stop();
    });

    it('lets a user blocked for flooding cancel its orders, from a bucket of their own', async () => {
      const { socket } = await connectClient(gateway.url, NAMESPACES.orders, { auth: { token: await hsToken({ sub: 'flooder', lic: FULL_LICENCE }) } });
      const order = (clientOrderId: string): OrderSubmitRequest => ({ clientOrderId, account: 'ACC-1001', instrument: 'NASDAQ:AAPL', side: 'buy', type: 'limit', quantity: '10', price: '1.00' });
      const resting = await request(socket, 'order:submit', order(`flood-${process.pid}-1`));
      if (!resting.ok) throw new Error(`submit failed: ${resting.error.message}`);
      // Flood: the burst bucket (4 per minute) runs dry, and the third refusal blocks the user for a minute.
      const answers: AckResponse<unknown>[] = [];
      for (let i = 0; i < 6; i += 1) answers.push(await request(socket, 'unsubscribe', {}));
      expect(refusal(answers[5])).toMatchObject({ code: 'RATE_LIMITED', message: 'too many refused requests: blocked for 60 s' });
      expect(refusal(await request(socket, 'order:submit', order(`flood-${process.pid}-2`))).message).toMatch(/blocked/);

      // Blocked, and still able to get out of its orders.
      expect(await request(socket, 'order:cancel', { account: 'ACC-1001', orderId: resting.data.orderId })).toEqual({ ok: true, data: { status: 'canceled' } });
      // Cancels have a bucket of their own (3 per minute here): past it they are refused, without extending the block.
      expect((await request(socket, 'order:cancel', { account: 'ACC-1001', orderId: 'SIM-0' })).ok).toBe(false);
      await request(socket, 'order:cancel', { account: 'ACC-1001', orderId: 'SIM-0' });
      const overCancels = refusal(await request(socket, 'order:cancel', { account: 'ACC-1001', orderId: 'SIM-0' }));
      expect(overCancels).toMatchObject({ code: 'RATE_LIMITED', message: 'too many cancel requests' });
      expect(overCancels.retryAfterMs).toBeLessThanOrEqual(20_000);
      expect(await gateway.metric('tradewire_rate_limited_total', { namespace: NAMESPACES.orders, event: 'order:cancel', rule: 'cancels' })).toBe(1);
      expect(socket.connected).toBe(true);
      socket.close();
    });

    it("lets a blocked user arm, refresh and disarm its dead-man's switch, from the cancels' bucket", async () => {
      const { socket } = await connectClient(gateway.url, NAMESPACES.orders, { auth: { token: await hsToken({ sub: 'flooder-deadman', lic: FULL_LICENCE }) } });
      for (let i = 0; i < 6; i += 1) await request(socket, 'unsubscribe', {});
      expect(refusal(await request(socket, 'unsubscribe', {})).message).toMatch(/blocked/);

      const armed = await request(socket, 'order:deadman', { timeoutMs: 5_000 });
      expect(armed).toMatchObject({ ok: true, data: { armed: true, resumed: false } });
      expect(await request(socket, 'order:deadman', { timeoutMs: 5_000 })).toMatchObject({ ok: true, data: { armed: true, resumed: true } });
      expect(await request(socket, 'order:deadman', { timeoutMs: 0 })).toEqual({ ok: true, data: { armed: false, switchId: armed.ok ? armed.data.switchId : '' } });
      // The fourth takes the cancels' bucket (3 a minute here) past its limit: refused as a cancel, not as blocked.
      expect(refusal(await request(socket, 'order:deadman', { timeoutMs: 5_000 }))).toMatchObject({ code: 'RATE_LIMITED', message: 'too many cancel requests' });
      socket.close();
    });
  });

  describe('new connections per client address', () => {
    let direct: GatewayProcess;
    let behindProxy: GatewayProcess;

    beforeAll(async () => {
      [direct, behindProxy] = await Promise.all([
        // The tests' peer address is loopback: not a trusted proxy here, so X-Forwarded-For is ignored.
        GatewayProcess.start({ ENGINE_TRANSPORT: 'simulator', RATE_LIMIT_HANDSHAKES: '3/1m', TRUSTED_PROXIES: '10.0.0.0/8' }),
        GatewayProcess.start({ ENGINE_TRANSPORT: 'simulator', RATE_LIMIT_HANDSHAKES: '3/1m', TRUSTED_PROXIES: '127.0.0.1, ::1' }),
      ]);
    });
    afterAll(async () => {
      await Promise.all([direct.stop(), behindProxy.stop()]);
    });

    const forwardedFor = (address: string) => ({ extraHeaders: { 'x-forwarded-for': address } });

    it('counts a dashboard multiplexing every namespace over one connection once, refuses past the limit with connect_error RATE_LIMITED', async () => {
      const token = await hsToken();
      const manager = new Manager(direct.url, { transports: ['websocket'], reconnection: false });
      const namespaces = [NAMESPACES.marketData, NAMESPACES.orders, NAMESPACES.positions, NAMESPACES.portfolio];
      const sockets = namespaces.map((namespace) => managerSocket(manager, namespace, { auth: { token } }));
      const welcomes = await Promise.all(sockets.map((socket) => new Promise<WelcomePayload>((resolve, reject) => {
        socket.once('welcome', resolve);
        socket.once('connect_error', reject);
      })));
      expect(welcomes.map((w) => w.namespace)).toEqual(namespaces);
      // Two more connections (each its own engine.io connection, X-Forwarded-For ignored): the limit of 3 is reached.
      const more = [await connectClient(direct.url, NAMESPACES.orders, { auth: { token }, ...forwardedFor('198.51.100.1') }), await connectClient(direct.url, NAMESPACES.orders, { auth: { token }, ...forwardedFor('198.51.100.2') })];
      const refused = await expectRefused(direct.url, NAMESPACES.marketData, { auth: { token }, ...forwardedFor('198.51.100.3') });
      expect(refused.message).toBe('RATE_LIMITED');
      expect(refused.data).toMatchObject({ code: 'RATE_LIMITED', status: 429 });
      expect(refused.data.retryAfterMs).toBeGreaterThan(0);
      expect(refused.data.retryAfterMs).toBeLessThanOrEqual(20_000);
      // Refused before the token is even read: a connection without one gets RATE_LIMITED too, not UNAUTHORIZED.
      expect((await expectRefused(direct.url, NAMESPACES.orders)).message).toBe('RATE_LIMITED');
      // The connections already open carry on.
      expect((await request(sockets[0], 'ping', {})).ok).toBe(true);
      expect(await direct.metric('tradewire_handshakes_total', { namespace: NAMESPACES.marketData, outcome: 'RATE_LIMITED' })).toBeGreaterThanOrEqual(1);
      expect(await direct.metric('tradewire_rate_limited_total', { namespace: NAMESPACES.marketData, event: 'handshake', rule: 'handshake' })).toBeGreaterThanOrEqual(1);
      for (const socket of sockets) socket.close();
      for (const { socket } of more) socket.close();
    });

    it('behind a trusted proxy, counts each client address of X-Forwarded-For on its own', async () => {
      const token = await hsToken();
      const opened = [];
      for (let i = 0; i < 3; i += 1) opened.push(await connectClient(behindProxy.url, NAMESPACES.orders, { auth: { token }, ...forwardedFor('203.0.113.7') }));
      expect((await expectRefused(behindProxy.url, NAMESPACES.orders, { auth: { token }, ...forwardedFor('203.0.113.7') })).data.code).toBe('RATE_LIMITED');
      // A client cannot pick its own address: the proxy appends the one it saw, and that is the one counted.
      expect((await expectRefused(behindProxy.url, NAMESPACES.orders, { auth: { token }, ...forwardedFor('192.0.2.99, 203.0.113.7') })).data.code).toBe('RATE_LIMITED');
      // Another client behind the same proxy, and the proxy's own address, have buckets of their own.
      opened.push(await connectClient(behindProxy.url, NAMESPACES.orders, { auth: { token }, ...forwardedFor('203.0.113.8') }));
      opened.push(await connectClient(behindProxy.url, NAMESPACES.orders, { auth: { token } }));
      expect(opened.every(({ socket }) => socket.connected)).toBe(true);
      for (const { socket } of opened) socket.close();
    });
  });

  it('refuses to start on a limit it cannot read, naming the variable', async () => {
    const env = {
      PATH: process.env.PATH ?? '',
      PORT: String(await freePort()),
      RATE_LIMIT_REQUESTS: '100 per minute',
      RATE_LIMIT_EVENTS: 'subscribe',
      RATE_LIMIT_HANDSHAKES: '600/1m:0',
      TRUSTED_PROXIES: '10.0.0.0/8, proxy.internal',
    };
    const child = new ManagedProcess(spawn(process.execPath, ['dist/src/main.js'], { env, stdio: 'pipe' }));
    expect((await child.exited).code).toBe(1);
    for (const name of ['RATE_LIMIT_REQUESTS', 'RATE_LIMIT_EVENTS', 'RATE_LIMIT_HANDSHAKES', 'TRUSTED_PROXIES']) expect(child.output).toMatch(new RegExp(`${name}: `));
    expect(child.output).not.toMatch(/RATE_LIMIT_REQUEST_BURST/);
  });

  describe('across replicas (two gateways, one Redis)', () => {
    let redis: RedisServer;
    let gateways: GatewayProcess[];

    beforeAll(async () => {
      redis = await RedisServer.start();
      const env = {
        REDIS_URL: redis.url,
        RATE_LIMIT_EVENTS: 'subscribe=4/1m',
        RATE_LIMIT_HANDSHAKES: '4/1m',
        RATE_LIMIT_BLOCK_AFTER: 'off',
        RATE_LIMIT_MAX_SUBSCRIPTIONS: '4',
        // Stream counts are leased like seats: a crashed replica's lapse within this.
        SEAT_LEASE_MS: '3000',
      };
      gateways = await Promise.all([GatewayProcess.start(env), GatewayProcess.start(env)]);
    });
    afterAll(async () => {
      await Promise.all(gateways.map((gateway) => gateway.stop()));
      await redis.stop();
    });

    it('takes requests through both replicas from one bucket, and new connections from one per-address bucket', async () => {
      const [one, two] = gateways as [GatewayProcess, GatewayProcess];
      const token = await hsToken({ sub: 'cluster-user', lic: FULL_LICENCE });
      const a = await connectClient(one.url, NAMESPACES.marketData, { auth: { token } });
      const b = await connectClient(two.url, NAMESPACES.marketData, { auth: { token } });
      expect(a.welcome.node).not.toBe(b.welcome.node);
      for (const [socket, symbol] of [[a.socket, 'AAPL'], [b.socket, 'MSFT'], [a.socket, 'NVDA'], [b.socket, 'AMZN']] as const) {
        const answer = await request(socket, 'subscribe', quote(`NASDAQ:${symbol}`));
        expect(answer.ok && answer.data.subscribed).toHaveLength(1);
      }
      for (const socket of [a.socket, b.socket]) {
        const error = refusal(await request(socket, 'subscribe', quote('NASDAQ:TSLA')));
        expect(error.code).toBe('RATE_LIMITED');
        // 4 per minute: a token every 15 s.
        expect(error.retryAfterMs).toBeGreaterThan(10_000);
        expect(error.retryAfterMs).toBeLessThanOrEqual(15_000);
      }
      // Two connections so far; two more through either replica reach the per-address limit of 4.
      const c = await connectClient(one.url, NAMESPACES.orders, { auth: { token } });
      const d = await connectClient(two.url, NAMESPACES.orders, { auth: { token } });
      for (const gateway of gateways) expect((await expectRefused(gateway.url, NAMESPACES.orders, { auth: { token } })).message).toBe('RATE_LIMITED');
      for (const { socket } of [a, b, c, d]) socket.close();
    });

    it('caps streams held at once across replicas, and frees those of a crashed replica within the lease', async () => {
      const [one, two] = gateways as [GatewayProcess, GatewayProcess];
      const token = await hsToken({ sub: 'spread-user', lic: FULL_LICENCE });
      // Another client address (engine.io-client passes localAddress to ws): the test before spent this one's.
      const options = { auth: { token }, localAddress: '127.0.0.2' };
      const onTwo = await connectClient(two.url, NAMESPACES.marketData, options);
      const onOne = await connectClient(one.url, NAMESPACES.marketData, options);
      const three = await request(onTwo.socket, 'subscribe', { instruments: ['NASDAQ:AAPL'], channels: ['quote', 'trade', 'book'] });
      expect(three, JSON.stringify(three)).toMatchObject({ ok: true });
      expect(three.ok && three.data.subscribed).toHaveLength(3);
      const two1 = await request(onOne.socket, 'subscribe', { instruments: ['NASDAQ:MSFT', 'NASDAQ:NVDA'], channels: ['quote'] });
      expect(two1.ok && two1.data.subscribed.map((s) => s.stream)).toEqual(['quote:NASDAQ:MSFT']);
      expect(two1.ok && two1.data.rejected.map((r) => r.code)).toEqual(['SUBSCRIPTION_LIMIT']);
      // The replica holding three dies without a word; its count lapses within SEAT_LEASE_MS (3 s here).
      await two.process.stop('SIGKILL');
      await sleep(3_500);
      const freed = await request(onOne.socket, 'subscribe', { instruments: ['NASDAQ:NVDA', 'NASDAQ:AMZN', 'NASDAQ:TSLA'], channels: ['quote'] });
      expect(freed.ok && freed.data.subscribed).toHaveLength(3);
      expect(freed.ok && freed.data.rejected).toEqual([]);
      onOne.socket.close();
      onTwo.socket.close();
    });

    it('fails open while Redis is down (counted, logged), and limits again once it is back', async () => {
      const [one] = gateways as [GatewayProcess];
      const token = await hsToken({ sub: 'outage-user', lic: FULL_LICENCE });
      // Connected first, with its seat counted in Redis.
      // From an address of its own (the tests before spent theirs); engine.io-client passes localAddress to ws.
      const options = { auth: { token }, localAddress: '127.0.0.3' };
      const { socket } = await connectClient(one.url, NAMESPACES.marketData, options);
      await redis.stop();
      // With the store down, requests are allowed however many there are.
      for (let i = 0; i < 6; i += 1) expect((await request(socket, 'subscribe', quote('NASDAQ:AAPL'))).ok).toBe(true);
      expect(await one.metric('tradewire_rate_limit_store_failures_total', { store: 'redis' })).toBeGreaterThanOrEqual(6);
      await one.printed(/rate-limit store \(Redis\) unavailable/);
      await redis.restart();
      // Allowed until the replica has reconnected; then a fresh Redis has fresh buckets, and 4 per minute holds again.
      const answers: boolean[] = [];
      while (!answers.includes(false) && answers.length < 200) {
        answers.push((await request(socket, 'subscribe', quote('NASDAQ:AAPL'))).ok);
        await sleep(50);
      }
      expect(answers.slice(-5)).toEqual([true, true, true, true, false]);
      await one.printed(/rate-limit store \(Redis\) is back/);
      expect(socket.connected).toBe(true);
      socket.close();
    });
  });
});
