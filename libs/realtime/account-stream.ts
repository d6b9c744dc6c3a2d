import type { AccountEvent, AccountFieldsByKind, AccountKind, AccountSubscribed } from '#libs/contracts';
import type { GatewayMetrics } from '#libs/observability';
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
}

interface AccountState<K extends AccountKind> {
  seq: number;
  items: Map<string, AccountEvent<K>>;
  /** Recent events as serialized frames, oldest first, for replay. */
  log: { seq: number; frame: string }[];
}

export type AccountApplyOutcome = 'applied' | 'stale';

/**
 * One account stream kind (orders, positions or portfolio) in one namespace: per-account sequence, the snapshot
 * state, a bounded replay log, and the sockets watching each account. Each event is serialized once into a Socket.IO
 * frame and that frame is written to every watcher; a socket watching an account gets each event exactly once.
 */
export class AccountStream<K extends AccountKind> {
  private readonly accounts = new Map<string, AccountState<K>>();
  private readonly watchers = new Map<string, Set<GatewaySocket>>();
  private readonly watchedBySocket = new Map<string, Set<string>>();
  private readonly livePrefix: string;
  private readonly snapshotPrefix: string;

  constructor(
    private readonly options: AccountStreamOptions<K>,
    private readonly metrics: GatewayMetrics,
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
    if (engineSeq !== undefined && engineSeq <= state.seq) return 'stale';
    state.seq = engineSeq ?? state.seq + 1;
    const event = { account, seq: state.seq, ts, ...fields } as AccountEvent<K>;
    const key = this.options.itemKey(fields) ?? '';
    state.items.delete(key); // re-insert so that iteration order is recency order
    state.items.set(key, event);
    if (state.items.size > this.options.maxItems) state.items.delete(state.items.keys().next().value as string);
    const frame = `${this.livePrefix}${JSON.stringify(event)}]`;
    state.log.push({ seq: state.seq, frame });
    if (state.log.length > this.options.replayDepth) state.log.splice(0, state.log.length - this.options.replayDepth);
    const sockets = this.watchers.get(account);
    if (sockets && sockets.size > 0) {
      const now = Date.now();
      for (const socket of sockets) this.write(socket, frame, this.options.liveEvent);
      this.metrics.latency(this.options.namespace, Math.max(0, now - ts) / 1000);
    }
    return 'applied';
  }

  /**
   * Starts watching an account: replays what came after `since` when the log still reaches back that far, otherwise
   * sends a snapshot (`resetRequired` tells the client to drop what it had). Synchronous, so no event can fall between
   * the snapshot or replay and the first live event.
   */
  watch(socket: GatewaySocket, account: string, since?: number): AccountSubscribed {
    const state = this.stateOf(account);
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
    return true;
  }

  watchedBy(socket: GatewaySocket): string[] {
    return [...(this.watchedBySocket.get(socket.id) ?? [])];
  }

  removeSocket(socket: GatewaySocket): void {
    for (const account of this.watchedBy(socket)) this.unwatch(socket, account);
    this.watchedBySocket.delete(socket.id);
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
  }

  private stateOf(account: string): AccountState<K> {
    let state = this.accounts.get(account);
    if (!state) {
      state = { seq: 0, items: new Map(), log: [] };
      this.accounts.set(account, state);
    }
    return state;
  }
}
