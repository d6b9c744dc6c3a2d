import type { AccountEvent, AccountFieldsByKind, AccountKind, AccountSubscribed } from '#libs/contracts';
import type { DeliveryCounters, GatewayMetrics, UsageMeter } from '#libs/observability';
import { liveEventsAfterRead, type AccountLogAttachment } from './account-log.js';
import type { EngineStamp, Validated } from '#libs/contracts';
import { engineConnectionOf, type GatewaySocket } from './gateway-socket.js';
import { eventPacketPrefix } from './socket-packet.js';

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
}

/** A live engine event as it came in, kept until the account is hydrated so that hydration can add what the log lacks. */
interface ReceivedEvent<K extends AccountKind> {
  ts: number;
  engineSeq: number | undefined;
  fields: AccountFieldsByKind[K];
}

interface AccountState<K extends AccountKind> {
  seq: number;
  items: Map<string, AccountEvent<K>>;
  /** Recent events as serialized frames, oldest first, for replay. */
  log: { seq: number; frame: string }[];
  /** True once the state was rebuilt from the account log (always false without one). */
  hydrated: boolean;
  /** The hydration in flight, shared by every subscriber that waits for it. */
  hydration?: Promise<void>;
  /** Live events received while not hydrated (only with an account log), oldest first, at most `replayDepth`. */
  received: ReceivedEvent<K>[];
}

export type AccountApplyOutcome = 'applied' | 'stale';
export type AccountHydrationOutcome = 'hydrated' | 'failed' | 'timeout';

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

  constructor(
    private readonly options: AccountStreamOptions<K>,
    private readonly metrics: GatewayMetrics,
    private readonly usage?: UsageMeter,
  ) {
    this.livePrefix = eventPacketPrefix(options.namespace, options.liveEvent);
    this.snapshotPrefix = eventPacketPrefix(options.namespace, options.snapshotEvent);
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
    const frame = this.applyTo(state, account, ts, engineSeq, fields);
    if (frame === null) return 'stale';
    const sockets = this.watchers.get(account);
    if (sockets && sockets.size > 0) {
      const now = Date.now();
      for (const socket of sockets) this.write(socket, frame, this.options.liveEvent);
      this.metrics.latency(this.options.namespace, Math.max(0, now - ts) / 1000);
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
    const fresh: AccountState<K> = { seq: 0, items: new Map(), log: [], hydrated: true, received: [] };
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

  /** Sequences one event into the state; its serialized frame, or null when it is stale. */
  private applyTo(state: AccountState<K>, account: string, ts: number, engineSeq: number | undefined, fields: AccountFieldsByKind[K]): string | null {
    if (engineSeq !== undefined && engineSeq <= state.seq) return null;
    state.seq = engineSeq ?? state.seq + 1;
    const event = { account, seq: state.seq, ts, ...fields } as AccountEvent<K>;
    const key = this.options.itemKey(fields) ?? '';
    state.items.delete(key); // re-insert so that iteration order is recency order
    state.items.set(key, event);
    if (state.items.size > this.options.maxItems) state.items.delete(state.items.keys().next().value as string);
    const frame = `${this.livePrefix}${JSON.stringify(event)}]`;
    state.log.push({ seq: state.seq, frame });
    if (state.log.length > this.options.replayDepth) state.log.splice(0, state.log.length - this.options.replayDepth);
    return frame;
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
          this.write(socket, entry.frame, this.options.liveEvent);
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
    return { account, seq: state.seq, replayed, resetRequired };
  }

  unwatch(socket: GatewaySocket, account: string): boolean {
    const sockets = this.watchers.get(account);
    if (!sockets?.delete(socket)) return false;
    if (sockets.size === 0) this.watchers.delete(account);
    this.watchedBySocket.get(socket.id)?.delete(account);
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
  }

  seqOf(account: string): number {
    return this.accounts.get(account)?.seq ?? 0;
  }

  private sendSnapshot(socket: GatewaySocket, account: string, state: AccountState<K>): void {
    const items = [...state.items.values()];
    const payload =
      this.options.itemKey === undefined || this.options.kind === 'portfolio'
        ? { account, seq: state.seq, portfolio: items[items.length - 1] ?? null }
        : { account, seq: state.seq, items };
    this.write(socket, `${this.snapshotPrefix}${JSON.stringify(payload)}]`, this.options.snapshotEvent);
  }

  private write(socket: GatewaySocket, frame: string, event: string): void {
    const connection = engineConnectionOf(socket);
    if (connection.readyState !== 'open') return;
    connection.write(frame);
    this.metrics.sent(this.options.namespace, event, frame.length);
    const delivered = this.deliveredBySocket.get(socket.id);
    if (delivered) {
      delivered.messages += 1;
      delivered.bytes += frame.length;
    }
  }

  private stateOf(account: string): AccountState<K> {
    let state = this.accounts.get(account);
    if (!state) {
      state = { seq: 0, items: new Map(), log: [], hydrated: false, received: [] };
      this.accounts.set(account, state);
    }
    return state;
  }
}
