import { appendFileSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { SignJWT } from 'jose';
import { Manager, type Socket } from 'socket.io-client';
import { sleep } from './lib/clock.js';
import { sumMetric } from './lib/metrics.js';
import { startNatsServer } from './lib/nats-server.js';
import { rssBytes } from './lib/proc-stats.js';
import { benchScript, PROJECT_ROOT } from './lib/paths.js';
import { coreLayout, freePort, killAllChildren, requirePid, spawnNode, stopProcess, waitForHttpOk } from './lib/processes.js';
import { startRedisServer } from './lib/redis-server.js';

/**
 * The soak: a real gateway (NATS engine, seats and limits in Redis, production mode) under an hour of dashboard churn —
 * connect, subscribe, watch quotes, submit an order, send a few hostile requests, disconnect — while its RSS, heap and
 * open file descriptors are sampled. Reports whether memory at the end is within 5% of memory after warm-up, and
 * whether the descriptors are back to their baseline once every client has left.
 *
 *   npm run soak                                  # 60 minutes
 *   SOAK_MINUTES=5 npm run soak                   # a short run
 *
 * Settings (environment): SOAK_MINUTES (60), SOAK_WARMUP_MINUTES (10% of the run, at least 1, at most 10),
 * SOAK_CLIENTS concurrent dashboards (20), SOAK_QUOTE_RATE engine events/s (500), SOAK_ORDER_RATE engine order events/s
 * across 3 accounts (2; raise it to fill the per-account replay buffers, 10,000 events each, before warm-up ends),
 * SOAK_SAMPLE_SECONDS (10),
 * SOAK_WINDOW_MINUTES (3: memory is compared as medians over the first minutes after warm-up and the last of the run),
 * SOAK_DIR (a new temporary directory: the gateway's log and samples.jsonl land there).
 */

const minutes = numberSetting('SOAK_MINUTES', 60);
const warmupMinutes = numberSetting('SOAK_WARMUP_MINUTES', Math.min(10, Math.max(1, minutes * 0.1)));
const clients = numberSetting('SOAK_CLIENTS', 20);
const quoteRate = numberSetting('SOAK_QUOTE_RATE', 500);
const orderRate = numberSetting('SOAK_ORDER_RATE', 2);
const sampleSeconds = numberSetting('SOAK_SAMPLE_SECONDS', 10);
const runDir = process.env.SOAK_DIR ?? mkdtempSync(join(tmpdir(), 'tradewire-soak-'));
/** The gateway's memory is compared over two windows this long: right after warm-up, and at the end of the load. */
const WINDOW_MS = numberSetting('SOAK_WINDOW_MINUTES', 3) * 60_000;
const TENANT = 'acme-capital';
const ACCOUNT = 'ACC-1001';
const INSTRUMENTS = ['NASDAQ:AAPL', 'NASDAQ:MSFT', 'NYSE:IBM', 'NYSE:JPM', 'NYSE:KO', 'LSE:VOD', 'LSE:HSBA', 'BINANCE:BTCUSDT'];
const SECRET = 'soak-secret-that-is-long-enough-for-hs256-xxxxxxxx';
const LICENCE = { tier: 'soak', exchanges: { '*': 'realtime' }, channels: ['quote', 'trade', 'book'], maxSubscriptions: 1000, maxConnections: 20, minThrottleMs: 0, features: ['trading'] };

interface Sample {
  atMs: number;
  phase: 'baseline' | 'warmup' | 'load' | 'drained';
  rss: number;
  heapUsed: number;
  /** V8's old space: what survives collections, so what a leak grows (young-generation churn does not show here). */
  oldSpace: number;
  fds: number;
  connections: number;
}

interface Tally {
  cycles: number;
  refusedHandshakes: Map<string, number>;
  answers: Map<string, number>;
  quotes: number;
  orders: number;
  hostile: number;
  clientErrors: number;
}

const tally: Tally = { cycles: 0, refusedHandshakes: new Map(), answers: new Map(), quotes: 0, orders: 0, hostile: 0, clientErrors: 0 };

function numberSetting(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, not ${raw}`);
  return value;
}

function bump(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

function openFds(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return Number.NaN;
  }
}

async function token(sub: string): Promise<string> {
  return new SignJWT({ tenant: TENANT, accounts: [ACCOUNT], roles: ['trader'], lic: LICENCE })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + 4 * 3600)
    .sign(new TextEncoder().encode(SECRET));
}

/** An engine that accepts every order after a short think, on the real NATS request/reply subjects. */
async function startOrderEngine(url: string): Promise<NatsConnection> {
  const nc = await connect({ servers: url, name: 'soak-engine' });
  let next = 1;
  nc.subscribe('engine.order.submit', {
    callback: (_error, msg: Msg) => {
      setTimeout(() => msg.respond(JSON.stringify({ orderId: `O-${next++}`, status: 'new' })), 20);
    },
  });
  nc.subscribe('engine.order.cancel', {
    callback: (_error, msg: Msg) => {
      msg.respond(JSON.stringify({ status: 'pending_cancel' }));
    },
  });
  await nc.flush();
  return nc;
}

let randomState = 20_261_128;
/** A small deterministic PRNG (mulberry32): the same hostile shapes in the same order on every run. */
function random(): number {
  randomState = (randomState + 0x6d2b79f5) | 0;
  let t = randomState;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
}
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];

function nested(depth: number): unknown {
  let value: unknown = 'x';
  for (let i = 0; i < depth; i++) value = random() < 0.5 ? [value] : { a: value };
  return value;
}

/** Hostile requests: deep nesting, wrong types, prototype-pollution keys, oversized strings, unknown events. */
function hostileRequest(): { event: string; payload: unknown } {
  const shapes: (() => { event: string; payload: unknown })[] = [
    () => ({ event: 'subscribe', payload: nested(1 + Math.floor(random() * 3_000)) }),
    () => ({ event: 'subscribe', payload: { instruments: 42, channels: { quote: true } } }),
    () => ({ event: 'subscribe', payload: { instruments: [null, 7, { toString: 'x' }], channels: ['quote'] } }),
    () => ({ event: 'subscribe', payload: JSON.parse('{"__proto__":{"polluted":true},"instruments":["NASDAQ:AAPL"],"channels":["quote"]}') as unknown }),
    () => ({ event: 'unsubscribe', payload: { constructor: { prototype: { polluted: true } }, streams: 'all' } }),
    () => ({ event: 'order:submit', payload: { clientOrderId: [], account: ACCOUNT, instrument: 'NASDAQ:AAPL', side: 'sideways', type: 'limit', quantity: -1, price: 'NaN' } }),
    () => ({ event: 'order:submit', payload: 'x'.repeat(10_000) }),
    () => ({ event: 'order:cancel', payload: { account: { $gt: '' }, orderId: 12 } }),
    () => ({ event: pick(['nope', 'admin:shutdown', '__proto__', 'subscribe\u0000', 'x'.repeat(300)]), payload: { any: 'thing' } }),
    () => ({ event: 'ping', payload: nested(50) }),
  ];
  return pick(shapes)();
}

function welcomeOrRefusal(socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve('timeout'), 10_000);
    socket.once('welcome', () => {
      clearTimeout(timer);
      resolve('ok');
    });
    socket.once('connect_error', (error: Error) => {
      clearTimeout(timer);
      resolve(error.message);
    });
  });
}

async function ask(socket: Socket, event: string, payload: unknown): Promise<string> {
  try {
    const answer = (await socket.timeout(5_000).emitWithAck(event, payload)) as { ok?: boolean; error?: { code?: string } };
    return answer.ok ? 'ok' : (answer.error?.code ?? 'no-code');
  } catch {
    return 'no-answer';
  }
}

/** One dashboard's life, again and again until the deadline. */
async function dashboardLoop(baseUrl: string, worker: number, deadline: number): Promise<void> {
  let cycle = 0;
  while (Date.now() < deadline) {
    cycle++;
    const auth = { token: await token(`soak-user-${worker}-${cycle % 10}`) };
    const manager = new Manager(baseUrl, { transports: ['websocket'], reconnection: false, forceNew: true });
    const md = manager.socket('/market-data', { auth });
    const orders = manager.socket('/orders', { auth });
    try {
      const [mdOutcome, ordersOutcome] = await Promise.all([welcomeOrRefusal(md), welcomeOrRefusal(orders)]);
      if (mdOutcome !== 'ok' || ordersOutcome !== 'ok') {
        bump(tally.refusedHandshakes, mdOutcome !== 'ok' ? mdOutcome : ordersOutcome);
        await sleep(1_000);
        continue;
      }
      md.on('md', (frames: unknown[]) => (tally.quotes += Array.isArray(frames) ? frames.length : 1));
      const instruments = INSTRUMENTS.filter(() => random() < 0.4);
      bump(tally.answers, `subscribe:${await ask(md, 'subscribe', { instruments: instruments.length ? instruments : ['NASDAQ:AAPL'], channels: ['quote', 'trade'] })}`);
      bump(tally.answers, `orders-subscribe:${await ask(orders, 'subscribe', {})}`);
      await sleep(1_000 + random() * 3_000);
      const submitted = await ask(orders, 'order:submit', {
        clientOrderId: `soak-${worker}-${cycle}`,
        account: ACCOUNT,
        instrument: pick(INSTRUMENTS.slice(0, 5)),
        side: pick(['buy', 'sell']),
        type: 'limit',
        quantity: String(1 + Math.floor(random() * 500)),
        price: (100 + random() * 50).toFixed(2),
        timeInForce: 'day',
      });
      tally.orders++;
      bump(tally.answers, `order:submit:${submitted}`);
      const hostileCount = 1 + Math.floor(random() * 3);
      for (let i = 0; i < hostileCount; i++) {
        const { event, payload } = hostileRequest();
        tally.hostile++;
        bump(tally.answers, `hostile:${event.length > 20 ? 'long-event' : event}:${await ask(pick([md, orders]), event, payload)}`);
      }
      bump(tally.answers, `ping:${await ask(md, 'ping', {})}`);
      tally.cycles++;
    } catch {
      tally.clientErrors++;
    } finally {
      md.close();
      orders.close();
      manager.engine?.close();
    }
    await sleep(100 + random() * 400);
  }
}

const mib = (bytes: number) => `${(bytes / 1_048_576).toFixed(1)} MiB`;
const median = (values: number[]) => {
  const sorted = [...values].filter(Number.isFinite).sort((a, b) => a - b);
  return sorted.length ? (sorted[Math.floor((sorted.length - 1) / 2)] ?? Number.NaN) : Number.NaN;
};
const pct = (end: number, start: number) => `${(((end - start) / start) * 100).toFixed(1)}%`;

async function main(): Promise<void> {
  const layout = coreLayout();
  const nats = await startNatsServer(runDir, 'soak', layout);
  const redis = await startRedisServer(runDir, 'soak', layout);
  const port = await freePort();
  const logFile = join(runDir, 'gateway.log');
  const samplesFile = join(runDir, 'samples.jsonl');
  const gateway = spawnNode(
    join(PROJECT_ROOT, 'dist', 'src', 'main.js'),
    [],
    {
      layout,
      logFile,
      env: {
        PATH: process.env.PATH,
        NODE_ENV: 'production',
        PORT: String(port),
        NODE_ID: 'soak',
        LOG_LEVEL: 'warn',
        ENGINE_TRANSPORT: 'nats',
        NATS_URL: nats.url,
        REDIS_URL: redis.url,
        JWT_SECRET: SECRET,
        SIMULATOR: 'off',
        // Every dashboard comes from 127.0.0.1: no per-address handshake limit. Request limits stay on, generous
        // enough that the churn is served rather than refused.
        RATE_LIMIT_HANDSHAKES: 'off',
        RATE_LIMIT_EVENTS: 'subscribe=600/1m,order:submit=600/1m:50',
        RATE_LIMIT_REQUESTS: '6000/1m',
        RATE_LIMIT_REQUEST_BURST: '100/1s',
        DRAIN_DELAY_MS: '0',
      },
    },
    ['--max-semi-space-size=32'],
  );
  const pid = requirePid(gateway, 'gateway');
  const baseUrl = `http://127.0.0.1:${port}`;
  await waitForHttpOk(`${baseUrl}/health/ready`, gateway, logFile, 30_000);
  const engine = await startOrderEngine(nats.url);
  const feed = spawnNode(benchScript('../src/simulator/simulate.cli.js'), ['--transport', 'nats', '--url', nats.url, '--rate', String(quoteRate), '--channels', 'quote,trade', '--order-rate', String(orderRate), '--tick-ms', '10'], {
    layout,
    logFile: join(runDir, 'feed.log'),
  });

  const samples: Sample[] = [];
  const startedAt = Date.now();
  let phase: Sample['phase'] = 'baseline';
  const sample = async (): Promise<Sample> => {
    const text = await fetch(`${baseUrl}/metrics`, { signal: AbortSignal.timeout(5_000) }).then(
      (response) => response.text(),
      () => '',
    );
    const oldSpace = /^nodejs_heap_space_size_used_bytes\{space="old"\} (\S+)$/m.exec(text);
    const entry: Sample = {
      atMs: Date.now() - startedAt,
      phase,
      rss: rssBytes(pid),
      heapUsed: sumMetric(text, 'nodejs_heap_size_used_bytes'),
      oldSpace: oldSpace ? Number(oldSpace[1]) : Number.NaN,
      fds: openFds(pid),
      connections: sumMetric(text, 'tradewire_connections'),
    };
    samples.push(entry);
    appendFileSync(samplesFile, `${JSON.stringify(entry)}\n`);
    return entry;
  };
  await sleep(2_000);
  const baseline = await sample();
  process.stdout.write(`soak: ${minutes} min (${warmupMinutes} min warm-up), ${clients} dashboards, ${quoteRate} engine events/s; gateway pid ${pid}; files in ${runDir}\n`);

  const warmupEnd = startedAt + warmupMinutes * 60_000;
  const deadline = startedAt + minutes * 60_000;
  phase = 'warmup';
  const sampler = setInterval(() => {
    phase = Date.now() < warmupEnd ? 'warmup' : 'load';
    void sample().then((s) => {
      if (s.atMs % 60_000 < sampleSeconds * 1_000) process.stdout.write(`soak: ${Math.round(s.atMs / 60_000)} min, rss ${mib(s.rss)}, heap ${mib(s.heapUsed)}, fds ${s.fds}, connections ${s.connections}, cycles ${tally.cycles}\n`);
    });
  }, sampleSeconds * 1_000);
  await Promise.all(Array.from({ length: clients }, (_, worker) => dashboardLoop(baseUrl, worker, deadline)));
  clearInterval(sampler);
  const lastLoadSample = await sample();

  // Every dashboard has left: descriptors should be back to where they were before the first one came.
  phase = 'drained';
  let drained = lastLoadSample;
  const drainDeadline = Date.now() + 30_000;
  while (Date.now() < drainDeadline) {
    await sleep(1_000);
    drained = await sample();
    if (drained.fds <= baseline.fds && drained.connections === 0) break;
  }

  const window = (from: number, to: number) => samples.filter((s) => s.atMs >= from && s.atMs <= to && (s.phase === 'warmup' || s.phase === 'load'));
  const warmupMs = warmupEnd - startedAt;
  const afterWarmup = window(warmupMs, warmupMs + WINDOW_MS);
  const endWindow = window(lastLoadSample.atMs - WINDOW_MS, lastLoadSample.atMs);
  // Medians: heap used saws up and down with every collection, and RSS with it, so single samples say little.
  const figure = (pick: (s: Sample) => number) => [median(afterWarmup.map(pick)), median(endWindow.map(pick))] as const;
  const [rssStart, rssEnd] = figure((s) => s.rss);
  const [heapStart, heapEnd] = figure((s) => s.heapUsed);
  const [oldStart, oldEnd] = figure((s) => s.oldSpace);
  const windowMinutes = WINDOW_MS / 60_000;
  const peakFds = Math.max(...samples.filter((s) => s.phase === 'warmup' || s.phase === 'load').map((s) => s.fds).filter(Number.isFinite));
  const answers = [...tally.answers].sort(([a], [b]) => a.localeCompare(b));
  const internal = answers.filter(([key]) => key.endsWith(':INTERNAL')).reduce((sum, [, n]) => sum + n, 0);
  const summary = [
    `### Soak ${new Date(startedAt).toISOString().slice(0, 16)}Z: ${minutes} min, ${clients} dashboards, ${quoteRate} engine events/s`,
    '',
    `| median over ${windowMinutes} min | after warm-up (min ${warmupMinutes}–${warmupMinutes + windowMinutes}) | end of load | change |`,
    '| --- | --- | --- | --- |',
    `| RSS | ${mib(rssStart)} | ${mib(rssEnd)} | ${pct(rssEnd, rssStart)} |`,
    `| heap used | ${mib(heapStart)} | ${mib(heapEnd)} | ${pct(heapEnd, heapStart)} |`,
    `| heap old space | ${mib(oldStart)} | ${mib(oldEnd)} | ${pct(oldEnd, oldStart)} |`,
    `| open fds | ${baseline.fds} before the first client | ${drained.fds} after the last left (at most ${peakFds} under load) | ${drained.fds - baseline.fds} |`,
    '',
    `Dashboards' lives: ${tally.cycles} complete cycles, ${tally.orders} orders, ${tally.hostile} hostile requests, ${tally.quotes} market-data messages received, ${tally.clientErrors} client-side errors, INTERNAL answers: ${internal}.`,
    `Refused handshakes: ${JSON.stringify(Object.fromEntries(tally.refusedHandshakes))}.`,
    `Answers: ${answers.map(([key, n]) => `${key} ${n}`).join(', ')}.`,
    `Gateway log lines: ${countLines(logFile)}. Samples: ${samplesFile}.`,
  ].join('\n');
  process.stdout.write(`\n${summary}\n`);

  await stopProcess(feed);
  await engine.close();
  await stopProcess(gateway, 10_000);
  await redis.stop();
  await nats.stop();
}

function countLines(file: string): number {
  try {
    return readFileSync(file, 'utf8').split('\n').filter(Boolean).length;
  } catch {
    return 0;
  }
}

// An interrupted soak takes its gateway, brokers and feed with it.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killAllChildren();
    process.exit(130);
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`soak failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  killAllChildren();
  process.exit(1);
});
