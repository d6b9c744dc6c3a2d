import type { AccountEvent, AccountFieldsByKind, AccountKind, AccountSubscribed } from '#libs/contracts';
import type { DeliveryCounters, DeliveryRecorder, GatewayMetrics, UsageMeter } from '#libs/observability';
import { AccountDelivery, type AccountCatchUp, type AccountFrame } from './account-delivery.js';
import { liveEventsAfterRead, type AccountLogAttachment } from './account-log.js';
import { DEFLATED, engineMessage, packetLengthOf, writeMessage, type EngineMessage } from './connection-backpressure.js';
import type { EngineStamp, Validated } from '#libs/contracts';
import { engineConnectionOf, type GatewaySocket } from './gateway-socket.js';
import { eventPacketPrefix } from './socket-packet.js';
import { DEFAULT_SLOW_CLIENT_POLICY, type SlowClientPolicy } from './stream-fanout.js';

export interface AccountStreamOptions<K extends AccountKind> {
  kind: K;
  namespace: string;
  liveEvent: string;
  snapshotEvent: string;
  /** The key an event replaces in the snapshot (orderId, symbol); null keeps a single item (portfolio). */
  itemKey: (fields: AccountFieldsByKind[K]) => string | null;
  /** Snapshot items kept per account; the oldest go first. */
  maxItems: number;
  /** Events kept per account for `since` replay. */
  replayDepth: number;
  /** The engine event validator of this kind, for events read back from the account log. */
  validate: (payload: unknown) => Validated<EngineStamp & { fields: AccountFieldsByKind[K] }>;
  /** The market-data fan-out's slow-client policy, applied to account watchers too (default: its defaults). */
  slowClients?: SlowClientPolicy;
}

/** A live engine event as it came in, kept until the account is hydrated so that hydration can add what the log lacks. */
interface ReceivedEvent<K extends AccountKind> {
  ts: number;
  engineSeq: number | undefined;
  fields: AccountFieldsByKind[K];
}

interface AccountState<K extends AccountKind> {
  seq: number;
  /** The latest logged event of each snapshot key, oldest first (at most `maxItems`). */
  items: Map<string, LoggedFrame<K>>;
  /** Recent events as serialized frames, oldest first, for replay and for watchers catching up. */
  log: LoggedFrame<K>[];
  /** The seq of the newest event trimmed off the log (0: none yet): a watcher at or past it can catch up from the log. */
  trimmedThrough: number;
  /** True once the state was rebuilt from the account log (always false without one). */
  hydrated: boolean;
  /** The hydration in flight, shared by every subscriber that waits for it. */
  hydration?: Promise<void>;
  /** Live events received while not hydrated (only with an account log), oldest first, at most `replayDepth`. */
  received: ReceivedEvent<K>[];
}

/**
 * A logged event: its frame and the snapshot key it replaced, for per-key catch-up. The frame is all that is kept of
 * the event: snapshots are spliced together from item frames, and the event as an object is parsed back only for an
 * in-process reader (`itemsOf`: the gateway's valuations of positions and portfolio) and kept with its item. An order
 * event used to be kept as an object too; every one survives the young generation (the log holds thousands per
 * account), and copying those objects was most of the scavenges' pauses on the order path (bench/RESULTS.md).
 */
interface LoggedFrame<K extends AccountKind> extends AccountFrame {
  key: string;
  /** The event as an object, once `itemsOf` asked for it. */
  event: AccountEvent<K> | undefined;
}

export type AccountApplyOutcome = 'applied' | 'stale';
export type AccountHydrationOutcome = 'hydrated' | 'failed' | 'timeout';

const NO_WATCHERS: ReadonlySet<GatewaySocket> = new Set();

/** Two deliveries of one engine event (live and from the log) have the same fingerprint. */
function fingerprintOf(ts: number, engineSeq: number | undefined, fields: unknown): string {
  return `${ts}|${engineSeq ?? ''}|${JSON.stringify(fields)}`;
}

/**
 * One account stream kind (orders, positions or portfolio) in one namespace: per-account sequence, the snapshot
 * state, a bounded replay log, and the sockets watching each account. Each event is serialized once into a Socket.IO
 * frame and that frame is written to every watcher; a socket watching an account gets each event exactly once.
 */
