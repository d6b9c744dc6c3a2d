import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NAMESPACES } from '#libs/contracts';
import { connectClient, GatewayProcess, nextEvent, request } from './support/gateway.js';
import { FULL_LICENCE, hsToken } from './support/tokens.js';

const DOCKER_DIR = fileURLToPath(new URL('../docker/', import.meta.url));

/** `promtool check metrics` on an exposition: its findings, or '' when it has none. */
function promtoolFindings(exposition: string): string {
  try {
    execFileSync('promtool', ['check', 'metrics'], { input: exposition, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
    return '';
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new Error('promtool is not on the PATH: install Prometheus (Debian: apt-get install prometheus; .ci/run does it)');
    const { stdout, stderr, status } = error as { stdout?: string; stderr?: string; status?: number };
    return `exit ${String(status)}: ${stdout ?? ''}${stderr ?? ''}`;
  }
}

/** The metric families an exposition declares (`# TYPE name type`). */
function families(exposition: string): Map<string, string> {
  return new Map([...exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((match) => [match[1], match[2]]));
}

describe('/metrics of a real gateway', () => {
  let gateway: GatewayProcess;
  let exposition: string;

  beforeAll(async () => {
    gateway = await GatewayProcess.start({ ENGINE_TRANSPORT: 'simulator', SIMULATOR: 'on', SIMULATOR_RATE: '200' });
    // Traffic first, so that labelled series (latency histograms, usage per tenant, requests) are in the scrape.
    const { socket } = await connectClient(gateway.url, NAMESPACES.marketData, { auth: { token: await hsToken({ lic: FULL_LICENCE }) } });
    await request(socket, 'subscribe', { instruments: ['NASDAQ:AAPL', 'BINANCE:BTCUSDT'], channels: ['quote', 'trade', 'book'] });
    await nextEvent(socket, 'md', 5_000);
    await request(socket, 'ping', {});
    exposition = await gateway.metrics();
    socket.close();
  });
  afterAll(async () => {
    await gateway.stop();
  });

  it('passes promtool check metrics', () => {
    expect(exposition).toMatch(/^tradewire_e2e_latency_seconds_bucket\{/m);
    expect(promtoolFindings(exposition)).toBe('');
  });

  it('names no gauge like a counter, and keeps the per-type process gauges', () => {
    const declared = families(exposition);
    expect([...declared].filter(([name, type]) => name.endsWith('_total') && type !== 'counter')).toEqual([]);
    expect(declared.get('nodejs_active_handles')).toBe('gauge');
    expect(declared.get('nodejs_active_requests')).toBe('gauge');
  });

  it.each([
    ['the alert rules', 'prometheus/alerts.yml'],
    ['the Grafana dashboard', 'grafana/dashboards/tradewire.json'],
  ])('%s use only process and runtime metrics the gateway exports', (_what, file) => {
    const used = new Set(readFileSync(`${DOCKER_DIR}${file}`, 'utf8').match(/\b(?:nodejs|process)_[a-z0-9_]+/g) ?? []);
    const declared = families(exposition);
    const exported = new Set([...declared.keys()].flatMap((name) => [name, `${name}_bucket`, `${name}_sum`, `${name}_count`]));
    expect([...used].filter((name) => !exported.has(name))).toEqual([]);
  });
});
