import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatewayProcess } from './support/gateway.js';
import { freePort, ManagedProcess } from './support/processes.js';
import { hsToken } from './support/tokens.js';

const METRICS_TOKEN = 'scrape-token-of-at-least-32-characters-long';

/** What every HTTP answer of the gateway must carry, whatever answers it (Express, Nest, Socket.IO, the metrics port). */
function expectSecurityHeaders(headers: Headers, what: string): void {
  expect(headers.get('x-content-type-options'), what).toBe('nosniff');
  expect(headers.get('x-frame-options'), what).toBe('DENY');
  expect(headers.get('referrer-policy'), what).toBe('no-referrer');
  expect(headers.get('x-powered-by'), what).toBeNull();
  const csp = headers.get('content-security-policy') ?? '';
  const directives = new Map(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([name = '', ...values]) => [name, values]));
  expect(directives.get('default-src'), what).toEqual(["'self'"]);
  expect(directives.get('script-src'), what).toEqual(["'self'"]);
  expect(directives.get('style-src'), what).toEqual(["'self'"]);
  expect(directives.get('frame-ancestors'), what).toEqual(["'none'"]);
  expect(directives.get('object-src'), what).toEqual(["'none'"]);
  expect(directives.get('connect-src')?.[0], what).toBe("'self'");
  expect(csp, what).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
}

describe('HTTP hardening on the main port', () => {
  let gateway: GatewayProcess;

  beforeAll(async () => {
    gateway = await GatewayProcess.start({ ENGINE_TRANSPORT: 'simulator', METRICS_TOKEN });
  });
  afterAll(async () => {
    await gateway.stop();
  });

  it('sends the security headers on every answer: dashboard, health, admin, errors, metrics and Socket.IO', async () => {
    const admin = `Bearer ${await hsToken({ roles: ['admin'] })}`;
    const answers: [string, RequestInit?][] = [
      ['/'],
      ['/app.js'],
      ['/health/live'],
      ['/health/ready'],
      ['/admin/connections'],
      ['/admin/connections', { headers: { authorization: admin } }],
      ['/no-such-page'],
      ['/metrics'],
      ['/metrics', { headers: { authorization: `Bearer ${METRICS_TOKEN}` } }],
      ['/socket.io/socket.io.js'],
      ['/socket.io/?EIO=4&transport=polling'],
    ];
    for (const [path, init] of answers) {
      const response = await fetch(`${gateway.url}${path}`, init);
      await response.arrayBuffer();
      expectSecurityHeaders(response.headers, `${path} (${response.status})`);
      // Plain HTTP from an untrusted peer: no HSTS, even when the request claims https.
      expect(response.headers.get('strict-transport-security'), path).toBeNull();
    }
    const claimed = await fetch(`${gateway.url}/health/live`, { headers: { 'x-forwarded-proto': 'https' } });
    expect(claimed.headers.get('strict-transport-security')).toBeNull();
  });

  it('lets the WebSocket of the same host through the CSP', async () => {
    const response = await fetch(`${gateway.url}/`);
    const connect = /connect-src ([^;]+)/.exec(response.headers.get('content-security-policy') ?? '')?.[1]?.split(' ');
    expect(connect).toEqual(["'self'", `ws://127.0.0.1:${gateway.port}`, `wss://127.0.0.1:${gateway.port}`]);
  });

  it('serves a dashboard that runs under that CSP: no inline script, style or handler', async () => {
    const html = await (await fetch(`${gateway.url}/`)).text();
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attributes = '', body = ''] of scripts) {
      expect(attributes).toMatch(/\bsrc="\/?[^":]+"/); // from the gateway itself
      expect(body.trim()).toBe('');
    }
    expect(html).not.toMatch(/<style\b|\sstyle=|\son[a-z]+=|javascript:/i);
    // Style sheets and icons from the gateway itself (or inline data, which img-src allows).
    for (const [, href = ''] of html.matchAll(/<link\b[^>]*\bhref="([^"]+)"/gi)) expect(href).not.toMatch(/^(?!data:)[a-z]+:|^\/\//i);
  });

  it('asks for the bearer token on /metrics when METRICS_TOKEN is set', async () => {
    const none = await fetch(`${gateway.url}/metrics`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="metrics"');
    const body = await none.text();
    expect(JSON.parse(body)).toMatchObject({ code: 'UNAUTHORIZED', status: 401 });
    expect(body).not.toMatch(/tradewire_/);
    const wrong = await fetch(`${gateway.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}x` } });
    expect(wrong.status).toBe(401);
    const right = await fetch(`${gateway.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(right.status).toBe(200);
    expect(right.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(await right.text()).toMatch(/^tradewire_ready 1$/m);
  });
});

describe('HTTP hardening behind a TLS proxy, with /metrics on a port of its own', () => {
  let gateway: GatewayProcess;
  let metricsPort: number;

  beforeAll(async () => {
    metricsPort = await freePort();
    gateway = await GatewayProcess.start({ ENGINE_TRANSPORT: 'simulator', TRUSTED_PROXIES: '127.0.0.1', METRICS_PORT: String(metricsPort) });
  });
  afterAll(async () => {
    await gateway.stop();
  });

  it('sends HSTS when a trusted proxy says the client came over TLS, and only then', async () => {
    const viaTls = await fetch(`${gateway.url}/health/live`, { headers: { 'x-forwarded-proto': 'https' } });
    expect(viaTls.headers.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains');
    expectSecurityHeaders(viaTls.headers, 'behind TLS');
    const viaPlain = await fetch(`${gateway.url}/health/live`, { headers: { 'x-forwarded-proto': 'http' } });
    expect(viaPlain.headers.get('strict-transport-security')).toBeNull();
    const direct = await fetch(`${gateway.url}/health/live`);
    expect(direct.headers.get('strict-transport-security')).toBeNull();
  });

  it('serves /metrics on METRICS_PORT only, with the same headers', async () => {
    const main = await fetch(`${gateway.url}/metrics`);
    expect(main.status).toBe(404);
    expect(await main.text()).not.toMatch(/tradewire_/);
    const scrape = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(scrape.status).toBe(200);
    expect(await scrape.text()).toMatch(/^tradewire_ready 1$/m);
    expectSecurityHeaders(scrape.headers, 'metrics port');
    const other = await fetch(`http://127.0.0.1:${metricsPort}/health/ready`);
    expect(other.status).toBe(404);
    expectSecurityHeaders(other.headers, 'metrics port, other path');
  });

  it('refuses to start with METRICS_PORT equal to PORT, or a short METRICS_TOKEN', async () => {
    const port = String(await freePort());
    for (const env of [{ PORT: port, METRICS_PORT: port }, { PORT: port, METRICS_TOKEN: 'short' }]) {
      const child = new ManagedProcess(spawn(process.execPath, ['dist/src/main.js'], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: 'pipe' }));
      const { code } = await child.exited;
      expect(code).toBe(1);
      expect(child.output).toMatch(/METRICS_(PORT|TOKEN)/);
    }
  });
});
