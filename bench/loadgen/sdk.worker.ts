import { io, type Socket } from 'socket.io-client';
import type { MdMessage } from '#libs/contracts';
import { sleep } from '../lib/clock.js';
import { loadSdkPackage } from '../lib/sdk-package.js';
import { mintToken } from '../lib/tokens.js';
import type { CountsResult, OpenResult, RecoveryResult, SdkWorkerCommand, SdkWorkerReply } from './sdk-protocol.js';

/**
 * A process holding SDK clients (@tradewire/client, exactly as a Node service uses it), or for comparison bare
 * socket.io-client connections receiving the same frames. The orchestrator measures its CPU from /proc; this process
 * counts what the clients saw and when.
 */

interface Tracked {
  state: string;
  /** Armed: waiting for the client to leave `connected`, then for its first data after it is back. */
  armed: boolean;
  downAt: number;
  backAt: number;
  restoredAt: number;
  dataAt: number;
  hadData: boolean;
  /** The SDK client's diagnostics, for a client that does not recover. */
  diagnostics?: () => unknown;
  subscribedAgain: number;
}

const { TradewireClient } = await loadSdkPackage();
const tracked: Tracked[] = [];
const closers: (() => void)[] = [];
const counts: CountsResult = { quotes: 0, bookMessages: 0, bookUpdates: 0, booksVerified: 0, booksUnverified: 0, resyncs: 0, errors: 0 };
/** The SDK clients' own diagnostics: where the book messages they applied are counted. */
const sdkClients: { diagnostics(): { streams: { stream: string; seq: number }[] } }[] = [];

function currentCounts(): CountsResult {
  if (sdkClients.length === 0) return { ...counts };
  let bookMessages = 0;
  for (const client of sdkClients) for (const stream of client.diagnostics().streams) if (stream.stream.startsWith('book:')) bookMessages += stream.seq;
  return { ...counts, bookMessages };
}

function onData(entry: Tracked): void {
  entry.hadData = true;
  if (entry.armed && Number.isFinite(entry.backAt) && !Number.isFinite(entry.dataAt)) entry.dataAt = Date.now();
}

function onState(entry: Tracked, state: string): void {
  entry.state = state;
  if (!entry.armed) return;
  if (state !== 'connected' && !Number.isFinite(entry.downAt)) entry.downAt = Date.now();
  else if (state === 'connected' && Number.isFinite(entry.downAt) && !Number.isFinite(entry.backAt)) entry.backAt = Date.now();
}

function openSdkClient(url: string, token: string, entry: Tracked, spec: Extract<SdkWorkerCommand, { cmd: 'open' }>, instruments: string[]): void {
  // WebSocket straight away, as Node services run it (no long-polling first).
  const client = new TradewireClient({ url, getToken: () => token, transports: ['websocket'] });
  client.on('state', (state) => onState(entry, state));
  client.on('error', () => counts.errors++);
  entry.diagnostics = () => client.diagnostics();
  const md = client.marketData.subscribe({ instruments, channels: spec.channels, depth: spec.depth });
  md.on('quote', () => {
    counts.quotes++;
    onData(entry);
  });
  md.on('book', (book) => {
    counts.bookUpdates++;
    if (book.verified) counts.booksVerified++;
    else counts.booksUnverified++;
    onData(entry);
  });
  md.on('resync', () => counts.resyncs++);
  md.on('subscribed', (_items, info) => {
    entry.subscribedAgain++;
    if (info.restored && entry.armed && Number.isFinite(entry.backAt) && !Number.isFinite(entry.restoredAt)) entry.restoredAt = Date.now();
  });
  sdkClients.push(client);
  closers.push(() => client.close());
}

function openBareClient(url: string, token: string, entry: Tracked, spec: Extract<SdkWorkerCommand, { cmd: 'open' }>, instruments: string[]): void {
  const socket: Socket = io(`${url}/market-data`, { transports: ['websocket'], auth: { token } });
  socket.on('connect', () => {
    onState(entry, 'connected');
    socket.emit('subscribe', { instruments, channels: spec.channels, depth: spec.depth });
  });
  socket.on('disconnect', () => onState(entry, 'reconnecting'));
  socket.on('md', (messages: MdMessage[]) => {
    for (const message of messages) {
      if (message.stream.startsWith('book:')) counts.bookMessages++;
      else counts.quotes++;
    }
    onData(entry);
  });
  closers.push(() => socket.close());
}

async function open(spec: Extract<SdkWorkerCommand, { cmd: 'open' }>): Promise<OpenResult> {
  const started = Date.now();
  const intervalMs = 1000 / spec.ratePerSecond;
  for (const [index, client] of spec.clients.entries()) {
    const entry: Tracked = { state: 'connecting', armed: false, downAt: Number.NaN, backAt: Number.NaN, restoredAt: Number.NaN, dataAt: Number.NaN, hadData: false, subscribedAgain: 0 };
    tracked.push(entry);
    const token = await mintToken(spec.jwtSecret, { sub: client.sub, accounts: [] });
    if (spec.kind === 'sdk') openSdkClient(spec.url, token, entry, spec, client.instruments);
    else openBareClient(spec.url, token, entry, spec, client.instruments);
    const due = started + (index + 1) * intervalMs;
    if (due > Date.now()) await sleep(due - Date.now());
  }
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && tracked.some((entry) => !entry.hadData)) await sleep(50);
  return { opened: tracked.length, withData: tracked.filter((entry) => entry.hadData).length, elapsedMs: Date.now() - started };
}

function arm(): void {
  for (const entry of tracked) Object.assign(entry, { armed: true, downAt: Number.NaN, backAt: Number.NaN, restoredAt: Number.NaN, dataAt: Number.NaN, subscribedAgain: 0 });
}

function recovery(): RecoveryResult {
  const states: Record<string, number> = {};
  for (const entry of tracked) states[entry.state] = (states[entry.state] ?? 0) + 1;
  const stuck = tracked.filter((entry) => Number.isFinite(entry.backAt) && !Number.isFinite(entry.dataAt)).slice(0, 2);
  if (stuck.length) console.error(JSON.stringify({ stuck: stuck.map((entry) => ({ subscribedAgain: entry.subscribedAgain, backAgo: Date.now() - entry.backAt, diagnostics: entry.diagnostics?.() })) }));
  return { downAt: tracked.map((entry) => entry.downAt), backAt: tracked.map((entry) => entry.backAt), restoredAt: tracked.map((entry) => entry.restoredAt), dataAt: tracked.map((entry) => entry.dataAt), states };
}

async function handle(command: SdkWorkerCommand): Promise<unknown> {
  switch (command.cmd) {
    case 'open':
      return open(command);
    case 'arm':
      arm();
      return null;
    case 'recovery':
      return recovery();
    case 'counts':
      return currentCounts();
    case 'close':
      for (const close of closers.splice(0)) close();
      return null;
  }
}

process.on('message', (command: SdkWorkerCommand) => {
  handle(command).then(
    (result) => process.send?.({ id: command.id, ok: true, result } satisfies SdkWorkerReply),
    (error: unknown) => process.send?.({ id: command.id, ok: false, error: error instanceof Error ? error.message : String(error) } satisfies SdkWorkerReply),
  );
});
// The orchestrator going away ends this process with it.
process.on('disconnect', () => process.exit(0));