export class AccountStream<K extends AccountKind> {
  private readonly accounts = new Map<string, AccountState<K>>();
  private readonly watchers = new Map<string, Set<GatewaySocket>>();
  private readonly watchedBySocket = new Map<string, Set<string>>();
  /** Each watching socket's usage counters, looked up once when it starts watching. */
  private readonly deliveredBySocket = new Map<string, DeliveryCounters>();
  private readonly livePrefix: string;
  private readonly snapshotPrefix: string;
  private accountLog?: AccountLogAttachment;
  /** Writes live events to each watcher, or holds its cursor while its connection is backed up (slow clients). */
  private readonly delivery: AccountDelivery;
  private readonly liveDelivery: DeliveryRecorder;
  private readonly snapshotDelivery: DeliveryRecorder;
  /** Derived events' bookkeeping (gateway valuations): who just got a snapshot or a replay. */
  private watchObserver?: (socket: GatewaySocket, account: string) => void;
  /** Derived events' metrics, per event name, resolved once. */
  private readonly derivedRecorders = new Map<string, DeliveryRecorder>();

  constructor(
    private readonly options: AccountStreamOptions<K>,
    private readonly metrics: GatewayMetrics,
    private readonly usage?: UsageMeter,
  ) {
    // Frames are kept and written as engine.io messages (see EngineMessage): the prefixes include its packet type.
    this.livePrefix = engineMessage(eventPacketPrefix(options.namespace, options.liveEvent));
    this.snapshotPrefix = engineMessage(eventPacketPrefix(options.namespace, options.snapshotEvent));
    this.liveDelivery = metrics.deliveryRecorder(options.namespace, options.liveEvent);
    this.snapshotDelivery = metrics.deliveryRecorder(options.namespace, options.snapshotEvent);
    // Orders are never skipped; a position or a portfolio is the whole state of its key, so a watcher that fell behind
    // needs only the latest of each (whoever produced it: every event of the stream goes through `applyTo`).
    const catchUp: AccountCatchUp = options.kind === 'order' ? 'complete' : 'latest-per-key';
    this.delivery = new AccountDelivery(
      options.namespace,
      catchUp,
      options.slowClients ?? DEFAULT_SLOW_CLIENT_POLICY,
      { framesAfter: (account, seq, mode) => this.framesAfter(account, seq, mode), snapshot: (account) => this.snapshotFrame(account) },
      metrics,
      (socket, frame, recorder) => this.write(socket, frame, recorder ?? this.liveDelivery),
    );
  }

  /**
   * Applies one engine event. The engine's own `seq`, when sent, is authoritative (the same on every replica); an
   * event at or below the account's current seq is a duplicate or out of order and is dropped.
   */
  apply(account: string, ts: number, engineSeq: number | undefined, fields: AccountFieldsByKind[K]): AccountApplyOutcome {
    const state = this.stateOf(account);
    if (this.accountLog && !state.hydrated) {
      state.received.push({ ts, engineSeq, fields });
      if (state.received.length > this.options.replayDepth) state.received.splice(0, state.received.length - this.options.replayDepth);
    }
    const logged = this.applyTo(state, account, ts, engineSeq, fields);
    if (logged === null) return 'stale';
    const sockets = this.watchers.get(account);
    if (sockets && sockets.size > 0) {
      for (const socket of sockets) this.delivery.deliver(socket, account, logged);
      this.liveDelivery.latency(Math.max(0, Date.now() - ts) / 1000);
    }
    return 'applied';
  }

  /**
   * From now on, an account's state is rebuilt from the durable log the first time a client needs it (see `prepare`).
   * Accounts this replica already holds state for are rebuilt too when first watched.
   */
  attachLog(attachment: AccountLogAttachment): void {
    this.accountLog = attachment;
  }

