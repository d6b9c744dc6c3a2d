import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NAMESPACES } from '#libs/contracts';
import { connectClient, GatewayProcess, request, type ConnectedClient } from './support/gateway.js';
import { checkHaproxyConfig, DOCKER_HAPROXY_CONFIG } from '../src/cluster/haproxy-config.js';
import { LoadBalancer } from './support/load-balancer.js';
import { FULL_LICENCE, hsToken } from './support/tokens.js';

/**
 * TLS terminated at HAProxy, configured as docker/haproxy.cfg (checked with `haproxy -c`, then run as
 * src/cluster/haproxy-config renders it: only the container network's names and ports replaced), in front of two
 * replicas: wss:// and https:// end to end with a self-signed certificate made by docker/tls/make-self-signed.sh, HSTS
 * on every answer over TLS and only there.
 */

const HSTS = 'max-age=31536000; includeSubDomains';
const MAKE_CERTIFICATE = fileURLToPath(new URL('../docker/tls/make-self-signed.sh', import.meta.url));

let dir: string;
let certificateFile: string;
/** The certificate alone (the file also holds the key): what a client is told to trust. */
let trusted: string;
let replicas: GatewayProcess[] = [];
let balancer: LoadBalancer;
const sockets: Socket[] = [];

function httpsGet(port: number, path: string, ca: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port, path, ca, method: 'GET' }, (response) => {
      response.resume();
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function connectOverTls(port: number, options: { ca?: string; transports: ('websocket' | 'polling')[] }): Promise<ConnectedClient<typeof NAMESPACES.marketData>> {
  const token = await hsToken({ sub: 'tls-user', lic: FULL_LICENCE });
  const connected = await connectClient(`https://127.0.0.1:${port}`, NAMESPACES.marketData, { auth: { token }, transports: options.transports, ca: options.ca, timeout: 5_000 });
  sockets.push(connected.socket);
  return connected;
}

describe('TLS at HAProxy: docker/haproxy.cfg, wss:// end to end, HSTS', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tradewire-tls-'));
    certificateFile = join(dir, 'tradewire.pem');
    const made = spawnSync('sh', [MAKE_CERTIFICATE, certificateFile], { encoding: 'utf8' });
    if (made.status !== 0) throw new Error(`make-self-signed.sh failed: ${made.stdout}${made.stderr}`);
    const pem = readFileSync(certificateFile, 'utf8');
    trusted = pem.slice(0, pem.indexOf('-----END CERTIFICATE-----') + '-----END CERTIFICATE-----'.length);
    // The replicas trust the balancer's X-Forwarded-* headers, as TRUSTED_PROXIES does in the compose stack.
    for (let i = 0; i < 2; i++) replicas.push(await GatewayProcess.start({ TRUSTED_PROXIES: '127.0.0.1' }));
    balancer = await LoadBalancer.start(
      replicas.map((replica) => replica.port),
      { certificateFile },
    );
  });
  afterAll(async () => {
    for (const socket of sockets) socket.close();
    await balancer?.stop();
    await Promise.all(replicas.map((replica) => replica.stop()));
    replicas = [];
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('haproxy -c accepts docker/haproxy.cfg with a certificate in place', () => {
    const config = readFileSync(DOCKER_HAPROXY_CONFIG, 'utf8').replace('/usr/local/etc/haproxy/tls/tradewire.pem', certificateFile);
    const checked = checkHaproxyConfig(config);
    expect(checked.output).toContain('Configuration file is valid');
    expect(checked.status).toBe(0);
  });

  it('serves wss:// end to end: welcome and requests over a verified TLS connection', async () => {
    const { socket, welcome } = await connectOverTls(balancer.tlsPort as number, { ca: trusted, transports: ['websocket'] });
    expect(replicas.map((replica) => `test-${replica.port}`)).toContain(welcome.node);
    expect(socket.io.engine.transport.name).toBe('websocket');
    const pong = await request(socket, 'ping', {});
    expect(pong.ok).toBe(true);
  });

  it('serves https:// long-polling that upgrades to wss://, on the same replica', async () => {
    const { socket } = await connectOverTls(balancer.tlsPort as number, { ca: trusted, transports: ['polling', 'websocket'] });
    await new Promise<void>((resolve) => (socket.io.engine.transport.name === 'websocket' ? resolve() : socket.io.engine.once('upgrade', () => resolve())));
    expect((await request(socket, 'ping', {})).ok).toBe(true);
  });

  it('refuses a client that does not trust the certificate (the TLS is real)', async () => {
    await expect(connectOverTls(balancer.tlsPort as number, { transports: ['websocket'] })).rejects.toThrow();
  });

  it('sets HSTS once on every answer over TLS, HAProxy-made or not, and never over plain HTTP', async () => {
    const ready = await httpsGet(balancer.tlsPort as number, '/health/ready', trusted);
    expect(ready.status).toBe(200);
    expect(ready.headers['strict-transport-security']).toBe(HSTS);
    const missing = await httpsGet(balancer.tlsPort as number, '/no-such-page', trusted);
    expect(missing.headers['strict-transport-security']).toBe(HSTS);
    const plain = await fetch(`${balancer.url}/health/ready`);
    expect(plain.status).toBe(200);
    expect(plain.headers.get('strict-transport-security')).toBeNull();
  });
});
