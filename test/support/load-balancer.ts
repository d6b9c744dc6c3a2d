import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HAPROXY_BINARY, renderHaproxyConfig } from '../../src/cluster/haproxy-config.js';
import { freePort, ManagedProcess, waitFor } from './processes.js';

/** Tight enough for a test: a replica that stops being ready leaves the pool within about 200 ms. */
const TEST_HEALTH_CHECK = { intervalMs: 100, fall: 1, rise: 1 };

/**
 * A real HAProxy in front of gateway replicas, configured as docker/haproxy.cfg (rendered by src/cluster/haproxy-config:
 * source balancing with consistent hashing and a cookie, readiness checks, redispatch of a refused connect), with only
 * the listeners, the replicas' addresses and the checks' timing local.
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

  /** The port of the TLS listener, when started with a certificate. */
  tlsPort?: number;

  /** docker/haproxy.cfg in front of `backendPorts`; with `certificateFile`, its TLS listener too. */
  static async start(backendPorts: number[], options: { certificateFile?: string } = {}): Promise<LoadBalancer> {
    const [port, tlsPort, statsPort] = [await freePort(), await freePort(), await freePort()];
    const config = renderHaproxyConfig({
      http: { host: '127.0.0.1', port },
      tls: options.certificateFile === undefined ? undefined : { host: '127.0.0.1', port: tlsPort, certificateFile: options.certificateFile },
      stats: { host: '127.0.0.1', port: statsPort },
      backends: backendPorts.map((backend, i) => ({ name: `gateway-${i + 1}`, host: '127.0.0.1', port: backend })),
      // Each client costs two descriptors (client and server side); stay well within a default 20,000 limit.
      maxConnections: 5_000,
      healthCheck: TEST_HEALTH_CHECK,
    });
    const balancer = await LoadBalancer.run(port, config);
    if (options.certificateFile !== undefined) balancer.tlsPort = tlsPort;
    return balancer;
  }

  private static async run(port: number, config: string): Promise<LoadBalancer> {
    const dir = mkdtempSync(join(tmpdir(), 'tradewire-haproxy-'));
    const file = join(dir, 'haproxy.cfg');
    writeFileSync(file, config);
    // -db: in the foreground, so the test owns the process.
    const child = new ManagedProcess(spawn(HAPROXY_BINARY, ['-db', '-f', file], { stdio: 'pipe' }));
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