  /**
   * What `watch` needs first: null when the account's state can be used as it is, else the hydration to wait for
   * (one per account at a time, shared by every subscriber). Never rejects: a hydration that fails or times out leaves
   * the replica's own state (the behaviour without a log), with a warning and a metric.
   */
  prepare(account: string): Promise<void> | null {
    if (!this.accountLog) return null;
    const state = this.stateOf(account);
    if (state.hydration) return state.hydration;
    // Rebuilding under watchers would renumber what they already have: only an unwatched account is hydrated.
    if (state.hydrated || (this.watchers.get(account)?.size ?? 0) > 0) return null;
    const hydration = this.hydrate(account, this.accountLog).finally(() => {
      if (this.accounts.get(account) === state) delete state.hydration;
    });
    state.hydration = hydration;
    return hydration;
  }

  private async hydrate(account: string, attachment: AccountLogAttachment): Promise<void> {
    const abort = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), attachment.timeoutMs);
    });
    let outcome: AccountHydrationOutcome;
    try {
      const read = await Promise.race([attachment.log.read(account, this.options.kind, abort.signal), timeout]);
      if (read === 'timeout') {
        outcome = 'timeout';
        abort.abort();
        attachment.warn({ namespace: this.options.namespace, account, timeoutMs: attachment.timeoutMs }, 'account log hydration timed out; serving this replica\'s own state');
      } else {
        this.rebuild(account, read);
        outcome = 'hydrated';
      }
    } catch (error) {
      outcome = 'failed';
      abort.abort();
      attachment.warn({ namespace: this.options.namespace, account, err: error }, 'account log hydration failed; serving this replica\'s own state');
    } finally {
      clearTimeout(timer);
    }
    this.metrics.accountHydration(this.options.namespace, outcome);
  }

  /**
   * Replaces the account's state by one built from the log's events, then adds the live events this replica received
   * that the log read did not hold. Synchronous, so no live event can come in between.
   */
  private rebuild(account: string, payloads: unknown[]): void {
    const previous = this.stateOf(account);
    const fresh: AccountState<K> = { seq: 0, items: new Map(), log: [], trimmedThrough: 0, hydrated: true, received: [] };
    let numbered = false;
    const readFingerprints: string[] = [];
    for (const payload of payloads) {
      const result = this.options.validate(payload);
      if (!result.ok) continue; // the live path dropped and counted it already
      const { ts, seq, fields } = result.value;
      this.applyTo(fresh, account, ts, seq, fields);
      numbered = seq !== undefined;
      readFingerprints.push(fingerprintOf(ts, seq, fields));
    }
    // Fingerprints are only needed (and only computed) when the engine does not number its events.
    const received = previous.received.map((event) => ({ ...event, fingerprint: numbered ? '' : fingerprintOf(event.ts, event.engineSeq, event.fields) }));
    for (const event of liveEventsAfterRead(received, readFingerprints, numbered)) this.applyTo(fresh, account, event.ts, event.engineSeq, event.fields);
    this.accounts.set(account, fresh);
  }

  /** Sequences one event into the state; its logged frame, or null when it is stale. */
  private applyTo(state: AccountState<K>, account: string, ts: number, engineSeq: number | undefined, fields: AccountFieldsByKind[K]): LoggedFrame<K> | null {
    if (engineSeq !== undefined && engineSeq <= state.seq) return null;
    state.seq = engineSeq ?? state.seq + 1;
    const event = { account, seq: state.seq, ts, ...fields } as AccountEvent<K>;
    const key = this.options.itemKey(fields) ?? '';
    const logged: LoggedFrame<K> = { seq: state.seq, frame: `${this.livePrefix}${JSON.stringify(event)}]` as EngineMessage, key, event: undefined };
    const replaced = state.items.get(key);
    // Its parsed event is read through the item only: the log need not keep it once the item moved on.
    if (replaced) replaced.event = undefined;
    state.items.delete(key); // re-insert so that iteration order is recency order
    state.items.set(key, logged);
    if (state.items.size > this.options.maxItems) state.items.delete(state.items.keys().next().value as string);
    state.log.push(logged);
    // Trimmed an eighth at a time: shifting a full log (10,000 entries) on every event cost more than the event itself.
    if (state.log.length > this.options.replayDepth + (this.options.replayDepth >> 3)) {
      const trimmed = state.log.splice(0, state.log.length - this.options.replayDepth);
      state.trimmedThrough = trimmed[trimmed.length - 1].seq;
    }
    return logged;
  }

  /** The logged events after `seq` (see AccountBacklog.framesAfter). */
  private framesAfter(account: string, seq: number, catchUp: AccountCatchUp): readonly AccountFrame[] | null {
    const state = this.accounts.get(account);
    if (!state || seq < state.trimmedThrough) return null;
    const log = state.log;
    // The log is in seq order: find the first entry after `seq`.
    let low = 0;
    let high = log.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (log[middle].seq <= seq) low = middle + 1;
      else high = middle;
    }
    if (catchUp === 'complete') return log.slice(low);
    const latest: AccountFrame[] = [];
    for (let i = low; i < log.length; i++) {
      const entry = log[i];
      if (state.items.get(entry.key)?.seq === entry.seq) latest.push(entry);
    }
    return latest;
  }

  /**
   * Starts watching an account: replays what came after `since` when the log still reaches back that far, otherwise
   * sends a snapshot (`resetRequired` tells the client to drop what it had). Synchronous, so no event can fall between
   * the snapshot or replay and the first live event.
   */
  watch(socket: GatewaySocket, account: string, since?: number): AccountSubscribed {
    const state = this.stateOf(account);
    const { tenant, userId } = socket.data.user;
    if (this.usage && !this.deliveredBySocket.has(socket.id)) this.deliveredBySocket.set(socket.id, this.usage.countersFor(tenant, userId, this.options.namespace));
    let replayed = 0;
    let resetRequired = false;
    if (since !== undefined && since <= state.seq) {
      const first = state.log[0];
      const reachesBack = since === state.seq || (first !== undefined && first.seq <= since + 1);
      if (reachesBack) {
        for (const entry of state.log) {
          if (entry.seq <= since) continue;
          this.write(socket, entry.frame, this.liveDelivery);
          replayed++;
        }
      } else {
        resetRequired = true;
        this.sendSnapshot(socket, account, state);
      }
    } else {
      // No `since`, or a `since` from the future (another gateway's numbering, a restarted engine): start afresh.
      resetRequired = since !== undefined;
      this.sendSnapshot(socket, account, state);
    }
    let sockets = this.watchers.get(account);
    if (!sockets) {
      sockets = new Set();
      this.watchers.set(account, sockets);
    }
    if (!sockets.has(socket)) {
      sockets.add(socket);
      this.metrics.subscriptionsChanged(this.options.namespace, 1);
      this.usage?.accountWatched(tenant, userId, this.options.namespace);
    }
    let watched = this.watchedBySocket.get(socket.id);
    if (!watched) {
      watched = new Set();
      this.watchedBySocket.set(socket.id, watched);
    }
    watched.add(account);
    this.delivery.watching(socket, account, state.seq);
    this.watchObserver?.(socket, account);
    return { account, seq: state.seq, replayed, resetRequired };
  }

  unwatch(socket: GatewaySocket, account: string): boolean {
    const sockets = this.watchers.get(account);
    if (!sockets?.delete(socket)) return false;
    if (sockets.size === 0) this.watchers.delete(account);
    this.watchedBySocket.get(socket.id)?.delete(account);
    this.delivery.unwatching(socket, account);
    this.metrics.subscriptionsChanged(this.options.namespace, -1);
    this.usage?.accountUnwatched(socket.data.user.tenant, socket.data.user.userId, this.options.namespace);
    return true;
  }

  watchedBy(socket: GatewaySocket): string[] {
    return [...(this.watchedBySocket.get(socket.id) ?? [])];
  }

  removeSocket(socket: GatewaySocket): void {
    for (const account of this.watchedBy(socket)) this.unwatch(socket, account);
    this.watchedBySocket.delete(socket.id);
    this.deliveredBySocket.delete(socket.id);
    this.delivery.removeSocket(socket);
  }

  seqOf(account: string): number {
    return this.accounts.get(account)?.seq ?? 0;
  }

  // ---- Derived events (gateway valuations, docs/protocol.md §6.8): read the engine state and write to the watchers,
  // never sequenced, logged or replayed.

  /** The accounts watched on this replica right now. */
  watchedAccounts(): IterableIterator<string> {
    return this.watchers.keys();
  }

  /** The sockets watching `account` here (empty when none). */
  watchersOf(account: string): ReadonlySet<GatewaySocket> {
    return this.watchers.get(account) ?? NO_WATCHERS;
  }

  /** The account's items as the engine last sent them (the snapshot state), oldest first; none for an unknown account. */
  *itemsOf(account: string): Generator<AccountEvent<K>, void, undefined> {
    const state = this.accounts.get(account);
    if (!state) return;
    for (const item of state.items.values()) yield (item.event ??= this.eventOf(item));
  }

  /** The event a logged frame carries: its JSON is the frame less the packet's prefix and closing bracket. */
  private eventOf(item: LoggedFrame<K>): AccountEvent<K> {
    // The frame was serialized from a validated event of this stream (applyTo): parsing it back gives that event.
    return JSON.parse(this.itemJson(item)) as AccountEvent<K>;
  }

  private itemJson(item: LoggedFrame<K>): string {
    return item.frame.slice(this.livePrefix.length, -1);
  }

  /** Tells `observer` of every `watch` (the socket was just sent a snapshot or a replay of the account). */
  observeWatches(observer: (socket: GatewaySocket, account: string) => void): void {
    this.watchObserver = observer;
  }

  /**
   * Hands a derived event of `account` to one of its watchers, through the same slow-client delivery as the stream's
   * own events: written now when the watcher keeps up, else conflated to the account's latest and written after the
   * events it is owed (dropped if based on an older state than it then holds). `seq`: the account's seq it is based on.
   */
  sendDerived(socket: GatewaySocket, account: string, seq: number, frame: EngineMessage, event: string): void {
    this.delivery.deliverDerived(socket, account, { seq, frame, recorder: this.derivedRecorder(event) });
  }

  private derivedRecorder(event: string): DeliveryRecorder {
    let recorder = this.derivedRecorders.get(event);
    if (!recorder) {
      recorder = this.metrics.deliveryRecorder(this.options.namespace, event);
      this.derivedRecorders.set(event, recorder);
    }
    return recorder;
  }

  private sendSnapshot(socket: GatewaySocket, account: string, state: AccountState<K>): void {
    this.write(socket, this.snapshotOf(account, state).frame, this.snapshotDelivery);
  }

  private snapshotFrame(account: string): AccountFrame {
    return this.snapshotOf(account, this.stateOf(account));
  }

  /**
   * The snapshot packet, spliced from the items' logged JSON: the same text as `JSON.stringify` of
   * `{ account, seq, items }` (or `{ account, seq, portfolio }`) over the events themselves.
   */
  private snapshotOf(account: string, state: AccountState<K>): AccountFrame {
    const head = `${this.snapshotPrefix}{"account":${JSON.stringify(account)},"seq":${state.seq},`;
    let body: string;
    if (this.options.kind === 'portfolio') {
      let latest: LoggedFrame<K> | undefined;
      for (const item of state.items.values()) latest = item;
      body = `"portfolio":${latest ? this.itemJson(latest) : 'null'}`;
    } else {
      const items: string[] = [];
      for (const item of state.items.values()) items.push(this.itemJson(item));
      body = `"items":[${items.join(',')}]`;
    }
    return { seq: state.seq, frame: `${head}${body}}]` as EngineMessage };
  }

  /**
   * Straight to the WebSocket when nothing waits in engine.io (see writePacket). Deflatable as engine.io would send it:
   * where a client negotiated permessage-deflate, ws compresses a packet from its 1 KB threshold (snapshots, replays).
   */
  private write(socket: GatewaySocket, frame: EngineMessage, recorder: DeliveryRecorder): void {
    const connection = engineConnectionOf(socket);
    if (connection.readyState !== 'open') return;
    writeMessage(connection, frame, DEFLATED);
    const bytes = packetLengthOf(frame);
    recorder.sent(bytes, 1);
    const delivered = this.deliveredBySocket.get(socket.id);
    if (delivered) {
      delivered.messages += 1;
      delivered.bytes += bytes;
    }
  }

  private stateOf(account: string): AccountState<K> {
    let state = this.accounts.get(account);
    if (!state) {
      state = { seq: 0, items: new Map(), log: [], trimmedThrough: 0, hydrated: false, received: [] };
      this.accounts.set(account, state);
    }
    return state;
  }
}
