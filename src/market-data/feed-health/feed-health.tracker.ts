import type { FeedState, FeedStatus, FeedStatusReason, MdChannel, SessionStatus } from '#libs/contracts';

/** How long an instrument may go without an engine event while its session is open: per exchange, with a default. */
export interface FeedCadence {
  /** An open instrument with no quote, trade or book event for longer than this is stale. */
  staleAfterMs: number;
  /** Exchanges whose feeds keep another cadence (a quiet frontier market, a busy crypto venue). */
  staleAfterMsByExchange: ReadonlyMap<string, number>;
}

/** The session of an exchange at `now`, or undefined when nothing is known of it (then its feeds are held to the cadence always). */
export type SessionLookup = (exchange: string, now: number) => { status: SessionStatus; since: number } | undefined;

export type FeedStatusListener = (instrument: string, status: FeedStatus) => void;

/** Channel order of the per-channel engine seqs an instrument's feed keeps. */
const CHANNEL_SLOT: Record<MdChannel, 0 | 1 | 2> = { quote: 0, trade: 1, book: 2 };
const NO_SEQ = -1;

/** One watched instrument: written once per engine event (a timestamp, and a seq when the engine sends one). */
class InstrumentFeed {
  /** When this gateway last received a quote, trade or book event of the instrument (0: none yet). */
  lastEventAt = 0;
  /** The engine's last seq per channel (quote, trade, book), NO_SEQ before the first numbered event. */
  readonly lastSeq = [NO_SEQ, NO_SEQ, NO_SEQ];
  /** When the engine's seq last skipped numbers (0: never). */
  gapAt = 0;
  watchers = 0;
  status: FeedStatus;

  constructor(
    readonly exchange: string,
    readonly watchedSince: number,
  ) {
    this.status = { state: 'live', lastEventAgeMs: null, since: watchedSince, reason: null };
  }
}

/**
 * Feed health per instrument: the age of the engine's last market-data event against the exchange's cadence, the
 * engine's own sequence gaps, and the exchange's session (no alarm while it is closed or halted).
 *
 * One tracker per replica, one entry per watched instrument, shared by every client watching it. The hot path only
 * stores a timestamp (and compares a seq when the engine sends one); states are worked out on a coarse timer and on
 * session changes, and only a change of state or reason is reported — never a tick.
 */
export class FeedHealthTracker {
  private readonly feeds = new Map<string, InstrumentFeed>();
  private timer: NodeJS.Timeout | undefined;
  /** Seq gaps seen since the last check, per exchange (counted by the caller's metric on the check). */
  private readonly gapsSinceCheck = new Map<string, number>();

  constructor(
    private readonly cadence: FeedCadence,
    private readonly sessions: SessionLookup,
    private readonly listener: FeedStatusListener,
    private readonly clock: () => number = Date.now,
  ) {}

  staleAfterMs(exchange: string): number {
    return this.cadence.staleAfterMsByExchange.get(exchange) ?? this.cadence.staleAfterMs;
  }

