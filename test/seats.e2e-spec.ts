import { Manager, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NAMESPACES, type WelcomePayload, type WireError } from '#libs/contracts';
import { connectClient, expectRefused, GatewayProcess, nextEvent, sleep } from './support/gateway.js';
import { RedisServer, waitFor } from './support/processes.js';
import { FULL_LICENCE, hsToken } from './support/tokens.js';

const TWO_SEATS = { ...FULL_LICENCE, maxConnections: 2 };
const SEAT_LEASE_MS = 3_000;

async function token(sub: string, lic: Record<string, unknown> = TWO_SEATS, tenant = 'acme-capital'): Promise<string> {
  return hsToken({ sub, tenant, lic });
}

/** One dashboard: one engine.io connection carrying several namespaces, as socket.io-client multiplexes them. */
async function dashboard(url: string, auth: string, namespaces: string[] = [NAMESPACES.marketData, NAMESPACES.orders, NAMESPACES.positions]) {
  const manager = new Manager(url, { transports: ['websocket'], reconnection: false });
  const sockets: Socket[] = [];
  for (const namespace of namespaces) {
    const socket = manager.socket(namespace, { auth: { token: auth } });
    sockets.push(socket);
    await new Promise<WelcomePayload>((resolve, reject) => {
      socket.once('welcome', resolve);
      socket.once('connect_error', (error: Error & { data?: WireError }) => reject(error));
    });
  }
  return { sockets, close: () => sockets.forEach((socket) => socket.close()) };
}

describe('seats on one gateway (in memory)', () => {
  let gateway: GatewayProcess;
  beforeAll(async () => {
    gateway = await GatewayProcess.start({ ENGINE_TRANSPORT: 'simulator' });
  });
  afterAll(async () => {
    await gateway.stop();
  });

  it('a dashboard holds one seat whatever its namespaces; the next connection over maxConnections is refused', async () => {
    const auth = await token('seat-user');
    const first = await dashboard(gateway.url, auth);
    const second = await connectClient(gateway.url, NAMESPACES.portfolio, { auth: { token: auth } });
    expect(second.welcome.limits.maxConnections).toBe(2);
    expect(await gateway.metric('tradewire_seats')).toBe(2);

    const refused = await expectRefused(gateway.url, NAMESPACES.marketData, { auth: { token: auth } });
    expect(refused.message).toBe('CONNECTION_LIMIT');
    expect(refused.data).toMatchObject({ code: 'CONNECTION_LIMIT', status: 406, message: 'licence allows 2 concurrent connections', details: { scope: 'user', limit: 2 } });
    // Another namespace on a connection that already holds a seat needs no new one.
    const more = first.sockets[0]?.io.socket(NAMESPACES.portfolio, { auth: { token: auth } });
    expect(await nextEvent<WelcomePayload>(more, 'welcome')).toMatchObject({ namespace: NAMESPACES.portfolio });
    // Another user is not affected.
    const other = await connectClient(gateway.url, NAMESPACES.marketData, { auth: { token: await token('other-user') } });

    // Leaving one namespace keeps the seat; closing the dashboard frees it.
    first.sockets[0]?.close();
    await sleep(200);
    await expectRefused(gateway.url, NAMESPACES.orders, { auth: { token: auth } });
    first.close();
    more?.close();
    await waitFor('a seat is free', async () => {
      const again = await connectClient(gateway.url, NAMESPACES.orders, { auth: { token: auth } }).catch(() => undefined);
      again?.socket.close();
      return again ? true : undefined;
    });
    expect(await gateway.metric('tradewire_handshakes_total', { namespace: NAMESPACES.marketData, outcome: 'CONNECTION_LIMIT' })).toBeGreaterThanOrEqual(1);
    expect(await gateway.metric('tradewire_licence_refusals_total', { namespace: NAMESPACES.marketData, code: 'CONNECTION_LIMIT', stage: 'handshake' })).toBeGreaterThanOrEqual(1);
    second.socket.close();
    other.socket.close();
  });

  it('maxConnections 0 is no per-user limit; maxTenantConnections counts every user of the tenant', async () => {
    const tenantWide = { ...FULL_LICENCE, maxConnections: 0, maxTenantConnections: 3 };
    const held = [];
    for (const sub of ['t-user-1', 't-user-1', 't-user-2']) held.push(await connectClient(gateway.url, NAMESPACES.marketData, { auth: { token: await token(sub, tenantWide, 'umbrella') } }));
    const refused = await expectRefused(gateway.url, NAMESPACES.marketData, { auth: { token: await token('t-user-3', tenantWide, 'umbrella') } });
    expect(refused.data).toMatchObject({ code: 'CONNECTION_LIMIT', details: { scope: 'tenant', limit: 3 } });
    const unlimited = { ...FULL_LICENCE, maxConnections: 0 };
    for (let i = 0; i < 4; i++) held.push(await connectClient(gateway.url, NAMESPACES.orders, { auth: { token: await token('no-limit-user', unlimited) } }));
    for (const c of held) c.socket.close();
  });
});

