import type { DeliveryRecorder, GatewayMetrics } from '#libs/observability';
import { connectionHasRoom, disconnectSlowClient, type EngineMessage } from './connection-backpressure.js';
import { engineConnectionOf, type EngineConnection, type GatewaySocket } from './gateway-socket.js';
import type { SlowClientPolicy } from './stream-fanout.js';

/** One account event as its stream keeps it: its seq and its serialized packet, as an engine.io message. */
export interface AccountFrame {
  seq: number;
  frame: EngineMessage;
}

/**
 * How a watcher that fell behind catches up on an account:
 * - `complete` (orders): every event, in order; a watcher the account's log no longer reaches back for is
 *   disconnected with SLOW_CLIENT (its client resubscribes with `since` and gets a replay or a snapshot);
 * - `latest-per-key` (positions, portfolio): each event is the whole state of its key (an instrument's position, the
 *   account's portfolio), so only the latest of each key still owed is sent; a watcher the log no longer reaches back
 *   for gets a fresh snapshot.
 */
export type AccountCatchUp = 'complete' | 'latest-per-key';

/**
 * A derived event of one account (a gateway valuation, docs/protocol.md §6.8): not an event of the stream, never
 * logged or replayed. `seq` is the account's seq it is based on; one frame is shared by every watcher it goes to.
 */
export interface DerivedAccountFrame extends AccountFrame {
  /** Where it is counted (its own event name). */
  recorder: DeliveryRecorder;
}

/** What the account stream tells its delivery about an account's retained events. */
export interface AccountBacklog {
  /**
   * The events of `account` after `seq`, oldest first (`latest-per-key`: only those still the latest of their key), or
   * null when the retained log no longer reaches back to `seq`.
   */
  framesAfter(account: string, seq: number, catchUp: AccountCatchUp): readonly AccountFrame[] | null;
  /** A fresh snapshot packet of the account and the seq it stands at. */
  snapshot(account: string): AccountFrame;
}

/** Where one socket stands on one account it watches. */
interface AccountCursor {
  readonly account: string;
  /** The seq of the last event (or snapshot, or replay) written to the socket. */
  sentSeq: number;
  /** The latest derived event not written yet (the socket was behind): written after what it is owed, if still current. */
  derived?: DerivedAccountFrame;
}

/** One socket's account watches and whether it keeps up with them. */
class WatchLane {
  readonly cursors = new Map<string, AccountCursor>();
  /** Accounts with events not yet written; while not empty, every new event of this socket waits its turn here. */
  readonly backlog = new Set<AccountCursor>();
  /** When the backlog last went from empty to not empty (0: it keeps up). */
  behindSince = 0;
  recheck: NodeJS.Timeout | undefined;
  removed = false;
  constructor(
    readonly socket: GatewaySocket,
    readonly connection: EngineConnection,
  ) {}
}

/**
 * Live delivery of one account stream kind to its watching sockets, with the market-data fan-out's slow-client policy
 * (the same connection limits, grace period and SLOW_CLIENT disconnect: `connection-backpressure.ts`).
 *
 * A socket that keeps up gets each event written as it is applied: no timer, no copy, one check of its connection's
 * queue. Once its connection holds more than the policy allows, its events are not queued for it: the socket keeps
 * only a cursor (the last seq written) per account, and catches up from the account's own retained log (shared by
 * every watcher) when its connection drains, as the catch-up mode says. Memory per watcher is therefore bounded
 * whatever the event rate: one cursor per watched account, plus what its connection may hold before writes stop
 * (`maxQueuedFrames` engine.io packets, `maxQueuedBytes` WebSocket bytes, plus the one packet that crossed the limit).
 * A socket still behind after `graceMs` is disconnected with SLOW_CLIENT, as for market data.
 */
export class AccountDelivery {
  private readonly lanes = new Map<string, WatchLane>();

  constructor(
    private readonly namespace: string,
    private readonly catchUp: AccountCatchUp,
    private readonly policy: SlowClientPolicy,
    private readonly backlog: AccountBacklog,
    private readonly metrics: Pick<GatewayMetrics, 'slowClient'>,
    /** Writes one packet to the socket and counts it (a live event's, unless a derived event's recorder is given). */
    private readonly send: (socket: GatewaySocket, frame: EngineMessage, recorder?: DeliveryRecorder) => void,
  ) {}

  /** The socket now holds the account up to `seq` (after its snapshot or replay); live events follow from there. */
  watching(socket: GatewaySocket, account: string, seq: number): void {
    let lane = this.lanes.get(socket.id);
    if (!lane) {
      lane = new WatchLane(socket, engineConnectionOf(socket));
      this.lanes.set(socket.id, lane);
    }
    let cursor = lane.cursors.get(account);
    if (!cursor) {
      cursor = { account, sentSeq: seq };
      lane.cursors.set(account, cursor);
    }
    cursor.sentSeq = seq;
    cursor.derived = undefined; // the snapshot or replay supersedes it; the next one is based on what it holds now
    lane.backlog.delete(cursor);
    if (lane.backlog.size === 0) lane.behindSince = 0;
  }

