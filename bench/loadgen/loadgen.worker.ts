import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { AccountSubscribeResponse, AckResponse, MdSubscribeResponse } from '#libs/contracts';
import { epochMs, sleep } from '../lib/clock.js';
import { Histogram } from '../lib/histogram.js';
import { mintToken } from '../lib/tokens.js';
import { clientInstruments } from '../lib/universe.js';
import type { BenchClient, ClientHandlers } from './bench-client.js';
import type { ConnectResult, MeasureResult, NoticeResult, SubscribeResult, WorkerCommand, WorkerReply } from './loadgen-protocol.js';
import { scanMdPayload, verifyMdScan } from './md-frame-scan.js';
import { openClient } from './open-client.js';
import { NoticeMatcher } from './system-notice.js';

/**
 * A load-generator process: holds a share of the scenario's clients, opens them at a paced rate, subscribes them, and
 * counts and timestamps everything they receive. Several run side by side (pinned to the load cores) and the
 * orchestrator merges their counts and histograms.
 */
interface HeldClient {
  index: number;
  /** The client's number in this process (ClientOptions.slot): its cell in `notice.receivedAt`. */
  slot: number;
  client: BenchClient;
}

const clients: HeldClient[] = [];
/** Slots are never reused, so a closed client's late frame cannot land in another's cell. */
let nextSlot = 0;
/** 1 for every slot whose client has closed; grown ahead of each connect. */
let closedSlots = new Uint8Array(1024);
/**
 * The operator notice being awaited: when each client received it (epoch ms by slot, 0 = not yet). One typed array
 * for the whole process, so 100,000 clients cost 800 KB and a receipt is one comparison and one store.
 */
const notice = {
  matcher: undefined as NoticeMatcher | undefined,
  receivedAt: new Float64Array(0),
  /** Held clients still open when armed: the ones owed the notice. */
  open: 0,
  received: 0,
  disconnected: 0,
};
const received = {
  measuring: false,
  startedAt: 0,
  frames: 0,
  updates: 0,
  snapshots: 0,
  orders: 0,
  disconnects: 0,
  mdLatency: new Histogram(),
  orderLatency: new Histogram(),
};
const LOOP_DELAY_RESOLUTION_MS = 5;
const loopDelay = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS });

const mdVisitor = {
  now: 0,
  update(ts: number): void {
    received.updates++;
    received.mdLatency.record((mdVisitor.now - ts) * 1000);
  },
  snapshot(): void {
    received.snapshots++;
  },
};

// The hot path: one call per frame received, so it only counts and records.
const handlers: ClientHandlers = {
  onMd(messages) {
    if (!received.measuring) return;
    received.frames++;
    const now = epochMs();
    for (const message of messages) {
      if (message.type === 'update') {
        received.updates++;
        received.mdLatency.record((now - message.ts) * 1000);
      } else {
        received.snapshots++;
      }
    }
  },
  onMdText(text, from, end) {
    if (!received.measuring) return;
    received.frames++;
    mdVisitor.now = epochMs();
    scanMdPayload(text, from, mdVisitor);
    // A sample of frames is decoded in full as well: a payload shape the scan misreads fails the run.
    if ((received.frames & 1023) === 1) verifyMdScan(text, from, end);
  },
  onOrder(event) {
    if (!received.measuring) return;
    received.orders++;
    received.orderLatency.record((epochMs() - event.ts) * 1000);
  },
  onClose(slot) {
    closedSlots[slot] = 1;
    if (received.measuring) received.disconnects++;
    if (notice.matcher) notice.disconnected++;
  },
  onSystem(slot, payload) {
    if (notice.matcher?.matches(payload)) noticeReceived(slot);
  },
  onSystemText(slot, text, from) {
    if (notice.matcher?.matchesText(text, from)) noticeReceived(slot);
  },
};

function noticeReceived(slot: number): void {
  // Out-of-range slots (a client opened after arming) read undefined and are not counted.
  if (notice.receivedAt[slot] !== 0) return;
  notice.receivedAt[slot] = epochMs();
  notice.received++;
}

