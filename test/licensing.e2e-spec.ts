import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NAMESPACES, type LicencePayload, type MdMessage, type MdSubscribeResponse, type SystemPayload, type WireError, type MdChannel, type MdSubscribeRequest } from '#libs/contracts';
import { collect, connectClient, expectRefused, GatewayProcess, nextEvent, request, sleep, type NamespaceSocket } from './support/gateway.js';
import { RedisServer, waitFor } from './support/processes.js';
import { FULL_LICENCE, hsToken } from './support/tokens.js';

const quote = (last: string) => ({ bid: '10.00', ask: '10.02', bidSize: '100', askSize: '100', last, lastSize: '1', volume: '1000', ts: Date.now() });
const NASDAQ_QUOTES = { ...FULL_LICENCE, tier: 'nasdaq-quotes', exchanges: { NASDAQ: 'realtime' }, channels: ['quote'] };
/** The requirement: a licence change reaches live connections within a second. */
const WITHIN_A_SECOND = 1_000;

type Lic = Record<string, unknown>;

async function md(gateway: GatewayProcess, sub: string, lic: Lic | undefined = FULL_LICENCE, tenant = 'acme-capital') {
  return connectClient(gateway.url, NAMESPACES.marketData, { auth: { token: await hsToken({ sub, tenant, ...(lic ? { lic } : {}) }) } });
}

async function subscribe(socket: NamespaceSocket<'/market-data'>, instruments: string[], channels: MdChannel[], extra: Partial<MdSubscribeRequest> = {}): Promise<MdSubscribeResponse> {
  const answer = await request(socket, 'subscribe', { instruments, channels, ...extra });
  if (!answer.ok) throw new Error(`subscribe refused: ${answer.error.code}`);
  return answer.data;
}

/** Streams seen in `md` frames since `collect` started. */
function streamsIn(frames: MdMessage[][]): Set<string> {
  return new Set(frames.flat().map((m) => m.stream));
}

