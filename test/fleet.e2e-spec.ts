import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TradewireClient, type ConnectionStateInfo, type TradewireError } from '#libs/client';
import { NAMESPACES, type Namespace, type SystemPayload, type WelcomePayload, type WireError } from '#libs/contracts';
import { collect, connectClient, GatewayProcess, managerSocket, nextEvent, request, type ConnectedClient, type NamespaceSocket } from './support/gateway.js';
import { RedisServer, waitFor } from './support/processes.js';
import { FULL_LICENCE, hsToken } from './support/tokens.js';

/**
 * The gateway as a fleet: replicas on one Redis, each a full gateway process. Operator requests go to one replica
 * and are checked by what the clients of the other one receive: the node registry, disconnects and notices with their
 * reason, rate-limit unblocks, fleet-wide views, and limits changed at runtime.
 */

/** Answers of the fleet's operator endpoints: per-node results, and who failed or did not answer. */
interface FleetAnswers<R> {
  nodes: Record<string, R>;
  failed: Record<string, string>;
  missing: string[];
  error?: string;
}

interface NodeRecordView {
  id: string;
  address: string;
  version: string;
  startedAt: string;
  state: string;
  connections: number;
  users: number;
  eventLoopLagMs: { mean: number; p99: number; max: number };
}

const TENANT = 'acme-capital';
let redis: RedisServer;
let replicaA: GatewayProcess;
let replicaB: GatewayProcess;
const sockets: NamespaceSocket[] = [];

const fleetEnv = (extra: Record<string, string> = {}) => ({
  REDIS_URL: redis.url,
  NODE_TTL_MS: '3000',
  // Tight enough to see the unblock at work: the third request within a minute is refused, the second refusal blocks.
  RATE_LIMIT_REQUEST_BURST: '2/1m',
  RATE_LIMIT_REQUESTS: 'off',
  RATE_LIMIT_BLOCK_AFTER: '2/1m',
  RATE_LIMIT_BLOCK_MS: '600000',
  ...extra,
});

const adminToken = () => hsToken({ sub: 'ops-1', tenant: 'ops', roles: ['admin'] });
const userToken = (sub: string, tenant = TENANT) => hsToken({ sub, tenant, lic: FULL_LICENCE });

