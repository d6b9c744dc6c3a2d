import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, ManagedProcess, waitFor } from './processes.js';

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

  static async start(backendPorts: number[]): Promise<LoadBalancer> {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'tradewire-haproxy-'));
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
    const file = join(dir, 'haproxy.cfg');
    writeFileSync(file, config);
    // -db: in the foreground, so the test owns the process. Debian installs it in /usr/sbin, often not on a user's PATH.
    const child = new ManagedProcess(spawn(existsSync('/usr/sbin/haproxy') ? '/usr/sbin/haproxy' : 'haproxy', ['-db', '-f', file], { stdio: 'pipe' }));
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