describe('licences', () => {
  let redis: RedisServer;
  let publisher: Redis;
  let dir: string;
  let registryPath: string;
  let fileGateway: GatewayProcess;
  const registry: { users: Record<string, unknown>; tenants: Record<string, unknown> } = { users: {}, tenants: {} };

  /** Written as operators should: to a temporary file renamed over the registry, so no reader sees half a file. */
  const writeRegistry = (text = JSON.stringify(registry)) => {
    const next = join(dir, `next-${Date.now()}.json`);
    writeFileSync(next, text);
    renameSync(next, registryPath);
  };
  const publish = (subject: string, payload: unknown) => publisher.publish(subject, JSON.stringify(payload));

  beforeAll(async () => {
    redis = await RedisServer.start();
    publisher = new Redis(redis.url);
    dir = mkdtempSync(join(tmpdir(), 'tradewire-licences-'));
    registryPath = join(dir, 'licences.json');
    registry.users['reg-user'] = NASDAQ_QUOTES;
    registry.tenants['globex'] = { ...FULL_LICENCE, tier: 'globex-tenant' };
    writeRegistry();
    fileGateway = await GatewayProcess.start({ ENGINE_TRANSPORT: 'redis', REDIS_URL: redis.url, LICENCE_REGISTRY: `file:${registryPath}` });
  });
  afterAll(async () => {
    await fileGateway?.stop();
    publisher?.disconnect();
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  describe('from a file registry', () => {
    it('a registry entry wins over the token licence: user entry first, then tenant entry', async () => {
      const registered = await md(fileGateway, 'reg-user');
      expect(registered.welcome.entitlements).toMatchObject({ tier: 'nasdaq-quotes', channels: ['quote'], exchanges: { NASDAQ: 'realtime' } });
      const answer = await subscribe(registered.socket, ['NASDAQ:AAPL', 'LSE:VOD'], ['quote', 'trade']);
      expect(answer.subscribed.map((s) => s.stream)).toEqual(['quote:NASDAQ:AAPL']);
      expect(answer.rejected).toEqual([
        expect.objectContaining({ instrument: 'NASDAQ:AAPL', channel: 'trade', code: 'NOT_ENTITLED' }),
        expect.objectContaining({ instrument: 'LSE:VOD', channel: 'quote', code: 'NOT_ENTITLED' }),
        expect.objectContaining({ instrument: 'LSE:VOD', channel: 'trade', code: 'NOT_ENTITLED' }),
      ]);
      const byTenant = await md(fileGateway, 'someone-at-globex', NASDAQ_QUOTES, 'globex');
      expect(byTenant.welcome.entitlements.tier).toBe('globex-tenant');
      const userOverTenant = await md(fileGateway, 'reg-user', undefined, 'globex');
      expect(userOverTenant.welcome.entitlements.tier).toBe('nasdaq-quotes');
      const tokenOnly = await md(fileGateway, 'token-user');
      expect(tokenOnly.welcome.entitlements.tier).toBe('enterprise');
      for (const c of [registered, byTenant, userOverTenant, tokenOnly]) c.socket.close();
      expect(await fileGateway.metric('tradewire_licence_refusals_total', { namespace: NAMESPACES.marketData, code: 'NOT_ENTITLED', stage: 'subscribe' })).toBeGreaterThanOrEqual(3);
    });

    it('a registry change reaches a live connection within a second: the stream no longer entitled stops, the rest go on', async () => {
      const { socket } = await md(fileGateway, 'live-user');
      await subscribe(socket, ['NASDAQ:AAPL', 'LSE:VOD'], ['quote']);
      const frames = collect<MdMessage[]>(socket, 'md');
      await publish('md.quote.NASDAQ.AAPL', quote('10.01'));
      await publish('md.quote.LSE.VOD', quote('10.01'));
      await waitFor('both streams', () => (streamsIn(frames).size === 2 ? true : undefined), 5_000);

      const errors = collect<WireError>(socket, 'error');
      const licenceEvent = nextEvent<LicencePayload>(socket, 'licence', WITHIN_A_SECOND);
      registry.users['live-user'] = { ...FULL_LICENCE, tier: 'nasdaq-only', exchanges: { NASDAQ: 'realtime' }, minThrottleMs: 50 };
      writeRegistry();
      const changed = await licenceEvent;
      expect(changed).toMatchObject({ entitlements: { tier: 'nasdaq-only', exchanges: { NASDAQ: 'realtime' } }, limits: { minThrottleMs: 50 } });
      await waitFor('the LSE stream stopped', () => (errors.length > 0 ? true : undefined), WITHIN_A_SECOND);
      expect(errors).toEqual([expect.objectContaining({ code: 'NOT_ENTITLED', status: 403, details: { stream: 'quote:LSE:VOD' } })]);

      frames.length = 0;
      await publish('md.quote.LSE.VOD', quote('10.03'));
      await publish('md.quote.NASDAQ.AAPL', quote('10.03'));
      await waitFor('AAPL still flowing', () => (streamsIn(frames).has('quote:NASDAQ:AAPL') ? true : undefined), 5_000);
      await sleep(200);
      expect([...streamsIn(frames)]).toEqual(['quote:NASDAQ:AAPL']);
      expect(socket.connected).toBe(true);
      expect(await fileGateway.metric('tradewire_licence_changes_total', { source: 'file', action: 'updated' })).toBeGreaterThanOrEqual(1);
      socket.close();
    });

    it('a registry downgrade to delayed switches the live stream to delayed within a second', async () => {
      const { socket } = await md(fileGateway, 'downgraded-user');
      await subscribe(socket, ['NASDAQ:MSFT'], ['quote']);
      const notice = nextEvent<SystemPayload>(socket, 'system', WITHIN_A_SECOND);
      registry.users['downgraded-user'] = { ...FULL_LICENCE, tier: 'delayed-nasdaq', exchanges: { NASDAQ: 'delayed' } };
      writeRegistry();
      expect(await notice).toMatchObject({ type: 'notice', stream: 'quote:NASDAQ:MSFT', delayed: true });
      expect(socket.connected).toBe(true);
      socket.close();
    });

    it('a revocation mid-stream disconnects every namespace of the user with NOT_ENTITLED, and never falls back to the token licence', async () => {
      const token = await hsToken({ sub: 'revoked-user', lic: FULL_LICENCE });
      const { socket } = await connectClient(fileGateway.url, NAMESPACES.marketData, { auth: { token } });
      const orders = await connectClient(fileGateway.url, NAMESPACES.orders, { auth: { token } });
      const bystander = await md(fileGateway, 'bystander');
      await subscribe(socket, ['NASDAQ:AAPL'], ['quote']);
      const frames = collect<MdMessage[]>(socket, 'md');
      await publish('md.quote.NASDAQ.AAPL', quote('10.05'));
      await waitFor('streaming', () => (frames.length > 0 ? true : undefined), 5_000);

      const error = nextEvent<WireError>(socket, 'error', WITHIN_A_SECOND);
      const disconnected = nextEvent<string>(socket, 'disconnect', WITHIN_A_SECOND);
      const ordersDisconnected = nextEvent<string>(orders.socket, 'disconnect', WITHIN_A_SECOND);
      registry.users['revoked-user'] = { revoked: true };
      writeRegistry();
      expect(await error).toMatchObject({ code: 'NOT_ENTITLED', status: 403, message: expect.stringContaining('revoked') as string });
      expect(await disconnected).toBe('io server disconnect');
      expect(await ordersDisconnected).toBe('io server disconnect');
      expect(bystander.socket.connected).toBe(true);

      const refused = await expectRefused(fileGateway.url, NAMESPACES.marketData, { auth: { token } });
      expect(refused.data).toMatchObject({ code: 'NOT_ENTITLED', message: 'licence has been revoked' });

      delete registry.users['revoked-user']; // removing the entry gives the token's own licence back
      writeRegistry();
      await waitFor('the token licence applies again', async () => {
        const again = await connectClient(fileGateway.url, NAMESPACES.marketData, { auth: { token } }).catch(() => undefined);
        again?.socket.close();
        return again?.welcome.entitlements.tier === 'enterprise' ? true : undefined;
      });
      bystander.socket.close();
    });

    it('refuses the handshake with a registry licence that has expired', async () => {
      registry.users['lapsed-user'] = { ...FULL_LICENCE, tier: 'lapsed', expiresAt: Date.now() - 60_000 };
      writeRegistry();
      await waitFor('the lapsed entry is loaded', async () => {
        const refusal = await expectRefused(fileGateway.url, NAMESPACES.orders, { auth: { token: await hsToken({ sub: 'lapsed-user', lic: FULL_LICENCE }) } }).catch(() => undefined);
        return refusal?.data.code === 'NOT_ENTITLED' ? refusal : undefined;
      });
      expect(await fileGateway.metric('tradewire_licence_refusals_total', { namespace: NAMESPACES.orders, code: 'NOT_ENTITLED', stage: 'handshake' })).toBeGreaterThanOrEqual(1);
    });

    it('ignores a broken registry file and keeps the last good version', async () => {
      writeRegistry('{ "users": { "reg-user": ');
      await sleep(800);
      const { socket, welcome } = await md(fileGateway, 'reg-user');
      expect(welcome.entitlements.tier).toBe('nasdaq-quotes');
      socket.close();
      writeRegistry();
    });
  });

  describe('limits and expiry', () => {
    it('maxSubscriptions: SUBSCRIPTION_LIMIT per item over the limit, a held stream is not counted twice', async () => {
      const { socket, welcome } = await md(fileGateway, 'limited-user', { ...FULL_LICENCE, maxSubscriptions: 2 });
      expect(welcome.limits.maxSubscriptions).toBe(2);
      const first = await subscribe(socket, ['NASDAQ:AAPL', 'NASDAQ:MSFT', 'NASDAQ:NVDA'], ['quote']);
      expect(first.subscribed.map((s) => s.stream)).toEqual(['quote:NASDAQ:AAPL', 'quote:NASDAQ:MSFT']);
      expect(first.rejected).toEqual([{ instrument: 'NASDAQ:NVDA', channel: 'quote', code: 'SUBSCRIPTION_LIMIT', message: expect.any(String) as string }]);
      const again = await subscribe(socket, ['NASDAQ:AAPL'], ['quote']);
      expect(again).toMatchObject({ subscribed: [{ stream: 'quote:NASDAQ:AAPL' }], rejected: [] });
      await request(socket, 'unsubscribe', { instruments: ['NASDAQ:MSFT'] });
      const third = await subscribe(socket, ['NASDAQ:NVDA', 'NASDAQ:AMZN'], ['quote']);
      expect(third.subscribed.map((s) => s.stream)).toEqual(['quote:NASDAQ:NVDA']);
      expect(third.rejected).toEqual([expect.objectContaining({ instrument: 'NASDAQ:AMZN', code: 'SUBSCRIPTION_LIMIT' })]);
      expect(socket.connected).toBe(true);
      expect(await fileGateway.metric('tradewire_licence_refusals_total', { namespace: NAMESPACES.marketData, code: 'SUBSCRIPTION_LIMIT', stage: 'subscribe' })).toBe(2);
      socket.close();
    });

    it('minThrottleMs: a lower throttleMs is raised to the licence minimum, a higher one is kept', async () => {
      const { socket, welcome } = await md(fileGateway, 'throttled-user', { ...FULL_LICENCE, minThrottleMs: 250 });
      expect(welcome.limits.minThrottleMs).toBe(250);
      const raised = await subscribe(socket, ['NASDAQ:AAPL'], ['quote'], { throttleMs: 0 });
      const unset = await subscribe(socket, ['NASDAQ:MSFT'], ['quote']);
      const kept = await subscribe(socket, ['NASDAQ:NVDA'], ['quote'], { throttleMs: 1_000 });
      expect([raised, unset, kept].map((a) => a.subscribed[0]?.throttleMs)).toEqual([250, 250, 1_000]);
      socket.close();
    });

    it('a licence that reaches expiresAt while connected disconnects with NOT_ENTITLED', async () => {
      const { socket } = await md(fileGateway, 'expiring-user', { ...FULL_LICENCE, expiresAt: Date.now() + 1_500 });
      await subscribe(socket, ['NASDAQ:AAPL'], ['quote']);
      const error = nextEvent<WireError>(socket, 'error', 4_000);
      const reason = nextEvent<string>(socket, 'disconnect', 4_000);
      expect(await error).toMatchObject({ code: 'NOT_ENTITLED', message: expect.stringContaining('expired') as string });
      expect(await reason).toBe('io server disconnect');
    });
  });

  describe('licence.changed on the engine transport', () => {
    it('changes, then revokes, a live user licence', async () => {
      const { socket } = await md(fileGateway, 'engine-user');
      const other = await md(fileGateway, 'engine-bystander');
      await subscribe(socket, ['NASDAQ:AAPL'], ['quote', 'trade']);
      await subscribe(other.socket, ['NASDAQ:AAPL'], ['trade']);
      const errors = collect<WireError>(socket, 'error');
      const otherErrors = collect<WireError>(other.socket, 'error');

      await publish('licence.changed', { userId: 'engine-user', licence: { ...FULL_LICENCE, tier: 'quotes-only', channels: ['quote'] }, ts: Date.now() });
      await waitFor('the trade stream stopped', () => (errors.length > 0 ? true : undefined), WITHIN_A_SECOND);
      expect(errors).toEqual([expect.objectContaining({ code: 'NOT_ENTITLED', details: { stream: 'trade:NASDAQ:AAPL' } })]);
      const frames = collect<MdMessage[]>(socket, 'md');
      await publish('md.quote.NASDAQ.AAPL', quote('10.07'));
      await waitFor('quotes still flowing', () => (streamsIn(frames).has('quote:NASDAQ:AAPL') ? true : undefined), 5_000);

      const disconnected = nextEvent<string>(socket, 'disconnect', WITHIN_A_SECOND);
      await publish('licence.changed', { userId: 'engine-user', revoked: true, ts: Date.now() });
      expect(await disconnected).toBe('io server disconnect');
      expect(errors.at(-1)).toMatchObject({ code: 'NOT_ENTITLED' });
      expect(other.socket.connected).toBe(true);
      expect(otherErrors).toEqual([]);
      expect(await fileGateway.metric('tradewire_licence_changes_total', { source: 'engine', action: 'disconnected' })).toBeGreaterThanOrEqual(1);

      // A malformed change is dropped and counted like any malformed engine event; nothing else happens.
      await publish('licence.changed', { userId: 'engine-bystander', tenant: 'acme-capital', revoked: true, ts: Date.now() });
      await waitFor('counted as malformed', async () => ((await fileGateway.metric('tradewire_engine_events_malformed_total', { kind: 'licence', reason: 'invalid_fields' })) >= 1 ? true : undefined));
      expect(other.socket.connected).toBe(true);
      await publish('licence.changed', { userId: 'engine-user', ts: Date.now() }); // clears the override
      other.socket.close();
    });
  });

  describe('from a redis registry shared by two gateways', () => {
    let one: GatewayProcess;
    let two: GatewayProcess;
    /** What docs/operations.md tells operators to run: SET (or DEL) and PUBLISH of the key, in one transaction. */
    const setEntry = async (key: string, value: unknown) => {
      await publisher.multi().set(key, JSON.stringify(value)).publish('tradewire:licence:changed', key).exec();
    };

    beforeAll(async () => {
      await publisher.set('tradewire:licence:user:preloaded-user', JSON.stringify(NASDAQ_QUOTES));
      const env = { ENGINE_TRANSPORT: 'redis', REDIS_URL: redis.url, LICENCE_REGISTRY: 'redis' };
      [one, two] = await Promise.all([GatewayProcess.start(env), GatewayProcess.start(env)]);
    });
    afterAll(async () => {
      await Promise.all([one?.stop(), two?.stop()]);
    });

    it('reads the entries at start, and applies a change on both gateways within a second', async () => {
      const preloaded = await md(two, 'preloaded-user');
      expect(preloaded.welcome.entitlements.tier).toBe('nasdaq-quotes');
      preloaded.socket.close();

      const onOne = await md(one, 'shared-user');
      const onTwo = await md(two, 'shared-user');
      for (const c of [onOne, onTwo]) await subscribe(c.socket, ['NASDAQ:AAPL', 'LSE:VOD'], ['quote']);
      const errors = [collect<WireError>(onOne.socket, 'error'), collect<WireError>(onTwo.socket, 'error')];
      await setEntry('tradewire:licence:user:shared-user', { ...FULL_LICENCE, tier: 'nasdaq-only', exchanges: { NASDAQ: 'realtime' } });
      await waitFor('both gateways stopped the LSE stream', () => (errors.every((e) => e.length > 0) ? true : undefined), WITHIN_A_SECOND);
      for (const e of errors) expect(e).toEqual([expect.objectContaining({ code: 'NOT_ENTITLED', details: { stream: 'quote:LSE:VOD' } })]);
      expect(onOne.socket.connected && onTwo.socket.connected).toBe(true);
      onOne.socket.close();
      onTwo.socket.close();
    });

    it('a tenant revoked in the registry is disconnected on both gateways and refused on reconnect', async () => {
      const onOne = await md(one, 'initech-1', FULL_LICENCE, 'initech');
      const onTwo = await md(two, 'initech-2', FULL_LICENCE, 'initech');
      const elsewhere = await md(two, 'acme-user');
      const gone = [nextEvent<string>(onOne.socket, 'disconnect', WITHIN_A_SECOND), nextEvent<string>(onTwo.socket, 'disconnect', WITHIN_A_SECOND)];
      await setEntry('tradewire:licence:tenant:initech', { revoked: true });
      expect(await Promise.all(gone)).toEqual(['io server disconnect', 'io server disconnect']);
      expect(elsewhere.socket.connected).toBe(true);
      const refused = await expectRefused(one.url, NAMESPACES.portfolio, { auth: { token: await hsToken({ sub: 'initech-3', tenant: 'initech', lic: FULL_LICENCE }) } });
      expect(refused.data.code).toBe('NOT_ENTITLED');
      await publisher.multi().del('tradewire:licence:tenant:initech').publish('tradewire:licence:changed', 'tradewire:licence:tenant:initech').exec();
      await waitFor('the tenant is licensed by its tokens again', async () => {
        const back = await md(one, 'initech-3', FULL_LICENCE, 'initech').catch(() => undefined);
        back?.socket.close();
        return back ? true : undefined;
      });
      elsewhere.socket.close();
    });
  });
});
