/**
 * Client requests get at most `budgetMs` of each event-loop turn; the rest wait, in arrival order, for the next turns.
 *
 * Why: when every dashboard resubscribes at once (a replica restart, a failover at the open), a thousand `subscribe`
 * frames become readable together and Node handles them all in one poll phase — validation, entitlement checks,
 * snapshots and acks, most of a second in one go. Meanwhile no fan-out timer fires and the engine's events pile up in
 * the NATS socket, to be drained in one more long batch: the hot instruments' latency over the first seconds was that
 * stall (profiled in the bench's storm scenario). Capping each turn's request work lets timers and engine input run
 * between slices; a request waits at most for the ones queued before it.
 *
 * Requests are admitted at once while the current turn has budget left (the usual case: nothing waits). A turn starts
 * with the first admission and ends at the next check phase (setImmediate); queued requests are let through from
 * there, each after the previous one's synchronous part, until the budget is spent, then again one turn later.
 */
export class RequestTurns {
  /** When the current turn's first request was admitted; undefined when no turn is open. */
  private turnStartedAt: number | undefined;
  private readonly waiting: (() => void)[] = [];
  private drainScheduled = false;

  constructor(private readonly budgetMs: number) {}

  /**
   * Socket.IO middleware (`socket.use`) for one socket: lets each packet through now or when its turn comes; a packet
   * whose turn comes after the socket left is dropped (its handler would subscribe a socket that is gone).
   */
  middleware(connected: () => boolean): (packet: unknown[], next: (error?: Error) => void) => void {
    return (_packet, next) => {
      if (this.waiting.length === 0 && this.hasBudget()) {
        next();
        return;
      }
      this.waiting.push(() => {
        if (connected()) next();
      });
      this.scheduleDrain();
    };
  }

  /** Requests waiting for a later turn. */
  get backlog(): number {
    return this.waiting.length;
  }

  private hasBudget(): boolean {
    const now = performance.now();
    if (this.turnStartedAt === undefined) {
      this.turnStartedAt = now;
      setImmediate(this.endTurn);
      return true;
    }
    return now - this.turnStartedAt < this.budgetMs;
  }

  private readonly endTurn = (): void => {
    this.turnStartedAt = undefined;
  };

  private scheduleDrain(): void {
    if (this.drainScheduled) return;
    this.drainScheduled = true;
    setImmediate(this.drain);
  }

  private readonly drain = (): void => {
    this.drainScheduled = false;
    this.admitNext();
  };

  /**
   * Lets one request through, then decides on the next in a microtask queued behind the request's own continuations:
   * the time it took so far counts against the turn.
   */
  private readonly admitNext = (): void => {
    if (this.waiting.length === 0) return;
    if (!this.hasBudget()) {
      this.scheduleDrain();
      return;
    }
    const next = this.waiting.shift();
    next?.();
    queueMicrotask(this.admitNext);
  };
}
