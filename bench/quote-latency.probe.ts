/**
 * Engine→client latency probe: Q quote events published over NATS, each with the engine `ts`, to N socket.io-client
 * clients subscribed to the same stream of a real gateway process. Prints p50/p99/p999 of (receive time − ts).
 *
 *   npm run build && node dist/bench/quote-latency.probe.js --clients 100 --events 10000 --rate 2000
 *
 * The gateway runs pinned to core 0 and this process (publisher and clients) to core 1 when the machine has two.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { connect } from '@nats-io/transport-node';
import { SignJWT } from 'jose';
import { io, type Socket } from 'socket.io-client';

const SECRET = 'probe-secret-that-is-at-least-32-characters';

const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { clients: { type: 'string', default: '100' }, events: { type: 'string', default: '10000' }, rate: { type: 'string', default: '2000' } } });
  const clients = Number(values.clients);
  const events = Number(values.events);
  const rate = Number(values.rate);
  const pin = cpus().length >= 2;
  if (pin) process.stderr.write('pinning: gateway on core 0, probe on core 1\n');

  const natsPort = await freePort();
  const storeDir = mkdtempSync(join(tmpdir(), 'probe-nats-'));
  const nats = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(natsPort), '-js', '-sd', storeDir], { stdio: 'ignore' });
  const port = await freePort();
  const gatewayArgs = ['--max-semi-space-size=32', 'dist/src/main.js']; // as `npm start` runs it
  const gateway = spawn(pin ? 'taskset' : process.execPath, pin ? ['-c', '0', process.execPath, ...gatewayArgs] : gatewayArgs, {
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'production', PORT: String(port), ENGINE_TRANSPORT: 'nats', NATS_URL: `nats://127.0.0.1:${natsPort}`, JWT_SECRET: SECRET, LOG_LEVEL: 'warn', NODE_ID: 'probe' },
    stdio: 'inherit',
  });
  if (pin) spawn('taskset', ['-pc', '1', String(process.pid)], { stdio: 'ignore' });
  try {
    for (let i = 0; i < 200; i++) {
      try {
        if ((await fetch(`http://127.0.0.1:${port}/health/ready`)).status === 200) break;
      } catch {
        // not listening yet
      }
      await sleep(50);
    }
    const lic = { tier: 'probe', exchanges: { '*': 'realtime' }, channels: ['quote'], maxSubscriptions: 10, maxConnections: 1000, minThrottleMs: 0, features: [] };
    const token = await new SignJWT({ tenant: 't', accounts: [], roles: ['viewer'], lic }).setProtectedHeader({ alg: 'HS256' }).setSubject('probe').setExpirationTime('1h').sign(new TextEncoder().encode(SECRET));
    const latencies = new Float64Array(clients * events);
    let received = 0;
    const sockets: Socket[] = [];
    for (let c = 0; c < clients; c++) {
      const socket = io(`http://127.0.0.1:${port}/market-data`, { auth: { token }, transports: ['websocket'], forceNew: true, reconnection: false });
      await new Promise<void>((resolve, reject) => {
        socket.once('welcome', () => resolve());
        socket.once('connect_error', reject);
      });
      socket.on('md', (messages: { type: string; ts: number }[]) => {
        const now = Date.now();
        for (const m of messages) if (m.type === 'update' && received < latencies.length) latencies[received++] = now - m.ts;
      });
      await socket.timeout(5000).emitWithAck('subscribe', { instruments: ['NASDAQ:AAPL'], channels: ['quote'], throttleMs: 0 });
      sockets.push(socket);
    }
    const publisher = await connect({ servers: `nats://127.0.0.1:${natsPort}` });
    const quote = (i: number) => JSON.stringify({ bid: '189.50', ask: '189.52', bidSize: '300', askSize: '200', last: (189 + (i % 100) / 100).toFixed(2), lastSize: '10', volume: String(100000 + i), ts: Date.now() });
    publisher.publish('md.quote.NASDAQ.AAPL', quote(0)); // the stream's first state: a snapshot, not measured
    await sleep(200);
    const started = performance.now();
    const perTick = Math.max(1, Math.round(rate / 1000));
    for (let sent = 0; sent < events; ) {
      for (let k = 0; k < perTick && sent < events; k++, sent++) publisher.publish('md.quote.NASDAQ.AAPL', quote(sent + 1));
      const due = started + (sent / rate) * 1000;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
    }
    await publisher.flush();
    const expected = clients * events;
    for (let i = 0; i < 100 && received < expected; i++) await sleep(50);
    const sorted = latencies.slice(0, received).sort();
    const result = {
      clients,
      events,
      rate,
      delivered: received,
      expected,
      p50Ms: percentile(sorted, 50),
      p99Ms: percentile(sorted, 99),
      p999Ms: percentile(sorted, 99.9),
      maxMs: sorted[sorted.length - 1],
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
    await publisher.close();
    for (const socket of sockets) socket.close();
  } finally {
    gateway.kill('SIGTERM');
    await new Promise((resolve) => gateway.once('exit', resolve));
    nats.kill('SIGTERM');
    await new Promise((resolve) => nats.once('exit', resolve));
    rmSync(storeDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`probe failed: ${String(error)}\n`);
  process.exit(1);
});
