import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type CoreLayout, freePort, requirePid, spawnProcess, stopProcess, waitForHttpOk } from './processes.js';

/**
 * A throwaway HAProxy in front of gateway replicas, balanced and checked as docker/haproxy.cfg does (readiness every
 * 2 s, out after 2 failures); a refused connect is sent to the other replica at once.
 */
export interface LoadBalancer {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

export async function startLoadBalancer(runDir: string, backendPorts: number[], layout: CoreLayout, maxConnections: number): Promise<LoadBalancer> {
  const port = await freePort();
  const configFile = join(runDir, 'haproxy.cfg');
  const servers = backendPorts.map((backend, i) => `  server gateway-${i + 1} 127.0.0.1:${backend} check inter 2s fall 2 rise 2`).join('\n');
  writeFileSync(
    configFile,
    `global
  maxconn ${maxConnections}

defaults
  mode http
  option redispatch 1
  retries 2
  # Long enough for a replica busy with a thousand reconnecting clients to accept: a connect timing out would mark
  # the only replica left as down.
  timeout connect 1s
  timeout client 60s
  timeout server 60s
  timeout http-request 10s
  timeout tunnel 1h
  # A replica busy with a thousand handshakes answers its readiness late, not never: not a reason to leave the pool.
  timeout check 2s

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
  return { url, pid: requirePid(child, 'haproxy'), stop: () => stopProcess(child) };
}