async function connect(command: Extract<WorkerCommand, { type: 'connect' }>): Promise<ConnectResult> {
  const tokens = await Promise.all(command.clients.map((spec) => mintToken(command.jwtSecret, spec)));
  const handshake = new Histogram();
  const failures: Record<string, number> = {};
  const intervalMs = 1000 / command.ratePerSecond;
  const started = performance.now();
  const pending: Promise<void>[] = [];
  if (nextSlot + command.clients.length > closedSlots.length) {
    const grown = new Uint8Array(Math.max(closedSlots.length * 2, nextSlot + command.clients.length));
    grown.set(closedSlots);
    closedSlots = grown;
  }
  loopDelay.reset();
  loopDelay.enable();

  // Open-loop pacing: client k starts at k × interval whatever happened to the previous ones, so a slow server shows
  // up as handshake latency rather than as a lower connection rate. With `maxPending`, a worker that has that many
  // handshakes in flight waits for one to finish and paces on from then (no catching up in a burst): past the server's
  // capacity the rate drops instead of the handshakes timing out in queues.
  let inFlight = 0;
  let slotFreed: (() => void) | undefined;
  const settled = (): void => {
    inFlight--;
    slotFreed?.();
    slotFreed = undefined;
  };
  let nextAt = started;
  for (let k = 0; k < command.clients.length; k++) {
    if (command.maxPending > 0 && inFlight >= command.maxPending) {
      while (inFlight >= command.maxPending) await new Promise<void>((resolve) => (slotFreed = resolve));
      nextAt = Math.max(nextAt, performance.now());
    }
    const wait = nextAt - performance.now();
    if (wait >= 1) await sleep(wait);
    nextAt += intervalMs;
    const spec = command.clients[k];
    const localAddress = command.localAddresses.length ? command.localAddresses[spec.index % command.localAddresses.length] : undefined;
    const openedAt = performance.now();
    const slot = nextSlot++;
    const client = openClient(command.client, { baseUrl: command.baseUrl, namespace: command.namespace, token: tokens[k], slot, localAddress, handlers });
    inFlight++;
    pending.push(
      withTimeout(client.welcomed, command.timeoutMs, 'TIMEOUT').then(
        () => {
          handshake.record((performance.now() - openedAt) * 1000);
          clients.push({ index: spec.index, slot, client });
          settled();
        },
        (error: Error) => {
          failures[error.message] = (failures[error.message] ?? 0) + 1;
          client.close();
          settled();
        },
      ),
    );
  }
  await Promise.all(pending);
  loopDelay.disable();
  return {
    loopDelayP99Ms: loopDelayP99Ms(),
    attempted: command.clients.length,
    connected: command.clients.length - Object.values(failures).reduce((a, b) => a + b, 0),
    failures,
    handshake: handshake.snapshot(),
    elapsedMs: performance.now() - started,
  };
}

