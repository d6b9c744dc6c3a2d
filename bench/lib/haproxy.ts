import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HAPROXY_BINARY, renderHaproxyConfig } from '../../src/cluster/haproxy-config.js';
import { type CoreLayout, freePort, requirePid, spawnProcess, stopProcess, waitForHttpOk } from './processes.js';

/**
 * A throwaway HAProxy in front of gateway replicas: docker/haproxy.cfg itself (rendered by src/cluster/haproxy-config
 * with local listeners and addresses), so the bench measures the production balancing, checks (readiness every 2 s,
 * out after 2 failures) and redispatch of a refused connect to another replica.
 */
export interface LoadBalancer {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

export async function startLoadBalancer(runDir: string, backendPorts: number[], layout: CoreLayout, maxConnections: number): Promise<LoadBalancer> {
  const [port, statsPort] = [await freePort(), await freePort()];
  const configFile = join(runDir, 'haproxy.cfg');
  writeFileSync(
    configFile,
    renderHaproxyConfig({
      http: { host: '127.0.0.1', port },
      stats: { host: '127.0.0.1', port: statsPort },
      backends: backendPorts.map((backend, i) => ({ name: `gateway-${i + 1}`, host: '127.0.0.1', port: backend })),
      maxConnections,
    }),
  );
  const logFile = join(runDir, 'haproxy.log');
  const child = spawnProcess(HAPROXY_BINARY, ['-db', '-f', configFile], { cpus: layout.loadCpus, layout, logFile });
  const url = `http://127.0.0.1:${port}`;
  await waitForHttpOk(`${url}/health/ready`, child, logFile, 10_000);
  return { url, pid: requirePid(child, 'haproxy'), stop: () => stopProcess(child) };
}
