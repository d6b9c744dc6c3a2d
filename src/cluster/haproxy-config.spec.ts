import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkHaproxyConfig, DOCKER_HAPROXY_CONFIG, maxConnectionsForDescriptorLimit, renderHaproxyConfig, type LocalHaproxyOptions } from './haproxy-config.js';
import { PROJECT_ROOT } from './project-root.js';

const docker = readFileSync(DOCKER_HAPROXY_CONFIG, 'utf8');
let dir: string;
let certificateFile: string;

const local = (overrides: Partial<LocalHaproxyOptions> = {}): LocalHaproxyOptions => ({
  http: { host: '127.0.0.1', port: 18080 },
  tls: { host: '127.0.0.1', port: 18443, certificateFile },
  stats: { host: '127.0.0.1', port: 18404 },
  backends: [1, 2, 3].map((i) => ({ name: `gateway-${i}`, host: '127.0.0.1', port: 3010 + i })),
  maxConnections: 4_000,
  ...overrides,
});

/** The lines of a configuration that are not the ones a local rendering replaces. */
const LOCAL_LINES = /^ {2}(maxconn|bind|default-server|server) /;
const unreplaced = (config: string) => config.split('\n').filter((line) => !LOCAL_LINES.test(line) && line !== '');

describe('docker/haproxy.cfg rendered for a fleet on this machine (npm run cluster, tests, bench)', () => {
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tradewire-haproxy-spec-'));
    certificateFile = join(dir, 'tradewire.pem');
    const made = spawnSync('sh', [join(PROJECT_ROOT, 'docker', 'tls', 'make-self-signed.sh'), certificateFile], { encoding: 'utf8' });
    if (made.status !== 0) throw new Error(`make-self-signed.sh failed: ${made.stdout}${made.stderr}`);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('changes only the listeners, the connection ceiling, the checks and the replicas: every other line is docker/’s', () => {
    const config = renderHaproxyConfig(local());
    expect(unreplaced(config)).toEqual(unreplaced(docker));
    expect(config).toContain('  maxconn 4000\n');
    expect(config).toContain('  bind 127.0.0.1:18080\n');
    expect(config).toContain(`  bind 127.0.0.1:18443 ssl crt ${certificateFile} alpn h2,http/1.1\n`);
    expect(config).toContain('  bind 127.0.0.1:18404\n');
    expect(config).toContain('  default-server check inter 2000ms fall 2 rise 2\n');
    expect(config).toContain('  server gateway-1 127.0.0.1:3011 cookie gateway-1\n  server gateway-2 127.0.0.1:3012 cookie gateway-2\n  server gateway-3 127.0.0.1:3013 cookie gateway-3');
    expect(config).not.toContain('resolvers docker init-addr');
  });

  it('passes haproxy -c with TLS, without TLS, and with a test’s check timing', () => {
    for (const options of [local(), local({ tls: undefined }), local({ healthCheck: { intervalMs: 100, fall: 1, rise: 1 }, backends: [{ name: 'gateway-1', host: '127.0.0.1', port: 3011 }] })]) {
      const checked = checkHaproxyConfig(renderHaproxyConfig(options));
      expect(checked.output).toContain('Configuration file is valid');
      expect(checked.status).toBe(0);
    }
    expect(renderHaproxyConfig(local({ tls: undefined }))).not.toMatch(/ssl crt/);
  });

  it('fails loudly when docker/haproxy.cfg no longer has a line it replaces, or has it twice', () => {
    expect(() => renderHaproxyConfig(local(), docker.replace('  bind :8080\n', ''))).toThrow(/expected one match of .*bind :8080.*found 0/);
    expect(() => renderHaproxyConfig(local(), docker.replace('  bind :8404\n', '  bind :8404\n  bind :8404\n'))).toThrow(/found 2/);
    expect(() => renderHaproxyConfig(local({ backends: [] }))).toThrow(/at least one replica/);
  });

  it('keeps a path with $ in it as it is', () => {
    const odd = join(dir, 'a$1b.pem');
    expect(renderHaproxyConfig(local({ tls: { host: '127.0.0.1', port: 18443, certificateFile: odd } }))).toContain(`ssl crt ${odd} alpn`);
  });

  it('asks for no more connections than the descriptor limit allows (two descriptors each)', () => {
    const limit = /^Max open files\s+\S+\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1];
    const ceiling = maxConnectionsForDescriptorLimit();
    if (limit !== 'unlimited') expect(ceiling * 2).toBeLessThanOrEqual(Number(limit));
    expect(ceiling).toBeGreaterThanOrEqual(100);
    expect(ceiling).toBeLessThanOrEqual(100_000);
  });
});