  /** Starts the coarse check; `onChecked` gets the stale count per exchange after every check (for the gauge). */
  start(intervalMs: number, onChecked: (staleByExchange: ReadonlyMap<string, number>, gapsByExchange: ReadonlyMap<string, number>) => void): void {
    this.stop();
    this.timer = setInterval(() => {
      this.check();
      onChecked(this.staleByExchange(), this.takeGaps());
    }, intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One more watcher of `instrument`; returns its current status (evaluated now for a new entry). */
  watch(instrument: string): FeedStatus {
    let feed = this.feeds.get(instrument);
    if (!feed) {
      const now = this.clock();
      feed = new InstrumentFeed(instrument.slice(0, instrument.indexOf(':')), now);
      this.feeds.set(instrument, feed);
      feed.status = this.evaluate(feed, now, feed.status);
    }
    feed.watchers += 1;
    return feed.status;
  }

  /** One watcher fewer; the entry goes with the last one. */
  unwatch(instrument: string): void {
    const feed = this.feeds.get(instrument);
    if (!feed) return;
    feed.watchers -= 1;
    if (feed.watchers <= 0) this.feeds.delete(instrument);
  }

  isWatched(instrument: string): boolean {
    return this.feeds.has(instrument);
  }

  statusOf(instrument: string): FeedStatus | undefined {
    const feed = this.feeds.get(instrument);
    if (!feed) return undefined;
    return { ...feed.status, lastEventAgeMs: feed.lastEventAt === 0 ? null : this.clock() - feed.lastEventAt };
  }

  /** The hot path: an engine event of `instrument` arrived (with the engine's seq of that subject, if it sends one). */
  onEvent(instrument: string, channel: MdChannel, seq: number | undefined): void {
    const feed = this.feeds.get(instrument);
    if (!feed) return;
    const now = this.clock();
    feed.lastEventAt = now;
    if (seq === undefined) return;
    const slot = CHANNEL_SLOT[channel];
    const last = feed.lastSeq[slot];
    feed.lastSeq[slot] = seq;
    // A lower or equal seq is an engine restart or a repeat, not a loss: numbering starts again from it.
    if (last !== NO_SEQ && seq > last + 1) {
      feed.gapAt = now;
      this.gapsSinceCheck.set(feed.exchange, (this.gapsSinceCheck.get(feed.exchange) ?? 0) + 1);
    }
  }

  /** Re-evaluates every watched instrument; reports each change of state or reason. */
  check(now = this.clock()): void {
    for (const [instrument, feed] of this.feeds) this.update(instrument, feed, now);
  }

  /** An exchange's session changed (engine halt or resume): its instruments are re-evaluated at once, not on the next tick. */
  sessionChanged(exchange: string, now = this.clock()): void {
    for (const [instrument, feed] of this.feeds) if (feed.exchange === exchange) this.update(instrument, feed, now);
  }

  /** Stale instruments per exchange of the watched ones (exchanges with none stale count 0). */
  staleByExchange(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const feed of this.feeds.values()) counts.set(feed.exchange, (counts.get(feed.exchange) ?? 0) + (feed.status.state === 'stale' ? 1 : 0));
    return counts;
  }

  private takeGaps(): Map<string, number> {
    const gaps = new Map(this.gapsSinceCheck);
    this.gapsSinceCheck.clear();
    return gaps;
  }

  private update(instrument: string, feed: InstrumentFeed, now: number): void {
    const next = this.evaluate(feed, now, feed.status);
    if (next === feed.status) return;
    feed.status = next;
    this.listener(instrument, next);
  }

  /** The feed's status at `now`: `current` itself when neither its state nor its reason changed. */
  private evaluate(feed: InstrumentFeed, now: number, current: FeedStatus): FeedStatus {
    const session = this.sessions(feed.exchange, now);
    const ageMs = feed.lastEventAt === 0 ? null : now - feed.lastEventAt;
    let state: FeedState;
    let reason: FeedStatusReason | null;
    let since = now;
    if (session?.status === 'HALTED') {
      [state, reason, since] = ['halted', 'session_halted', Math.min(now, session.since)];
    } else if (session?.status === 'CLOSED' || session?.status === 'PRE_OPEN') {
      [state, reason, since] = ['closed', session.status === 'CLOSED' ? 'session_closed' : 'session_pre_open', Math.min(now, session.since)];
    } else {
      const staleAfterMs = this.staleAfterMs(feed.exchange);
      // Quiet time counts from the last event, or from when there was reason to expect one: watching began, or the
      // session (re)opened. A feed that has been closed all night is not stale the moment the exchange opens.
      const expectedFrom = Math.max(feed.lastEventAt, feed.watchedSince, session ? Math.min(now, session.since) : 0);
      if (feed.gapAt !== 0 && now - feed.gapAt < staleAfterMs) {
        [state, reason, since] = ['stale', 'seq_gap', feed.gapAt];
      } else if (now - expectedFrom > staleAfterMs) {
        [state, reason, since] = ['stale', 'no_events', expectedFrom + staleAfterMs];
      } else {
        [state, reason] = ['live', null];
      }
    }
    if (state === current.state && reason === current.reason) return current;
    return { state, lastEventAgeMs: ageMs, since: Math.min(since, now), reason };
  }
}