/** Sends one request per client, at most `concurrency` in flight, and tallies what the acks accepted. */
async function subscribeAll<T>(
  request: (held: HeldClient) => Promise<AckResponse<T>>,
  tally: (data: T) => { accepted: number; rejected: string[] },
  concurrency = 200,
): Promise<SubscribeResult> {
  const result: SubscribeResult = { clients: clients.length, accepted: 0, rejected: 0, failures: {}, latency: { buckets: [], count: 0, sum: 0, min: 0, max: 0 } };
  const latency = new Histogram();
  const count = (code: string): void => {
    result.failures[code] = (result.failures[code] ?? 0) + 1;
  };
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < clients.length) {
      const held = clients[next++];
      const sentAt = performance.now();
      try {
        const response = await request(held);
        latency.record((performance.now() - sentAt) * 1000);
        if (!response.ok) {
          count(response.error.code);
          continue;
        }
        const { accepted, rejected } = tally(response.data);
        result.accepted += accepted;
        result.rejected += rejected.length;
        rejected.forEach(count);
      } catch (error) {
        count((error as Error).message);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  result.latency = latency.snapshot();
  return result;
}

function subscribeMarketData(command: Extract<WorkerCommand, { type: 'subscribe-md' }>): Promise<SubscribeResult> {
  return subscribeAll<MdSubscribeResponse>(
    (held) =>
      held.client.request<MdSubscribeResponse>(
        'subscribe',
        { instruments: clientInstruments(held.index, command.universe, command.perClient), channels: ['quote'], throttleMs: command.throttleMs },
        command.timeoutMs,
      ),
    (data) => ({ accepted: data.subscribed.length, rejected: data.rejected.map((r) => r.code) }),
    command.concurrency,
  );
}

function subscribeAccounts(command: Extract<WorkerCommand, { type: 'subscribe-accounts' }>): Promise<SubscribeResult> {
  return subscribeAll<AccountSubscribeResponse>(
    (held) => held.client.request<AccountSubscribeResponse>('subscribe', {}, command.timeoutMs),
    (data) => ({ accepted: data.accounts.length, rejected: [] }),
  );
}

function noticeArm(command: Extract<WorkerCommand, { type: 'notice-arm' }>): { clients: number } {
  notice.receivedAt = new Float64Array(nextSlot);
  notice.open = clients.reduce((open, held) => open + (closedSlots[held.slot] ? 0 : 1), 0);
  notice.received = 0;
  notice.disconnected = 0;
  notice.matcher = new NoticeMatcher(command.message);
  loopDelay.reset();
  loopDelay.enable();
  return { clients: notice.open };
}

async function noticeCollect(command: Extract<WorkerCommand, { type: 'notice-collect' }>): Promise<NoticeResult> {
  // Receipts are stamped as they arrive; this only decides when to stop waiting.
  while (notice.received < notice.open - notice.disconnected && epochMs() < command.deadline) await sleep(20);
  notice.matcher = undefined;
  loopDelay.disable();
  const delay = new Histogram();
  for (const { slot } of clients) {
    const at = notice.receivedAt[slot];
    if (at !== 0) delay.record((at - command.sentAt) * 1000);
  }
  return {
    clients: notice.open,
    closedBefore: clients.length - notice.open,
    received: notice.received,
    disconnected: notice.disconnected,
    delay: delay.snapshot(),
    loopDelayP99Ms: loopDelayP99Ms(),
  };
}

function measureStart(): void {
  Object.assign(received, { frames: 0, updates: 0, snapshots: 0, orders: 0, disconnects: 0, startedAt: performance.now(), measuring: true });
  received.mdLatency.reset();
  received.orderLatency.reset();
  loopDelay.reset();
  loopDelay.enable();
}

function measureStop(): MeasureResult {
  received.measuring = false;
  loopDelay.disable();
  return {
    windowMs: performance.now() - received.startedAt,
    frames: received.frames,
    updates: received.updates,
    snapshots: received.snapshots,
    orders: received.orders,
    mdLatency: received.mdLatency.snapshot(),
    orderLatency: received.orderLatency.snapshot(),
    disconnects: received.disconnects,
    loopDelayP99Ms: loopDelayP99Ms(),
  };
}

/** The histogram records each sampling interval whole; the lag is what exceeds the resolution. */
function loopDelayP99Ms(): number {
  return loopDelay.count > 0 ? Math.max(0, loopDelay.percentile(99) / 1e6 - LOOP_DELAY_RESOLUTION_MS) : 0;
}

async function closeAll(): Promise<{ closed: number }> {
  received.measuring = false;
  const closed = clients.length;
  for (const { client } of clients.splice(0)) client.close();
  await sleep(200);
  return { closed };
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(message)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

async function execute(command: WorkerCommand): Promise<unknown> {
  switch (command.type) {
    case 'connect':
      return connect(command);
    case 'subscribe-md':
      return subscribeMarketData(command);
    case 'subscribe-accounts':
      return subscribeAccounts(command);
    case 'notice-arm':
      return noticeArm(command);
    case 'notice-collect':
      return noticeCollect(command);
    case 'measure-start':
      return measureStart();
    case 'measure-stop':
      return measureStop();
    case 'close':
      return closeAll();
  }
}

function reply(message: WorkerReply): void {
  process.send?.(message);
}

process.on('message', (command: WorkerCommand) => {
  void execute(command).then(
    (result) => reply({ type: 'reply', id: command.id, ok: true, result }),
    (error: unknown) => reply({ type: 'reply', id: command.id, ok: false, error: error instanceof Error ? error.stack ?? error.message : String(error) }),
  );
});
// Never outlive the orchestrator.
process.on('disconnect', () => process.exit(0));
