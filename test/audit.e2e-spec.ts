import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NAMESPACES, type Namespace, type WireError } from '#libs/contracts';
import { TestEngine } from './support/engine.js';
import { connectClient, expectRefused, GatewayProcess, nextEvent, request, unchecked, type AuditLine } from './support/gateway.js';
import { freePort, ManagedProcess, NatsServer } from './support/processes.js';
import { FULL_LICENCE, hsToken, type TestClaims } from './support/tokens.js';
import { limitOrder, uniqueId } from './support/orders.js';

describe('the audit trail (AUDIT_LOG), with a gateway on NATS and a test engine', () => {
  let nats: NatsServer;
  let engine: TestEngine;
  let gateway: GatewayProcess;
  /** Every token handed to the gateway by these tests, valid or not: none may ever appear in the audit trail. */
  const tokens: string[] = [];

  const token = async (claims: TestClaims = {}, options: Parameters<typeof hsToken>[1] = {}) => {
    const signed = await hsToken({ lic: FULL_LICENCE, ...claims }, options);
    tokens.push(signed);
    return signed;
  };
  const connect = async <N extends Namespace>(namespace: N, claims: TestClaims = {}) => connectClient(gateway.url, namespace, { auth: { token: await token(claims) } });
  const records = (kind: string, match: (record: AuditLine) => boolean = () => true) => gateway.auditRecords().filter((r) => r.kind === kind && match(r));

  beforeAll(async () => {
    nats = await NatsServer.start();
    engine = await TestEngine.start(nats.url, { submitReplyDelayMs: 20, publishOrderEvents: true });
    gateway = await GatewayProcess.start({ NATS_URL: nats.url, ORDER_TIMEOUT_MS: '2000', RATE_LIMIT_REQUESTS: '1000/1m', RATE_LIMIT_REQUEST_BURST: '100/1s' });
  });
  afterAll(async () => {
    await gateway?.stop();
    await engine?.close();
    await nats?.stop();
  });

  it('records refused handshakes with their code and address, naming the user only once the token is verified', async () => {
    const forged = await token({ sub: 'forger' }, { secret: 'another-secret-that-is-at-least-32-characters' });
    expect((await expectRefused(gateway.url, NAMESPACES.orders, { auth: { token: forged } })).data.code).toBe('UNAUTHORIZED');
    const expired = await token({ sub: 'late-user' }, { expiresIn: -60 });
    expect((await expectRefused(gateway.url, NAMESPACES.positions, { auth: { token: expired } })).data.code).toBe('TOKEN_EXPIRED');
    expect((await expectRefused(gateway.url, NAMESPACES.portfolio)).data.code).toBe('UNAUTHORIZED');
    const lapsed = await token({ sub: 'lapsed-user', lic: { ...FULL_LICENCE, expiresAt: Date.now() - 1_000 } });
    expect((await expectRefused(gateway.url, NAMESPACES.marketData, { auth: { token: lapsed } })).data.code).toBe('NOT_ENTITLED');

    const refused = await gateway.audited((r) => r.kind === 'handshake' && r.user === 'lapsed-user', 'the NOT_ENTITLED handshake');
    expect(refused).toMatchObject({ outcome: 'rejected', code: 'NOT_ENTITLED', namespace: '/market-data', tenant: 'acme-capital', address: '127.0.0.1', node: `test-${gateway.port}`, transport: 'websocket' });
    const rejected = records('handshake', (r) => r.outcome === 'rejected');
    expect(rejected.map((r) => [r.namespace, r.code])).toEqual([
      ['/orders', 'UNAUTHORIZED'],
      ['/positions', 'TOKEN_EXPIRED'],
      ['/portfolio', 'UNAUTHORIZED'],
      ['/market-data', 'NOT_ENTITLED'],
    ]);
    // A token that could not be verified names nobody: its claims are whatever its sender wrote.
    for (const record of rejected.slice(0, 3)) {
      expect(record).not.toHaveProperty('user');
      expect(record).toMatchObject({ address: '127.0.0.1', ts: expect.any(Number) as number, time: expect.any(String) as string });
    }
  });

  it('records an accepted handshake and its disconnect, with the connection id of the welcome and the reason', async () => {
    const { socket, welcome } = await connect(NAMESPACES.positions, { sub: 'watcher-1' });
    const accepted = await gateway.audited((r) => r.kind === 'handshake' && r.connection === welcome.connectionId, 'the accepted handshake');
    expect(accepted).toMatchObject({ outcome: 'accepted', user: 'watcher-1', tenant: 'acme-capital', namespace: '/positions', address: '127.0.0.1', transport: 'websocket' });
    expect(accepted).not.toHaveProperty('code');
    socket.close();
    const left = await gateway.audited((r) => r.kind === 'disconnect' && r.connection === welcome.connectionId, 'the disconnect');
    expect(left).toMatchObject({ user: 'watcher-1', tenant: 'acme-capital', namespace: '/positions', reason: 'client namespace disconnect', durationMs: expect.any(Number) as number });
    expect(left).not.toHaveProperty('code');
  });

  it('records why the gateway closed a connection: a token that expired while connected is TOKEN_EXPIRED', async () => {
    const { socket, welcome } = await connectClient(gateway.url, NAMESPACES.portfolio, { auth: { token: await token({ sub: 'short-lived' }, { expiresIn: 2 }) } });
    expect(await nextEvent<string>(socket, 'disconnect', 6_000)).toBe('io server disconnect');
    expect(await gateway.audited((r) => r.kind === 'disconnect' && r.connection === welcome.connectionId)).toMatchObject({
      user: 'short-lived',
      reason: 'server namespace disconnect',
      code: 'TOKEN_EXPIRED',
    });
  });

  it('records account subscriptions: the accounts subscribed, or those asked for and the refusal', async () => {
    const { socket, welcome } = await connect(NAMESPACES.orders, { sub: 'watcher-2', accounts: ['ACC-1001', 'ACC-1002'] });
    const ok = await request(socket, 'subscribe', { accounts: ['ACC-1001'] });
    expect(ok.ok).toBe(true);
    const forbidden = await request(socket, 'subscribe', { accounts: ['ACC-1002', 'ACC-9999'] });
    expect(forbidden).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    expect((await request(socket, 'unsubscribe', {})).ok).toBe(true);
    const mine = (r: AuditLine) => r.connection === welcome.connectionId;
    await gateway.audited((r) => r.kind === 'account.subscription' && mine(r) && r.action === 'unsubscribe', 'the unsubscribe');
    expect(records('account.subscription', mine)).toEqual([
      expect.objectContaining({ action: 'subscribe', accounts: ['ACC-1001'], outcome: 'accepted', user: 'watcher-2', namespace: '/orders' }),
      expect.objectContaining({ action: 'subscribe', accounts: ['ACC-1002', 'ACC-9999'], outcome: 'rejected', code: 'FORBIDDEN' }),
      expect.objectContaining({ action: 'unsubscribe', accounts: ['ACC-1001'], outcome: 'accepted' }),
    ]);
    socket.close();
  });

  it('records every order command with its clientOrderId and the outcome, whatever refused it', async () => {
    const { socket, welcome } = await connect(NAMESPACES.orders, { sub: 'trader-9' });
    const mine = (r: AuditLine) => r.kind === 'order.command' && r.connection === welcome.connectionId;
    const submitted = uniqueId('c');
    const submit = await request(socket, 'order:submit', limitOrder(submitted));
    if (!submit.ok) throw new Error(`submit refused: ${submit.error.code}`);
    const refusedByEngine = uniqueId('refuse');
    expect(await request(socket, 'order:submit', limitOrder(refusedByEngine))).toMatchObject({ ok: false, error: { code: 'UNKNOWN_SYMBOL' } });
    const malformed = uniqueId('c');
    expect(await request(socket, 'order:submit', limitOrder(malformed, { quantity: 'lots' }))).toMatchObject({ ok: false, error: { code: 'INVALID_REQUEST' } });
    expect(await request(socket, 'order:amend', { account: 'ACC-1001', origClientOrderId: submitted, clientOrderId: `${submitted}-a`, price: '189.10' })).toMatchObject({ ok: true });
    expect(await request(socket, 'order:cancel', { account: 'ACC-1001', clientOrderId: `${submitted}-a` })).toMatchObject({ ok: true });
    const second = uniqueId('c');
    expect(await request(socket, 'order:submit', limitOrder(second))).toMatchObject({ ok: true });
    const requestId = uniqueId('r');
    const cancelAll = await request(socket, 'order:cancel-all', { account: 'ACC-1001', requestId });
    if (!cancelAll.ok) throw new Error(`cancel-all refused: ${cancelAll.error.code}`);
    // Sent without an ack: recorded all the same, and the refusal still reaches the client as an `error` event.
    const unacknowledged = uniqueId('c');
    const error = nextEvent<WireError>(socket, 'error');
    unchecked(socket).emit('order:submit', limitOrder(unacknowledged, { account: 'ACC-7777' }));
    expect(await error).toMatchObject({ code: 'FORBIDDEN' });

    await gateway.audited((r) => mine(r) && r.clientOrderId === unacknowledged, 'the unacknowledged submit');
    expect(records('order.command', mine)).toEqual([
      expect.objectContaining({
        command: 'submit',
        clientOrderId: submitted,
        account: 'ACC-1001',
        instrument: 'NASDAQ:AAPL',
        side: 'buy',
        type: 'limit',
        quantity: '100',
        price: '189.40',
        outcome: 'accepted',
        orderId: submit.data.orderId,
        status: 'new',
        user: 'trader-9',
        tenant: 'acme-capital',
        namespace: '/orders',
        address: '127.0.0.1',
        durationMs: expect.any(Number) as number,
      }),
      expect.objectContaining({ command: 'submit', clientOrderId: refusedByEngine, outcome: 'rejected', code: 'UNKNOWN_SYMBOL' }),
      expect.objectContaining({ command: 'submit', clientOrderId: malformed, quantity: 'lots', outcome: 'rejected', code: 'INVALID_REQUEST' }),
      expect.objectContaining({ command: 'amend', clientOrderId: `${submitted}-a`, origClientOrderId: submitted, price: '189.10', outcome: 'accepted', orderId: submit.data.orderId }),
      expect.objectContaining({ command: 'cancel', clientOrderId: `${submitted}-a`, outcome: 'accepted', status: 'pending_cancel' }),
      expect.objectContaining({ command: 'submit', clientOrderId: second, outcome: 'accepted' }),
      expect.objectContaining({ command: 'cancel-all', requestId, account: 'ACC-1001', outcome: 'accepted', orderIds: cancelAll.data.orderIds, canceled: cancelAll.data.orderIds.length }),
      expect.objectContaining({ command: 'submit', clientOrderId: unacknowledged, account: 'ACC-7777', outcome: 'rejected', code: 'FORBIDDEN' }),
    ]);
    expect(cancelAll.data.orderIds.length).toBeGreaterThanOrEqual(1);
    socket.close();
  });

  it('records order commands refused before the handler: a viewer is FORBIDDEN, a licence without trading NOT_ENTITLED', async () => {
    const viewer = await connect(NAMESPACES.orders, { sub: 'viewer-1', roles: ['viewer'] });
    const untraded = await connect(NAMESPACES.orders, { sub: 'no-trading', lic: { ...FULL_LICENCE, features: [] } });
    const byViewer = uniqueId('c');
    const byUntraded = uniqueId('c');
    expect(await request(viewer.socket, 'order:submit', limitOrder(byViewer))).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    expect(await request(untraded.socket, 'order:cancel', { account: 'ACC-1001', clientOrderId: byUntraded })).toMatchObject({ ok: false, error: { code: 'NOT_ENTITLED' } });
    expect(await gateway.audited((r) => r.kind === 'order.command' && r.clientOrderId === byViewer)).toMatchObject({ command: 'submit', user: 'viewer-1', outcome: 'rejected', code: 'FORBIDDEN' });
    expect(await gateway.audited((r) => r.kind === 'order.command' && r.clientOrderId === byUntraded)).toMatchObject({ command: 'cancel', user: 'no-trading', outcome: 'rejected', code: 'NOT_ENTITLED' });
    expect(engine.submitsOf(byViewer)).toEqual([]);
    viewer.socket.close();
    untraded.socket.close();
  });

  it('records auth:refresh with its outcome and the new expiry, never the token', async () => {
    const { socket, welcome } = await connect(NAMESPACES.portfolio, { sub: 'refresher' });
    const refreshed = await request(socket, 'auth:refresh', { token: await token({ sub: 'refresher' }) });
    if (!refreshed.ok) throw new Error(`refresh refused: ${refreshed.error.code}`);
    expect(await request(socket, 'auth:refresh', { token: await token({ sub: 'someone-else' }) })).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    await gateway.audited((r) => r.kind === 'auth.refresh' && r.connection === welcome.connectionId && r.outcome === 'rejected');
    expect(records('auth.refresh', (r) => r.connection === welcome.connectionId)).toEqual([
      expect.objectContaining({ user: 'refresher', outcome: 'accepted', expiresAt: refreshed.data.expiresAt }),
      expect.objectContaining({ user: 'refresher', outcome: 'rejected', code: 'FORBIDDEN' }),
    ]);
    socket.close();
  });

  it('records licence changes from the engine and what each live connection got of them', async () => {
    const { socket, welcome } = await connect(NAMESPACES.orders, { sub: 'licensee' });
    engine.nc.publish('licence.changed', JSON.stringify({ userId: 'licensee', licence: { ...FULL_LICENCE, tier: 'quotes-only', channels: ['quote'] }, ts: Date.now() }));
    await engine.flush();
    const changed = await gateway.audited((r) => r.kind === 'licence.changed' && r.id === 'licensee', 'the licence change');
    expect(changed).toMatchObject({ source: 'engine', scope: 'user', licence: { tier: 'quotes-only', channels: ['quote'], features: ['trading'] } });
    expect(await gateway.audited((r) => r.kind === 'licence.applied' && r.connection === welcome.connectionId)).toMatchObject({
      user: 'licensee',
      namespace: '/orders',
      source: 'engine',
      outcome: 'updated',
      tier: 'quotes-only',
    });

    const disconnected = nextEvent<string>(socket, 'disconnect');
    engine.nc.publish('licence.changed', JSON.stringify({ userId: 'licensee', revoked: true, ts: Date.now() }));
    expect(await disconnected).toBe('io server disconnect');
    await gateway.audited((r) => r.kind === 'disconnect' && r.connection === welcome.connectionId, 'the disconnect');
    // The records of one change are written by separate listeners, in no order the contract promises: wait for each.
    const revoked = await gateway.audited((r) => r.kind === 'licence.changed' && r.id === 'licensee' && (r.licence as { revoked?: boolean } | null)?.revoked === true, 'the revocation');
    expect(revoked).toMatchObject({ source: 'engine', licence: { tier: 'revoked', revoked: true } });
    const applied = await gateway.audited((r) => r.kind === 'licence.applied' && r.connection === welcome.connectionId && r.outcome === 'disconnected', 'the revocation applied');
    expect(applied).toMatchObject({ outcome: 'disconnected', tier: 'revoked' });
    expect(records('disconnect', (r) => r.connection === welcome.connectionId)).toEqual([
      expect.objectContaining({ reason: 'server namespace disconnect', code: 'NOT_ENTITLED', user: 'licensee' }),
    ]);

    engine.nc.publish('licence.changed', JSON.stringify({ userId: 'licensee', ts: Date.now() }));
    await gateway.audited((r) => r.kind === 'licence.changed' && r.id === 'licensee' && r.licence === null, 'the override cleared');
  });

  it('records admin requests, those the guards refuse included, with their parameters but never a credential', async () => {
    const admin = await token({ sub: 'ops-1', roles: ['admin'] });
    const usage = await fetch(`${gateway.url}/admin/usage?reset=true`, { headers: { authorization: `Bearer ${admin}` } });
    expect(usage.status).toBe(200);
    expect((await fetch(`${gateway.url}/admin/connections`)).status).toBe(401);
    const trader = await token({ sub: 'trader-7', roles: ['trader'] });
    expect((await fetch(`${gateway.url}/admin/connections`, { headers: { authorization: `Bearer ${trader}` } })).status).toBe(403);
    // A token in the query string (refused: the admin API reads the header only) is not a parameter the trail keeps.
    expect((await fetch(`${gateway.url}/admin/connections?token=${admin}&access_token=${admin}&verbose=1`)).status).toBe(401);

    await gateway.audited((r) => r.kind === 'admin.action' && r.status === 401 && r.params !== undefined, 'the request with a query token');
    expect(records('admin.action')).toEqual([
      expect.objectContaining({ method: 'GET', path: '/admin/usage', status: 200, outcome: 'accepted', user: 'ops-1', tenant: 'acme-capital', address: '127.0.0.1', params: { reset: 'true' } }),
      expect.objectContaining({ method: 'GET', path: '/admin/connections', status: 401, outcome: 'rejected' }),
      expect.objectContaining({ method: 'GET', path: '/admin/connections', status: 403, outcome: 'rejected', user: 'trader-7' }),
      expect.objectContaining({ method: 'GET', path: '/admin/connections', status: 401, outcome: 'rejected', params: { verbose: '1' } }),
    ]);
    expect(records('admin.action')[1]).not.toHaveProperty('user');
  });

  it('counts the records it writes, by kind', async () => {
    expect(await gateway.metric('tradewire_audit_records_total', { kind: 'order.command' })).toBeGreaterThanOrEqual(8);
    expect(await gateway.metric('tradewire_audit_records_lost_total', { reason: 'dropped' })).toBe(0);
  });

  it('never writes a token, valid or not, whatever it was sent with', () => {
    const text = readFileSync(gateway.auditFile as string, 'utf8');
    expect(tokens.length).toBeGreaterThanOrEqual(15);
    for (const sent of tokens) {
      expect(text).not.toContain(sent);
      // Not even the signature (the part that makes it usable) on its own.
      expect(text).not.toContain(sent.split('.')[2]);
    }
    for (const line of text.split('\n').filter((l) => l !== '')) expect(() => JSON.parse(line) as unknown).not.toThrow();
  });
});

