import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type CoreLayout, freePort, spawnProcess, stopProcess, waitForHttpOk } from './processes.js';

/** A throwaway HAProxy in front of gateway replicas, balanced as docker/haproxy.cfg does, with fast readiness checks. */
export interface LoadBalancer {
  url: string;
  stop(): Promise<void>;
}

export async function startLoadBalancer(runDir: string, backendPorts: number[], layout: CoreLayout, maxConnections: number): Promise<LoadBalancer> {
  const port = await freePort();
  const configFile = join(runDir, 'haproxy.cfg');
  const servers = backendPorts.map((backend, i) => `  server gateway-${i + 1} 127.0.0.1:${backend} check inter 200ms fall 1 rise 2`).join('\n');
  writeFileSync(
    configFile,
    `global
  maxconn ${maxConnections}

defaults
  mode http
  option redispatch 1
  retries 2
  timeout connect 200ms
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
`,
  );
  const logFile = join(runDir, 'haproxy.log');
  // Debian installs it in /usr/sbin, which is often not on a user's PATH.
  const binary = existsSync('/usr/sbin/haproxy') ? '/usr/sbin/haproxy' : 'haproxy';
  const child = spawnProcess(binary, ['-db', '-f', configFile], { cpus: layout.loadCpus, layout, logFile });
  const url = `http://127.0.0.1:${port}`;
  await waitForHttpOk(`${url}/health/ready`, child, logFile, 10_000);
  return { url, stop: () => stopProcess(child) };
}
