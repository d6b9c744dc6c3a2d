import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { exportJWK, exportSPKI, generateKeyPair, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NAMESPACES, type SystemPayload } from '#libs/contracts';
import { connectClient, expectRefused, GatewayProcess, nextEvent, sleep, unchecked } from './support/gateway.js';
import { freePort, ManagedProcess } from './support/processes.js';
import { asymmetricToken, hsToken } from './support/tokens.js';

/** Every line of a Prometheus text exposition is a comment, blank, or `name{labels} value`. */
function parseExposition(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# HELP ') || line.startsWith('# TYPE ')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})?) (-?[0-9.e+-]+|NaN|\+Inf|-Inf)$/.exec(line);
    if (!match) throw new Error(`not a valid exposition line: ${line}`);
    samples.set(match[1], Number(match[3]));
  }
  return samples;
}

describe('health, metrics and graceful shutdown', () => {
  it('answers the probes and a parseable /metrics', async () => {
    const gateway = await GatewayProcess.start({ ENGINE_TRANSPORT: 'simulator', SIMULATOR: 'on', SIMULATOR_RATE: '500' });
    try {
      const live = await fetch(`${gateway.url}/health/live`);
      expect(live.status).toBe(200);
      const ready = (await (await fetch(`${gateway.url}/health/ready`)).json()) as { status: string; details: Record<string, unknown> };
      expect(ready.status).toBe('ok');
      expect(Object.keys(ready.details)).toEqual(expect.arrayContaining(['engine', 'eventLoop', 'heap']));
      const { socket } = await connectClient(gateway.url, NAMESPACES.marketData, { auth: { token: await hsToken() } });
      // Without an ack, as a fire-and-forget client would: the stream starts all the same.
      unchecked(socket).emit('subscribe', { instruments: ['NASDAQ:AAPL', 'BINANCE:BTCUSDT'], channels: ['quote', 'trade'] });
      await nextEvent(socket, 'md', 5_000);
      const ws = (await (await fetch(`${gateway.url}/health/websocket`)).json()) as { namespaces: Record<string, { connections: number; uniqueUsers: number }>; cluster: { source: string; nodes: number; connections: number }; uptimeSeconds: number };
      expect(ws.namespaces[NAMESPACES.marketData]).toEqual({ connections: 1, uniqueUsers: 1 });
      // Without Redis the fleet is this replica alone.
      expect(ws.cluster).toMatchObject({ source: 'local', nodes: 1, connections: 1 });
      const samples = parseExposition(await gateway.metrics());
      expect(samples.get('tradewire_connections{namespace="/market-data"}')).toBe(1);
      expect(samples.get('tradewire_handshakes_total{namespace="/market-data",outcome="ok"}')).toBe(1);
      expect(samples.get('tradewire_subscriptions{namespace="/market-data"}')).toBe(4);
      expect(samples.get('tradewire_engine_events_total{kind="quote",transport="simulator"}')).toBeGreaterThan(0);
      expect(samples.get('tradewire_messages_sent_total{namespace="/market-data",event="md"}')).toBeGreaterThan(0);
      expect(samples.get('tradewire_bytes_sent_total{namespace="/market-data"}')).toBeGreaterThan(0);
      expect(samples.get('tradewire_e2e_latency_seconds_count{namespace="/market-data"}')).toBeGreaterThan(0);
      expect(samples.get('tradewire_ready')).toBe(1);
      expect([...samples.keys()].some((k) => k.startsWith('process_cpu_user_seconds_total'))).toBe(true);
      expect([...samples.keys()].some((k) => k.startsWith('nodejs_eventloop_lag'))).toBe(true);
      socket.close();
    } finally {
      await gateway.stop();
    }
  });

  it('drains on SIGTERM: not ready, system shutdown, disconnect, exit 0 within 10 s', async () => {
    const gateway = await GatewayProcess.start({ ENGINE_TRANSPORT: 'simulator', SIMULATOR: 'on', DRAIN_DELAY_MS: '1000', SHUTDOWN_RECONNECT_WINDOW_MS: '700' });
    const clients = await Promise.all([NAMESPACES.marketData, NAMESPACES.orders].map(async (ns) => connectClient(gateway.url, ns, { auth: { token: await hsToken() } })));
    const notices = clients.map((c) => nextEvent<SystemPayload>(c.socket, 'system', 8_000));
    const disconnects = clients.map((c) => nextEvent<string>(c.socket, 'disconnect', 8_000));
    const started = Date.now();
    gateway.process.child.kill('SIGTERM');
    await sleep(200);
    const duringDrain = await fetch(`${gateway.url}/health/ready`);
    expect(duringDrain.status).toBe(503);
    expect((await fetch(`${gateway.url}/health/live`)).status).toBe(200);
    // Clients are told to come back within SHUTDOWN_RECONNECT_WINDOW_MS.
    for (const notice of await Promise.all(notices)) expect(notice).toMatchObject({ type: 'shutdown', reconnectInMs: 700 });
    for (const reason of await Promise.all(disconnects)) expect(reason).toBe('io server disconnect');
    const exit = await gateway.process.exited;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});

describe('configuration is validated at start', () => {
  async function startExpectingFailure(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
    const child = new ManagedProcess(spawn(process.execPath, ['dist/src/main.js'], { env: { PATH: process.env.PATH ?? '', PORT: String(await freePort()), ...env }, stdio: 'pipe' }));
    const { code } = await child.exited;
    return { code, output: child.output };
  }

  it('stops with a message naming each bad variable', async () => {
    const bad = await startExpectingFailure({ PORT: 'abc', LOG_LEVEL: 'chatty', NATS_URL: 'http://x' });
    expect(bad.code).toBe(1);
    expect(bad.output).toMatch(/PORT/);
    expect(bad.output).toMatch(/LOG_LEVEL/);
    expect(bad.output).toMatch(/NATS_URL/);
    const production = await startExpectingFailure({ NODE_ENV: 'production', NATS_URL: 'nats://127.0.0.1:4222' });
    expect(production.code).toBe(1);
    expect(production.output).toMatch(/JWT_SECRET, JWT_PUBLIC_KEY or JWT_JWKS_URL is required/);
  });
});

describe('asymmetric keys', () => {
  let jwksServer: Server;
  let jwksUrl: string;
  let served: JWK[] = [];

  beforeAll(async () => {
    const port = await freePort();
    jwksServer = createServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: served }));
    });
    await new Promise<void>((resolve) => jwksServer.listen(port, '127.0.0.1', resolve));
    jwksUrl = `http://127.0.0.1:${port}/.well-known/jwks.json`;
  });
  afterAll(async () => {
    await new Promise((resolve) => jwksServer.close(resolve));
  });

  it('verifies RS256 from a JWKS URL and follows a key rotation (unknown kid refetches)', async () => {
    const first = await generateKeyPair('RS256', { extractable: true });
    served = [{ ...(await exportJWK(first.publicKey)), kid: 'key-1', alg: 'RS256', use: 'sig' }];
    const gateway = await GatewayProcess.start({ ENGINE_TRANSPORT: 'simulator', JWT_SECRET: '', JWT_JWKS_URL: jwksUrl });
    try {
      const one = await connectClient(gateway.url, NAMESPACES.orders, { auth: { token: await asymmetricToken(first.privateKey, 'RS256', 'key-1') } });
      expect(one.welcome.userId).toBe('user-1');
      one.socket.close();
      // The identity provider rotates to a new key: tokens signed with it must work without a restart.
      const second = await generateKeyPair('ES256', { extractable: true });
      served = [{ ...(await exportJWK(second.publicKey)), kid: 'key-2', alg: 'ES256', use: 'sig' }];
      const two = await connectClient(gateway.url, NAMESPACES.orders, { auth: { token: await asymmetricToken(second.privateKey, 'ES256', 'key-2', { sub: 'user-2' }) } });
      expect(two.welcome.userId).toBe('user-2');
      two.socket.close();
      const unknown = await generateKeyPair('RS256');
      const refusal = await expectRefused(gateway.url, NAMESPACES.orders, { auth: { token: await asymmetricToken(unknown.privateKey, 'RS256', 'key-9') } });
      expect(refusal.data.code).toBe('UNAUTHORIZED');
    } finally {
      await gateway.stop();
    }
  });

  it('verifies ES256 with a configured public key', async () => {
    const pair = await generateKeyPair('ES256', { extractable: true });
    const gateway = await GatewayProcess.start({ ENGINE_TRANSPORT: 'simulator', JWT_SECRET: '', JWT_PUBLIC_KEY: await exportSPKI(pair.publicKey) });
    try {
      const ok = await connectClient(gateway.url, NAMESPACES.positions, { auth: { token: await asymmetricToken(pair.privateKey, 'ES256', undefined) } });
      expect(ok.welcome.namespace).toBe(NAMESPACES.positions);
      ok.socket.close();
      const other = await generateKeyPair('ES256');
      const refusal = await expectRefused(gateway.url, NAMESPACES.positions, { auth: { token: await asymmetricToken(other.privateKey, 'ES256', undefined) } });
      expect(refusal).toMatchObject({ message: 'UNAUTHORIZED', data: { code: 'UNAUTHORIZED', status: 401 } });
    } finally {
      await gateway.stop();
    }
  });
});