describe('the audit trail at shutdown and at start', () => {
  it('writes every record out when the gateway stops: each connection closed by the shutdown is recorded as such', async () => {
    const gateway = await GatewayProcess.start();
    const clients = await Promise.all(
      Array.from({ length: 60 }, async (_, index) => (await connectClient(gateway.url, NAMESPACES.portfolio, { auth: { token: await hsToken({ sub: `leaver-${index}`, lic: FULL_LICENCE }) } })).socket),
    );
    await gateway.stop();
    const records = gateway.auditRecords();
    expect(records.filter((r) => r.kind === 'handshake' && r.outcome === 'accepted')).toHaveLength(60);
    const disconnects = records.filter((r) => r.kind === 'disconnect');
    expect(disconnects).toHaveLength(60);
    for (const record of disconnects) expect(record).toMatchObject({ code: 'shutdown', reason: 'server namespace disconnect' });
    for (const socket of clients) socket.close();
  }, 60_000);

  it('records nothing with AUDIT_LOG=off, and refuses to start on an audit file it cannot write', async () => {
    const silent = await GatewayProcess.start({ AUDIT_LOG: 'off' });
    (await connectClient(silent.url, NAMESPACES.portfolio, { auth: { token: await hsToken({ lic: FULL_LICENCE }) } })).socket.close();
    expect(await silent.metric('tradewire_audit_records_total', { kind: 'handshake' })).toBe(0);
    await silent.stop();

    // A path under a plain file can be written by nobody, root included.
    const notADirectory = join(mkdtempSync(join(tmpdir(), 'tradewire-audit-test-')), 'plain-file');
    writeFileSync(notADirectory, '');
    const path = join(notADirectory, 'audit.jsonl');
    const child = new ManagedProcess(spawn(process.execPath, ['dist/src/main.js'], { env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', PORT: String(await freePort()), AUDIT_LOG: path }, stdio: 'pipe' }));
    const { code } = await child.exited;
    expect(code).toBe(1);
    expect(child.output).toContain(`AUDIT_LOG: cannot open ${path} for appending`);
    rmSync(dirname(notADirectory), { recursive: true, force: true });
  }, 60_000);
});