describe('seats across two gateways sharing one redis-server', () => {
  let redis: RedisServer;
  let a: GatewayProcess;
  let b: GatewayProcess;
  const env = () => ({ ENGINE_TRANSPORT: 'redis', REDIS_URL: redis.url, SEAT_LEASE_MS: String(SEAT_LEASE_MS) });

  beforeAll(async () => {
    redis = await RedisServer.start();
    [a, b] = await Promise.all([GatewayProcess.start(env()), GatewayProcess.start(env())]);
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await redis?.stop();
  });

  it('counts a user’s seats cluster-wide, and a seat freed on one gateway is free on the other', async () => {
    const auth = await token('cluster-user');
    const onA = await dashboard(a.url, auth);
    const onB = await connectClient(b.url, NAMESPACES.marketData, { auth: { token: auth } });
    for (const gateway of [a, b]) expect((await expectRefused(gateway.url, NAMESPACES.orders, { auth: { token: auth } })).data.code).toBe('CONNECTION_LIMIT');
    onB.socket.close();
    await waitFor('the seat freed on B is taken on A', async () => {
      const again = await connectClient(a.url, NAMESPACES.orders, { auth: { token: auth } }).catch(() => undefined);
      again?.socket.close();
      return again ? true : undefined;
    });
    onA.close();
  });

  it('is atomic: of many simultaneous handshakes on both gateways, exactly maxConnections get in', async () => {
    const auth = await token('racing-user');
    const attempts = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => connectClient((i % 2 ? a : b).url, NAMESPACES.marketData, { auth: { token: auth } })));
    const accepted = attempts.filter((r) => r.status === 'fulfilled');
    const refused = attempts.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(accepted).toHaveLength(2);
    expect(refused.map((r) => (r.reason as Error).message)).toEqual(Array(8).fill('CONNECTION_LIMIT'));
    for (const r of accepted) r.value.socket.close();
  });

  it('seats of a replica killed with SIGKILL free themselves within the lease', async () => {
    const victim = await GatewayProcess.start(env());
    const auth = await token('crash-user');
    await dashboard(victim.url, auth);
    await connectClient(victim.url, NAMESPACES.marketData, { auth: { token: auth } });
    await victim.process.stop('SIGKILL');

    // Right after the crash its seats still count...
    expect((await expectRefused(a.url, NAMESPACES.marketData, { auth: { token: auth } })).data.code).toBe('CONNECTION_LIMIT');
    // ...and within the lease (plus one renewal period of slack for the last renewal before the kill) they are free.
    await waitFor(
      'the crashed replica’s seats to lapse',
      async () => {
        const back = await connectClient(a.url, NAMESPACES.marketData, { auth: { token: auth } }).catch(() => undefined);
        back?.socket.close();
        return back ? true : undefined;
      },
      SEAT_LEASE_MS + 2_000,
      200,
    );
  });

  it('seats held across a lease period are renewed, not lost; a graceful shutdown hands them back at once', async () => {
    const leaving = await GatewayProcess.start(env());
    const auth = await token('renewed-user');
    const held = await dashboard(leaving.url, auth);
    const held2 = await connectClient(leaving.url, NAMESPACES.orders, { auth: { token: auth } });
    await sleep(SEAT_LEASE_MS + 1_000);
    expect(held2.socket.connected).toBe(true);
    expect((await expectRefused(a.url, NAMESPACES.marketData, { auth: { token: auth } })).data.code).toBe('CONNECTION_LIMIT');

    await leaving.stop();
    const back = await connectClient(a.url, NAMESPACES.marketData, { auth: { token: auth } });
    const back2 = await connectClient(b.url, NAMESPACES.marketData, { auth: { token: auth } });
    held.close();
    back.socket.close();
    back2.socket.close();
  });
});
