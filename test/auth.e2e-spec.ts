import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { ALL_NAMESPACES, NAMESPACES, type WireError } from '#libs/contracts';
import { collect, connectClient, expectRefused, GatewayProcess, nextEvent, request, requestRaw, sleep, unchecked } from './support/gateway.js';
import { hsToken } from './support/tokens.js';

describe('handshake authentication and session lifecycle', () => {
  let gateway: GatewayProcess;

  beforeAll(async () => {
    gateway = await GatewayProcess.start({ ENGINE_TRANSPORT: 'simulator', JWT_ISSUER: 'https://idp.tradewire.test', JWT_AUDIENCE: 'tradewire', TOKEN_EXPIRY_WARNING_MS: '1500' });
  });
  afterAll(async () => {
    await gateway.stop();
  });

  const goodToken = (claims = {}, expiresIn?: number) => hsToken(claims, { issuer: 'https://idp.tradewire.test', audience: 'tradewire', expiresIn });

  it.each(ALL_NAMESPACES)('accepts a good token on %s and sends welcome', async (namespace) => {
    const { socket, welcome } = await connectClient(gateway.url, namespace, { auth: { token: await goodToken() } });
    expect(welcome).toMatchObject({ userId: 'user-1', namespace, node: `test-${gateway.port}` });
    expect(typeof welcome.connectionId).toBe('string');
    expect(welcome.entitlements.tier).toBe('demo');
    expect(welcome.limits.maxFrameBytes).toBe(65_536);
    socket.close();
  });

  it('takes the token from an Authorization header or the query string too', async () => {
    const token = await goodToken();
    const viaHeader = await connectClient(gateway.url, NAMESPACES.orders, { extraHeaders: { authorization: `Bearer ${token}` } });
    const viaQuery = await connectClient(gateway.url, NAMESPACES.orders, { query: { token } });
    expect(viaHeader.welcome.userId).toBe('user-1');
    expect(viaQuery.welcome.userId).toBe('user-1');
    viaHeader.socket.close();
    viaQuery.socket.close();
  });

  it('refuses with the contract codes', async () => {
    const cases: [string, Parameters<typeof connectClient>[2], string][] = [
      ['no token', {}, 'UNAUTHORIZED'],
      ['garbage', { auth: { token: 'not-a-jwt' } }, 'UNAUTHORIZED'],
      ['wrong secret', { auth: { token: await hsToken({}, { secret: 'another-secret-of-at-least-32-characters!!', issuer: 'https://idp.tradewire.test', audience: 'tradewire' }) } }, 'UNAUTHORIZED'],
      ['wrong issuer', { auth: { token: await hsToken({}, { issuer: 'https://evil.test', audience: 'tradewire' }) } }, 'UNAUTHORIZED'],
      ['wrong audience', { auth: { token: await hsToken({}, { issuer: 'https://idp.tradewire.test', audience: 'other' }) } }, 'UNAUTHORIZED'],
      ['expired', { auth: { token: await goodToken({}, -120) } }, 'TOKEN_EXPIRED'],
      ['bad claims', { auth: { token: await goodToken({ accounts: 'ACC-1001' }) } }, 'UNAUTHORIZED'],
      ['expired licence', { auth: { token: await goodToken({ lic: { tier: 'pro', expiresAt: Date.now() - 1000, exchanges: {}, channels: [] } }) } }, 'NOT_ENTITLED'],
    ];
    for (const [label, options, code] of cases) {
      const refusal = await expectRefused(gateway.url, NAMESPACES.marketData, options);
      expect(refusal.message, label).toBe(code);
      expect(refusal.data.code, label).toBe(code);
      expect(refusal.data.status, label).toBe(code === 'NOT_ENTITLED' ? 403 : 401);
      expect(typeof refusal.data.message, label).toBe('string');
    }
    expect(await gateway.metric('tradewire_handshakes_total', { namespace: NAMESPACES.marketData, outcome: 'TOKEN_EXPIRED' })).toBeGreaterThanOrEqual(1);
  });

  it('answers ping and refreshes a token; refuses a refresh for another user or tenant', async () => {
    const { socket } = await connectClient(gateway.url, NAMESPACES.positions, { auth: { token: await goodToken() } });
    const pong = await request(socket, 'ping', {});
    expect(pong.ok && Math.abs(pong.data.serverTime - Date.now()) < 5_000).toBe(true);
    const refreshed = await request(socket, 'auth:refresh', { token: await goodToken({}, 7200) });
    expect(refreshed.ok && refreshed.data.expiresAt > Date.now() + 7000_000).toBe(true);
    const other = await request(socket, 'auth:refresh', { token: await goodToken({ sub: 'someone-else' }) });
    expect(other).toMatchObject({ ok: false, error: { code: 'FORBIDDEN', status: 403 } });
    const otherTenant = await request(socket, 'auth:refresh', { token: await goodToken({ tenant: 'another-tenant' }) });
    expect(otherTenant).toMatchObject({ ok: false, error: { code: 'FORBIDDEN', status: 403, message: 'the new token belongs to another tenant; reconnect with it' } });
    const expired = await request(socket, 'auth:refresh', { token: await goodToken({}, -60) });
    expect(expired).toMatchObject({ ok: false, error: { code: 'TOKEN_EXPIRED' } });
    expect(socket.connected).toBe(true);
    socket.close();
  });

  it('warns before expiry, then disconnects with TOKEN_EXPIRED', async () => {
    const { socket } = await connectClient(gateway.url, NAMESPACES.portfolio, { auth: { token: await goodToken({}, 3) } });
    const errors = collect<WireError>(socket, 'error');
    const expiring = await nextEvent<{ expiresAt: number }>(socket, 'auth:expiring', 4_000);
    expect(expiring.expiresAt).toBeGreaterThan(Date.now());
    const reason = await nextEvent<string>(socket, 'disconnect', 5_000);
    expect(reason).toBe('io server disconnect');
    expect(errors.map((e) => e.code)).toContain('TOKEN_EXPIRED');
  });

  it('answers a malformed request with INVALID_REQUEST and keeps the connection', async () => {
    const { socket } = await connectClient(gateway.url, NAMESPACES.marketData, { auth: { token: await goodToken() } });
    for (const bad of [undefined, 'text', { instruments: 'NASDAQ:AAPL', channels: ['quote'] }, { instruments: ['NASDAQ:AAPL'], channels: ['level3'] }, { instruments: ['NASDAQ:AAPL'], channels: ['quote'], extra: 1 }]) {
      const answer = await requestRaw(socket, 'subscribe', bad);
      expect(answer).toMatchObject({ ok: false, error: { code: 'INVALID_REQUEST', status: 400 } });
    }
    // Without an ack the refusal comes as an `error` event.
    const errorEvent = nextEvent<WireError>(socket, 'error');
    unchecked(socket).emit('subscribe', { instruments: [42] });
    expect((await errorEvent).code).toBe('INVALID_REQUEST');
    const ok = await request(socket, 'ping', {});
    expect(ok.ok).toBe(true);
    socket.close();
  });

  it('refuses an oversized frame with INVALID_REQUEST without harming the connection or others', async () => {
    const token = await goodToken();
    const big = await connectClient(gateway.url, NAMESPACES.marketData, { auth: { token } });
    const bystander = await connectClient(gateway.url, NAMESPACES.marketData, { auth: { token } });
    const answer = await requestRaw(big.socket, 'subscribe', { instruments: ['NASDAQ:AAPL'], channels: ['quote'], padding: 'x'.repeat(100_000) });
    expect(answer).toMatchObject({ ok: false, error: { code: 'INVALID_REQUEST' } });
    expect((await request(big.socket, 'ping', {})).ok).toBe(true);
    expect((await request(bystander.socket, 'ping', {})).ok).toBe(true);
    // Above the transport cap the offender alone is cut off.
    const closed = nextEvent<string>(big.socket, 'disconnect', 5_000);
    unchecked(big.socket).emit('ping', { padding: 'y'.repeat(2_100_000) });
    expect(await closed).toMatch(/transport/);
    await sleep(100);
    expect((await request(bystander.socket, 'ping', {})).ok).toBe(true);
    bystander.socket.close();
  });

  it('negotiates permessage-deflate without context takeover, so small frames stay uncompressed', async () => {
    // A browser-like offer; the answer is in the 101 response's Sec-WebSocket-Extensions header.
    const extensions = await new Promise<string>((resolve, reject) => {
      const upgrade = httpRequest(`${gateway.url}/socket.io/?EIO=4&transport=websocket`, {
        headers: {
          connection: 'Upgrade',
          upgrade: 'websocket',
          'sec-websocket-version': '13',
          'sec-websocket-key': randomBytes(16).toString('base64'),
          'sec-websocket-extensions': 'permessage-deflate; client_max_window_bits',
        },
      });
      upgrade.once('upgrade', (response, socket) => {
        socket.destroy();
        resolve(String(response.headers['sec-websocket-extensions'] ?? ''));
      });
      upgrade.once('error', reject);
      upgrade.end();
    });
    expect(extensions).toContain('permessage-deflate');
    expect(extensions).toContain('server_no_context_takeover');
    expect(extensions).toContain('server_max_window_bits=10');
  });

  it('protects HTTP admin endpoints with passport-jwt and roles', async () => {
    expect((await fetch(`${gateway.url}/admin/connections`)).status).toBe(401);
    const viewer = await fetch(`${gateway.url}/admin/connections`, { headers: { authorization: `Bearer ${await goodToken()}` } });
    expect(viewer.status).toBe(403);
    const admin = await fetch(`${gateway.url}/admin/connections`, { headers: { authorization: `Bearer ${await goodToken({ roles: ['admin'] })}` } });
    expect(admin.status).toBe(200);
    const body = (await admin.json()) as { requestedBy: string; namespaces: Record<string, unknown> };
    expect(body.requestedBy).toBe('user-1');
    expect(Object.keys(body.namespaces)).toEqual(expect.arrayContaining([...ALL_NAMESPACES]));
    const expired = await fetch(`${gateway.url}/admin/connections`, { headers: { authorization: `Bearer ${await goodToken({ roles: ['admin'] }, -60)}` } });
    expect(expired.status).toBe(401);
  });
});