  unwatching(socket: GatewaySocket, account: string): void {
    const lane = this.lanes.get(socket.id);
    const cursor = lane?.cursors.get(account);
    if (!lane || !cursor) return;
    lane.cursors.delete(account);
    lane.backlog.delete(cursor);
    if (lane.cursors.size === 0) this.removeSocket(socket);
  }

  removeSocket(socket: GatewaySocket): void {
    const lane = this.lanes.get(socket.id);
    if (!lane) return;
    lane.removed = true;
    clearTimeout(lane.recheck);
    this.lanes.delete(socket.id);
  }

  /** One applied event for a socket watching its account: written now if the socket keeps up, else owed. */
  deliver(socket: GatewaySocket, account: string, event: AccountFrame): void {
    const lane = this.lanes.get(socket.id);
    const cursor = lane?.cursors.get(account);
    if (!lane || !cursor) return;
    if (lane.backlog.size === 0 && connectionHasRoom(lane.connection, this.policy)) {
      this.send(socket, event.frame);
      cursor.sentSeq = event.seq;
      return;
    }
    if (lane.backlog.size === 0) {
      lane.behindSince = Date.now();
      this.metrics.slowClient(this.namespace, 'behind');
    }
    lane.backlog.add(cursor);
    this.armRecheck(lane);
  }

  /**
   * A derived event for a socket watching its account: written now if the socket keeps up, else conflated (only the
   * account's latest is kept, written once the socket has caught up on the account). Never a reason to disconnect.
   */
  deliverDerived(socket: GatewaySocket, account: string, derived: DerivedAccountFrame): void {
    const lane = this.lanes.get(socket.id);
    const cursor = lane?.cursors.get(account);
    if (!lane || !cursor) return;
    if (lane.backlog.size === 0 && connectionHasRoom(lane.connection, this.policy)) {
      this.send(socket, derived.frame, derived.recorder);
      return;
    }
    if (lane.backlog.size === 0) {
      lane.behindSince = Date.now();
      this.metrics.slowClient(this.namespace, 'behind');
    }
    cursor.derived = derived;
    lane.backlog.add(cursor);
    this.armRecheck(lane);
  }

  private armRecheck(lane: WatchLane): void {
    lane.recheck ??= setTimeout(() => {
      lane.recheck = undefined;
      this.catchUpLane(lane);
    }, this.policy.recheckMs);
  }

  /** Writes what the socket is owed, as far as its connection takes it; disconnects it when it stays behind too long. */
  private catchUpLane(lane: WatchLane): void {
    if (lane.removed || lane.backlog.size === 0) return;
    if (Date.now() - lane.behindSince > this.policy.graceMs) return this.disconnect(lane, `more than ${this.policy.graceMs} ms behind the stream`);
    for (const cursor of lane.backlog) {
      if (!connectionHasRoom(lane.connection, this.policy)) return this.armRecheck(lane);
      const owed = this.backlog.framesAfter(cursor.account, cursor.sentSeq, this.catchUp);
      if (owed === null) {
        // The account's log moved past what this socket has: orders cannot be skipped, a state stream can resync.
        if (this.catchUp === 'complete') return this.disconnect(lane, `further behind account ${cursor.account} than its log keeps: resubscribe with since`);
        const snapshot = this.backlog.snapshot(cursor.account);
        this.metrics.slowClient(this.namespace, 'resync');
        this.send(lane.socket, snapshot.frame);
        cursor.sentSeq = snapshot.seq;
        if (!this.flushDerived(lane, cursor)) return this.armRecheck(lane);
        lane.backlog.delete(cursor);
        continue;
      }
      let written = 0;
      while (written < owed.length && connectionHasRoom(lane.connection, this.policy)) {
        const event = owed[written++];
        this.send(lane.socket, event.frame);
        cursor.sentSeq = event.seq;
      }
      if (written < owed.length || !this.flushDerived(lane, cursor)) return this.armRecheck(lane);
      lane.backlog.delete(cursor);
    }
    lane.behindSince = 0;
  }

  /**
   * Writes the account's pending derived event once the socket holds every event it was owed: dropped when it is based
   * on an older state than the socket now holds (the next round sends a current one). False while there is no room.
   */
  private flushDerived(lane: WatchLane, cursor: AccountCursor): boolean {
    const derived = cursor.derived;
    if (!derived) return true;
    if (derived.seq < cursor.sentSeq) {
      cursor.derived = undefined;
      return true;
    }
    if (!connectionHasRoom(lane.connection, this.policy)) return false;
    cursor.derived = undefined;
    this.send(lane.socket, derived.frame, derived.recorder);
    return true;
  }

  private disconnect(lane: WatchLane, message: string): void {
    this.metrics.slowClient(this.namespace, 'disconnected');
    this.removeSocket(lane.socket);
    disconnectSlowClient(lane.socket, message);
  }
}
