import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, ManagedProcess, waitFor } from './processes.js';

/** Debian installs it in /usr/sbin, often not on a user's PATH. */
const HAPROXY = existsSync('/usr/sbin/haproxy') ? '/usr/sbin/haproxy' : 'haproxy';
export const DOCKER_CONFIG = fileURLToPath(new URL('../../docker/haproxy.cfg', import.meta.url));

/**
 * A real HAProxy in front of gateway replicas, configured as docker/haproxy.cfg (source balancing with consistent
 * hashing, readiness checks, redispatch on a failed connect), with checks tight enough for a test: a replica that
 * stops being ready leaves the pool within about 200 ms.
 */
export class LoadBalancer {
  private constructor(
    readonly port: number,
    readonly process: ManagedProcess,
    private readonly dir: string,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The port of docker/haproxy.cfg's TLS listener, when started from it (`fromDockerConfig`). */
  tlsPort?: number;

  /**
   * docker/haproxy.cfg itself, with only what the container network provides replaced: the listeners on loopback
   * ports, the replicas' addresses instead of their DNS names, the TLS certificate's path, and checks tight enough for
   * a test. Each replacement must match exactly once, so a change to the file that a test would no longer see fails.
   */
  static async fromDockerConfig(backendPorts: number[], options: { certificateFile: string }): Promise<LoadBalancer> {
    const [port, tlsPort, statsPort] = [await freePort(), await freePort(), await freePort()];
    let config = readFileSync(DOCKER_CONFIG, 'utf8');
    const replace = (pattern: RegExp, replacement: string) => {
      const matches = config.match(new RegExp(pattern.source, 'gm'))?.length ?? 0;
      if (matches !== 1) throw new Error(`docker/haproxy.cfg: expected one match of ${String(pattern)}, found ${matches}`);
      config = config.replace(new RegExp(pattern.source, 'm'), replacement);
    };
    replace(/^ {2}maxconn \d+$/, '  maxconn 5000');
    replace(/^ {2}bind :8080$/, `  bind 127.0.0.1:${port}`);
    replace(/^ {2}bind :8443 ssl crt \S+/, `  bind 127.0.0.1:${tlsPort} ssl crt ${options.certificateFile}`);
    replace(/^ {2}bind :8404$/, `  bind 127.0.0.1:${statsPort}`);
    replace(/^ {2}default-server .*$/, '  default-server check inter 100ms fall 1 rise 1');
    replace(/^ {2}server gateway-1 .*\n {2}server gateway-2 .*$/, backendPorts.map((backend, i) => `  server gateway-${i + 1} 127.0.0.1:${backend} cookie gateway-${i + 1}`).join('\n'));
    const balancer = await LoadBalancer.run(port, config);
    balancer.tlsPort = tlsPort;
    return balancer;
  }

  /** `haproxy -c` on a configuration: its exit code and what it printed. */
  static check(config: string): { status: number | null; output: string } {
    const dir = mkdtempSync(join(tmpdir(), 'tradewire-haproxy-check-'));
    try {
      const file = join(dir, 'haproxy.cfg');
      writeFileSync(file, config);
      const result = spawnSync(HAPROXY, ['-c', '-f', file], { encoding: 'utf8' });
      return { status: result.status, output: `${result.stdout}${result.stderr}` };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  static async start(backendPorts: number[]): Promise<LoadBalancer> {
    const port = await freePort();
    const servers = backendPorts.map((backend, i) => `  server gateway-${i + 1} 127.0.0.1:${backend} check inter 100ms fall 1 rise 1`).join('\n');
    const config = `global
  # Each client costs two descriptors (client and server side); stay within a default 20,000 soft limit.
  maxconn 5000

defaults
  mode http
  # A connect refused by a replica that just died is retried at once on another: HAProxy waits min(timeout connect,
  # 1 s) before a retry, which on loopback can be short.
  option redispatch 1
  retries 2
  timeout connect 100ms
  timeout client 60s
  timeout server 60s
  timeout http-request 10s
  timeout tunnel 1h

frontend tradewire
  bind 127.0.0.1:${port}
  default_backend gateways

backend gateways
  balance source
  hash-type consistent
  option httpchk
  http-check send meth GET uri /health/ready
  http-check expect status 200
${servers}
`;
    return LoadBalancer.run(port, config);
  }

  private static async run(port: number, config: string): Promise<LoadBalancer> {
    const dir = mkdtempSync(join(tmpdir(), 'tradewire-haproxy-'));
    const file = join(dir, 'haproxy.cfg');
    writeFileSync(file, config);
    // -db: in the foreground, so the test owns the process.
    const child = new ManagedProcess(spawn(HAPROXY, ['-db', '-f', file], { stdio: 'pipe' }));
    const balancer = new LoadBalancer(port, child, dir);
    try {
      await waitFor(`haproxy on ${port} routing to a ready gateway`, async () => {
        if (!child.running) throw new Error(`haproxy exited:\n${child.output}`);
        const response = await fetch(`${balancer.url}/health/ready`);
        return response.status === 200 ? true : undefined;
      });
    } catch (error) {
      await balancer.stop();
      throw error;
    }
    return balancer;
  }

  async stop(): Promise<void> {
    await this.process.stop('SIGTERM');
    rmSync(this.dir, { recursive: true, force: true });
  }
}
