import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from './project-root.js';

/**
 * The one HAProxy configuration of the project is docker/haproxy.cfg. Everything else that runs HAProxy — `npm run
 * cluster`, the end-to-end tests, the bench — renders that file with only what the container network provides
 * replaced: the listeners' addresses, the replicas' addresses instead of their DNS names, the certificate's path, the
 * connection ceiling the machine's descriptor limit allows, and (for tests) the health-check timing. Each replacement
 * must match exactly once, so an edit of the file that a local fleet would no longer follow fails loudly instead.
 */
export const DOCKER_HAPROXY_CONFIG = join(PROJECT_ROOT, 'docker', 'haproxy.cfg');

/** Debian installs it in /usr/sbin, which is often not on a user's PATH. */
export const HAPROXY_BINARY = existsSync('/usr/sbin/haproxy') ? '/usr/sbin/haproxy' : 'haproxy';

/** How HAProxy checks each replica's readiness: every `intervalMs`; out after `fall` failures, back after `rise` successes. */
export interface HealthCheckTiming {
  intervalMs: number;
  fall: number;
  rise: number;
}

/** docker/haproxy.cfg's own `default-server check inter 2s fall 2 rise 2`. */
export const DOCKER_HEALTH_CHECK: HealthCheckTiming = { intervalMs: 2_000, fall: 2, rise: 2 };

export interface HaproxyBackend {
  /** The `server` name, which is also its stickiness cookie value: `gateway-1`, `gateway-2`, … as in docker/. */
  name: string;
  host: string;
  port: number;
}

export interface LocalHaproxyOptions {
  /** The plain HTTP listener (docker/: `:8080`). */
  http: { host: string; port: number };
  /** The TLS listener (docker/: `:8443`): the PEM file with the certificate chain and its key. Absent: no TLS listener. */
  tls?: { host: string; port: number; certificateFile: string };
  /** The statistics page, `/stats` (docker/: `:8404`); its `/stats;csv` says what HAProxy thinks of each replica. */
  stats: { host: string; port: number };
  backends: readonly HaproxyBackend[];
  /**
   * `global maxconn`. docker/ allows 100,000, which needs about 200,000 descriptors; by default the most the process's
   * descriptor limit allows (`maxConnectionsForDescriptorLimit`).
   */
  maxConnections?: number;
  /** docker/'s timing unless given: a test shortens it so that a replica leaves and rejoins the pool in a blink. */
  healthCheck?: HealthCheckTiming;
}

/** docker/haproxy.cfg rendered for replicas on this machine. */
export function renderHaproxyConfig(options: LocalHaproxyOptions, source = readFileSync(DOCKER_HAPROXY_CONFIG, 'utf8')): string {
  if (options.backends.length === 0) throw new Error('HAProxy needs at least one replica');
  let config = source;
  const replace = (pattern: RegExp, replacement: string | ((groups: (string | undefined)[]) => string)) => {
    const matches = config.match(new RegExp(pattern.source, 'gm'))?.length ?? 0;
    const found = new RegExp(pattern.source, 'm').exec(config);
    if (matches !== 1 || !found) throw new Error(`docker/haproxy.cfg: expected one match of ${String(pattern)}, found ${matches}`);
    // Spliced in, not String.replace: a `$` in a path must never be read as a replacement pattern.
    const text = typeof replacement === 'string' ? replacement : replacement(found.slice(1));
    config = config.slice(0, found.index) + text + config.slice(found.index + found[0].length);
  };
  const check = options.healthCheck ?? DOCKER_HEALTH_CHECK;
  replace(/^ {2}maxconn \d+$/, `  maxconn ${options.maxConnections ?? maxConnectionsForDescriptorLimit()}`);
  replace(/^ {2}bind :8080$/, `  bind ${options.http.host}:${options.http.port}`);
  // The TLS listener keeps everything after the certificate (ALPN): only the address and the file's path are local.
  const tls = options.tls;
  replace(/^ {2}bind :8443 ssl crt \S+(.*)$/, ([tail]) => (tls ? `  bind ${tls.host}:${tls.port} ssl crt ${tls.certificateFile}${tail ?? ''}` : ''));
  replace(/^ {2}bind :8404$/, `  bind ${options.stats.host}:${options.stats.port}`);
  // Addresses are literal here: no container DNS to resolve them (docker/'s `resolvers docker` is left unused).
  replace(/^ {2}default-server .*$/, `  default-server check inter ${check.intervalMs}ms fall ${check.fall} rise ${check.rise}`);
  replace(
    /^ {2}server gateway-1 .*\n {2}server gateway-2 .*$/,
    options.backends.map((backend) => `  server ${backend.name} ${backend.host}:${backend.port} cookie ${backend.name}`).join('\n'),
  );
  return config;
}

/**
 * The largest `maxconn` this machine's descriptor limit allows: HAProxy needs two descriptors per connection (client
 * and replica side) and refuses to start if it cannot raise its limit that far. Read from /proc on Linux; elsewhere a
 * modest 5,000.
 */
export function maxConnectionsForDescriptorLimit(): number {
  try {
    const limits = readFileSync('/proc/self/limits', 'utf8');
    const hard = /^Max open files\s+\S+\s+(\S+)/m.exec(limits)?.[1];
    if (hard === 'unlimited') return 100_000;
    const descriptors = Number(hard);
    // A few hundred for listeners, checks, logs and the stats page.
    if (Number.isFinite(descriptors)) return Math.max(100, Math.min(100_000, Math.floor((descriptors - 500) / 2)));
  } catch {
    // Not Linux: fall through.
  }
  return 5_000;
}

/** `haproxy -c` on a configuration: its exit status and what it printed. */
export function checkHaproxyConfig(config: string): { status: number | null; output: string } {
  const dir = mkdtempSync(join(tmpdir(), 'tradewire-haproxy-check-'));
  try {
    const file = join(dir, 'haproxy.cfg');
    writeFileSync(file, config);
    const result = spawnSync(HAPROXY_BINARY, ['-c', '-f', file], { encoding: 'utf8' });
    return { status: result.status, output: `${result.stdout}${result.stderr}${result.error ? String(result.error) : ''}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