async function admin<T>(replica: GatewayProcess, method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const response = await fetch(`${replica.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${await adminToken()}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as T };
}

async function client<N extends Namespace = typeof NAMESPACES.marketData>(replica: GatewayProcess, sub: string, namespace: N = NAMESPACES.marketData as N, tenant = TENANT): Promise<ConnectedClient<N>> {
  const connected = await connectClient(replica.url, namespace, { auth: { token: await userToken(sub, tenant) } });
  sockets.push(connected.socket);
  return connected;
}

const nodeIds = async (replica: GatewayProcess) => (await admin<{ nodes: NodeRecordView[] }>(replica, 'GET', '/admin/nodes')).body.nodes.map((node) => node.id).sort();

describe('fleet: node registry, operator actions and runtime limits across replicas', () => {
  beforeAll(async () => {
    redis = await RedisServer.start();
    replicaA = await GatewayProcess.start(fleetEnv({ NODE_ID: 'gw-a' }));
    replicaB = await GatewayProcess.start(fleetEnv({ NODE_ID: 'gw-b' }));
  });
  afterAll(async () => {
    for (const socket of sockets) socket.close();
    await Promise.all([replicaA?.stop(), replicaB?.stop()]);
    await redis?.stop();
  });

  it('lists every replica with its figures, and sums them in /health/websocket', async () => {
    const { socket } = await client(replicaB, 'registry-user');
    const listed = await waitFor('both replicas listed, B with its connection', async () => {
      const { status, body } = await admin<{ source: string; nodes: NodeRecordView[]; totals: { nodes: number; connections: number } }>(replicaA, 'GET', '/admin/nodes');
      expect(status).toBe(200);
      const b = body.nodes.find((node) => node.id === 'gw-b');
      return body.nodes.length === 2 && b && b.connections >= 1 ? body : undefined;
    });
    expect(listed.source).toBe('redis');
    const b = listed.nodes.find((node) => node.id === 'gw-b') as NodeRecordView;
    expect(b).toMatchObject({ address: expect.stringMatching(/:\d+$/) as string, version: expect.any(String) as string, state: 'ready' });
    expect(Date.parse(b.startedAt)).toBeLessThanOrEqual(Date.now());
    expect(b.users).toBeGreaterThanOrEqual(1);
    expect(b.eventLoopLagMs.p99).toBeGreaterThanOrEqual(0);
    const health = (await (await fetch(`${replicaA.url}/health/websocket`)).json()) as { node: string; connections: number; cluster: { source: string; nodes: number; connections: number } };
    expect(health.node).toBe('gw-a');
    expect(health.cluster.source).toBe('redis');
    expect(health.cluster.nodes).toBe(2);
    expect(health.cluster.connections).toBeGreaterThanOrEqual(health.connections + 1);
    socket.close();
  });

  it('refuses the operator endpoints without the admin role, and bad bodies with INVALID_REQUEST', async () => {
    expect((await fetch(`${replicaA.url}/admin/nodes`)).status).toBe(401);
    const trader = await fetch(`${replicaA.url}/admin/notice`, { method: 'POST', headers: { authorization: `Bearer ${await userToken('trader-1')}`, 'content-type': 'application/json' }, body: JSON.stringify({ message: 'hi' }) });
    expect(trader.status).toBe(403);
    const noTarget = await admin<WireError>(replicaA, 'POST', '/admin/disconnect', { reason: 'maintenance' });
    expect(noTarget.status).toBe(400);
    expect(noTarget.body).toMatchObject({ code: 'INVALID_REQUEST', message: expect.stringMatching(/connectionId|tenant/) as string });
    const userWithoutTenant = await admin<WireError>(replicaA, 'POST', '/admin/notice', { message: 'x', userId: 'u' });
    expect(userWithoutTenant.body.code).toBe('INVALID_REQUEST');
    const badSeverity = await admin<WireError>(replicaA, 'POST', '/admin/notice', { message: 'x', severity: 'panic' });
    expect(badSeverity.status).toBe(400);
    expect(badSeverity.body.message).toMatch(/severity/);
    const unknownField = await admin<WireError>(replicaA, 'POST', '/admin/rate-limit/unblock', { tenant: TENANT, userId: 'u', everyone: true });
    expect(unknownField.body.code).toBe('INVALID_REQUEST');
  });

  it("disconnects a user's connections on another replica, telling each the reason first", async () => {
    const md = await client(replicaB, 'to-disconnect', NAMESPACES.marketData);
    const orders = await client(replicaB, 'to-disconnect', NAMESPACES.orders);
    const bystander = await client(replicaB, 'bystander');
    const systemEvents = [collect<SystemPayload>(md.socket, 'system'), collect<SystemPayload>(orders.socket, 'system')];
    const disconnects = [nextEvent<string>(md.socket, 'disconnect', 1_000), nextEvent<string>(orders.socket, 'disconnect', 1_000)];
    const bystanderEvents = collect<SystemPayload>(bystander.socket, 'system');
    const sent = Date.now();
    const answer = await admin<{ id: string } & FleetAnswers<{ connections: number }>>(replicaA, 'POST', '/admin/disconnect', { tenant: TENANT, userId: 'to-disconnect', reason: 'account under review', reconnectInMs: 5_000 });
    expect(answer.status).toBe(200);
    expect(answer.body.nodes).toEqual({ 'gw-a': { connections: 0 }, 'gw-b': { connections: 2 } });
    expect(answer.body.missing).toEqual([]);
    // Each connection heard the reason, then was disconnected by the server, within a second of the request.
    expect(await Promise.all(disconnects)).toEqual(['io server disconnect', 'io server disconnect']);
    expect(Date.now() - sent).toBeLessThan(1_000);
    for (const events of systemEvents) expect(events).toEqual([{ type: 'disconnect', id: answer.body.id, message: 'account under review', reconnectInMs: 5_000 }]);
    // The bystander is still served and heard nothing.
    expect((await request(bystander.socket, 'ping', {})).ok).toBe(true);
    expect(bystanderEvents).toEqual([]);
    // The audit trail of the replica asked: the fleet action with what each replica did, beside the HTTP request.
    const audited = await replicaA.audited((record) => record.kind === 'fleet.action' && record.action === 'disconnect', 'the fleet.action record');
    expect(audited).toMatchObject({ user: expect.any(String) as unknown, target: { tenant: TENANT, userId: 'to-disconnect', reason: 'account under review', id: answer.body.id }, outcome: { nodes: answer.body.nodes, missing: [] } });
    await replicaA.audited((record) => record.kind === 'admin.action' && record.path === '/admin/disconnect', 'the admin.action record');
  });

  it('disconnects one connection by its id, the others of the same user staying, over the same transport too', async () => {
    const first = await client(replicaB, 'two-tabs');
    const second = await client(replicaB, 'two-tabs');
    // A third namespace multiplexed over the first one's Socket.IO connection (one Manager, one WebSocket).
    const token = await userToken('two-tabs');
    // The Manager opens it at once (autoConnect): its welcome is awaited, not asked for twice.
    const sibling = managerSocket(first.socket.io, NAMESPACES.orders, { auth: { token } });
    sockets.push(sibling);
    await nextEvent<WelcomePayload>(sibling, 'welcome');
    const gone = nextEvent<string>(first.socket, 'disconnect', 1_000);
    const answer = await admin<FleetAnswers<{ connections: number }>>(replicaA, 'POST', '/admin/disconnect', { connectionId: first.welcome.connectionId, reason: 'stale tab' });
    expect(answer.body.nodes['gw-b']).toEqual({ connections: 1 });
    expect(await gone).toBe('io server disconnect');
    expect(second.socket.connected).toBe(true);
    // The namespace sharing its transport is still served over it.
    expect((await request(sibling, 'ping', {})).ok).toBe(true);
  });

  it('sends a notice to every connection of the fleet, or to one tenant, once per namespace with one id', async () => {
    const onA = await client(replicaA, 'reader-a');
    const onB = await client(replicaB, 'reader-b');
    const otherTenant = await client(replicaB, 'reader-c', NAMESPACES.marketData, 'globex');
    const sent = Date.now();
    const everyone = nextEvent<SystemPayload>(onA.socket, 'system', 1_000);
    const everyoneB = nextEvent<SystemPayload>(onB.socket, 'system', 1_000);
    const everyoneOther = nextEvent<SystemPayload>(otherTenant.socket, 'system', 1_000);
    const all = await admin<{ id: string } & FleetAnswers<{ connections: number }>>(replicaA, 'POST', '/admin/notice', { message: 'LSE feed degraded', severity: 'warning' });
    expect(all.status).toBe(200);
    const expected = { type: 'notice', id: all.body.id, message: 'LSE feed degraded', severity: 'warning' };
    expect(await everyone).toEqual(expected);
    expect(await everyoneB).toEqual(expected);
    expect(await everyoneOther).toEqual(expected);
    expect(Date.now() - sent).toBeLessThan(1_000);
    expect(all.body.nodes['gw-b']?.connections).toBeGreaterThanOrEqual(2);

    // To one tenant: the other tenant's next notice is the fleet-wide one that follows, not this one.
    const otherEvents = collect<SystemPayload>(otherTenant.socket, 'system');
    const tenantNotice = nextEvent<SystemPayload>(onB.socket, 'system', 1_000);
    const toTenant = await admin<{ id: string } & FleetAnswers<{ connections: number }>>(replicaA, 'POST', '/admin/notice', { message: 'maintenance at 18:00', tenant: TENANT });
    expect(await tenantNotice).toEqual({ type: 'notice', id: toTenant.body.id, message: 'maintenance at 18:00', severity: 'info' });
    const nextForOther = nextEvent<SystemPayload>(otherTenant.socket, 'system', 1_000);
    const after = await admin<{ id: string }>(replicaA, 'POST', '/admin/notice', { message: 'all clear' });
    expect((await nextForOther).id).toBe(after.body.id);
    expect(otherEvents.map((event) => event.id)).toEqual([after.body.id]);
  });

  it('the SDK shows an operator notice once and stays away after a disconnect without leave to return', async () => {
    const sdk = new TradewireClient({ url: replicaB.url, getToken: () => userToken('sdk-user'), transports: ['websocket'] });
    try {
      const notices: SystemPayload[] = [];
      const errors: TradewireError[] = [];
      let lastState: { state: string; info: ConnectionStateInfo } | undefined;
      sdk.on('system', (notice) => notices.push(notice));
      sdk.on('error', (error) => errors.push(error));
      sdk.on('state', (state, info) => (lastState = { state, info }));
      sdk.marketData.subscribe({ instruments: ['NASDAQ:AAPL'], channels: ['quote'] });
      sdk.orders.subscribe();
      await waitFor('the SDK connected on both namespaces', () => (sdk.diagnostics().namespaces.filter((n) => n.connected).length === 2 ? true : undefined));
      const notice = await admin<{ id: string }>(replicaA, 'POST', '/admin/notice', { message: 'LSE feed degraded', severity: 'critical', tenant: TENANT, userId: 'sdk-user' });
      await waitFor('the notice', () => (notices.length > 0 ? true : undefined));
      const disconnect = await admin<{ id: string }>(replicaA, 'POST', '/admin/disconnect', { tenant: TENANT, userId: 'sdk-user', reason: 'licence under review' });
      await waitFor('the SDK disconnected', () => (lastState?.state === 'disconnected' ? true : undefined));
      // Heard once, though it came on both namespaces.
      expect(notices).toEqual([
        { type: 'notice', id: notice.body.id, message: 'LSE feed degraded', severity: 'critical' },
        { type: 'disconnect', id: disconnect.body.id, message: 'licence under review' },
      ]);
      expect(lastState?.info).toMatchObject({ reason: 'operator disconnect', error: { code: 'DISCONNECTED_BY_OPERATOR', message: 'licence under review' } });
      // Both namespaces stop for good (neither reconnects on its own), each reporting why.
      await waitFor('both namespaces stopped', () => (errors.filter((e) => e.code === 'DISCONNECTED_BY_OPERATOR').length === 2 ? true : undefined));
      expect(sdk.diagnostics().namespaces.map((n) => n.connected)).toEqual([false, false]);
    } finally {
      sdk.close();
    }
  });

  it("lifts a user's rate-limit block on every replica", async () => {
    const { socket } = await client(replicaB, 'offender');
    const unsubscribe = () => request(socket, 'unsubscribe', { instruments: ['NASDAQ:AAPL'], channels: ['quote'] });
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await unsubscribe());
    const last = answers[3] as { ok: false; error: WireError };
    expect(last.ok).toBe(false);
    expect(last.error.message).toMatch(/blocked/);
    // Blocked: ping too, which this replica answers from its own memory of the block.
    const blockedPing = await request(socket, 'ping', {});
    expect(blockedPing.ok).toBe(false);

    const answer = await admin<FleetAnswers<{ unblocked: boolean }>>(replicaA, 'POST', '/admin/rate-limit/unblock', { tenant: TENANT, userId: 'offender' });
    expect(answer.status).toBe(200);
    expect(answer.body.nodes).toEqual({ 'gw-a': { unblocked: true }, 'gw-b': { unblocked: true } });
    expect((await request(socket, 'ping', {})).ok).toBe(true);
    expect((await unsubscribe()).ok).toBe(true);
  });

  it("lists a user's connections on every replica, and sums usage across them", async () => {
    await client(replicaA, 'roaming');
    await client(replicaB, 'roaming', NAMESPACES.orders);
    const listed = await admin<{ connections: { node: string; namespace: string; userId: string }[] } & FleetAnswers<unknown>>(replicaA, 'GET', `/admin/users/roaming/connections?tenant=${TENANT}`);
    expect(listed.status).toBe(200);
    expect(listed.body.connections.map((c) => `${c.node}${c.namespace}`).sort()).toEqual(['gw-a/market-data', 'gw-b/orders']);
    expect(listed.body.missing).toEqual([]);

    const usage = await admin<{ periods: Record<string, unknown>; tenants: { tenant: string; users: { userId: string; connections: number }[] }[] }>(replicaB, 'GET', '/admin/usage');
    expect(usage.status).toBe(200);
    expect(Object.keys(usage.body.periods).sort()).toEqual(['gw-a', 'gw-b']);
    const roaming = usage.body.tenants.find((t) => t.tenant === TENANT)?.users.find((u) => u.userId === 'roaming');
    expect(roaming?.connections).toBe(2);
  });

  it('changes limits at runtime on every replica: new connections are told, and the limits apply', async () => {
    const bad = await admin<WireError>(replicaA, 'PATCH', '/admin/limits', { requests: 'lots', slowClientGraceMs: 4_000 });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toMatch(/^requests: /);
    const nothing = await admin<WireError>(replicaA, 'PATCH', '/admin/limits', {});
    expect(nothing.status).toBe(400);
    expect(nothing.body.message).toMatch(/at least one limit/);
    expect((await admin<{ version: number }>(replicaB, 'GET', '/admin/limits')).body.version).toBe(0);

    const changed = await admin<{ limits: { version: number; effective: Record<string, unknown> } } & FleetAnswers<{ version: number }>>(replicaA, 'PATCH', '/admin/limits', {
      requestBurst: '50/1s',
      events: 'subscribe=30/1m:5',
      maxSubscriptionsPerUser: 1,
      slowClientGraceMs: 4_000,
    });
    expect(changed.status).toBe(200);
    const version = changed.body.limits.version;
    expect(changed.body.nodes).toEqual({ 'gw-a': { version }, 'gw-b': { version } });
    expect(changed.body.limits.effective).toMatchObject({ requestBurst: '50/1s', events: 'subscribe=30/1m:5', maxSubscriptionsPerUser: 1, slowClientGraceMs: 4_000, requests: 'off' });

    for (const replica of [replicaA, replicaB]) {
      const { socket, welcome } = await client(replica, `limits-${replica.port}`);
      expect(welcome.limits).toMatchObject({
        maxStreamsPerUser: 1,
        slowClientGraceMs: 4_000,
        rateLimits: { requestBurst: { limit: 50, windowMs: 1_000, burst: 50 }, events: { subscribe: { limit: 30, windowMs: 60_000, burst: 5 } }, requests: null },
      });
      // The stream cap is in force, not only advertised.
      const answer = await request(socket, 'subscribe', { instruments: ['NASDAQ:AAPL', 'NASDAQ:MSFT'], channels: ['quote'] });
      expect(answer.ok && answer.data.subscribed.length).toBe(1);
      expect(answer.ok && answer.data.rejected.map((r) => r.code)).toEqual(['SUBSCRIPTION_LIMIT']);
    }

    const reset = await admin<{ limits: { effective: Record<string, unknown> } } & FleetAnswers<unknown>>(replicaB, 'DELETE', '/admin/limits');
    expect(reset.status).toBe(200);
    expect(reset.body.limits.effective).toMatchObject({ requestBurst: '2/1m', maxSubscriptionsPerUser: 50, slowClientGraceMs: 10_000 });
    const { welcome } = await client(replicaA, 'after-reset');
    expect(welcome.limits.maxStreamsPerUser).toBe(50);
  });

  it('drops a SIGTERMed replica at once and a SIGKILLed one after its TTL', async () => {
    const ttlMs = 6_000;
    // A drain longer than a heartbeat interval (ttlMs / 3): the replica says it is draining before it leaves.
    const drainMs = 4_000;
    const terminated = await GatewayProcess.start(fleetEnv({ NODE_ID: 'gw-term', NODE_TTL_MS: String(ttlMs), DRAIN_DELAY_MS: String(drainMs) }));
    const killed = await GatewayProcess.start(fleetEnv({ NODE_ID: 'gw-kill', NODE_TTL_MS: String(ttlMs) }));
    try {
      await waitFor('all four listed', async () => ((await nodeIds(replicaA)).length === 4 ? true : undefined));
      const stopped = terminated.stop();
      // Listed while it drains, as draining: it deregisters once its clients have been told to leave, not at the signal.
      const draining = async () => (await admin<{ nodes: NodeRecordView[] }>(replicaA, 'GET', '/admin/nodes')).body.nodes.find((node) => node.id === 'gw-term')?.state;
      await waitFor('the SIGTERMed replica listed as draining', async () => ((await draining()) === 'draining' ? true : undefined), drainMs, 100);
      await stopped;
      // Gone as soon as it has exited, long before its TTL.
      expect(await nodeIds(replicaA)).toEqual(['gw-a', 'gw-b', 'gw-kill']);

      await killed.process.stop('SIGKILL');
      const killedAt = Date.now();
      // Its record outlives it until the TTL runs out.
      expect(await nodeIds(replicaA)).toContain('gw-kill');
      await waitFor('the killed replica dropped', async () => ((await nodeIds(replicaA)).includes('gw-kill') ? undefined : true), ttlMs + 3_000, 200);
      expect(Date.now() - killedAt).toBeGreaterThan(ttlMs / 2);
      expect(await nodeIds(replicaB)).toEqual(['gw-a', 'gw-b']);
    } finally {
      await Promise.all([terminated.stop(), killed.stop()]);
    }
  });
});
