/** Where a request came from: its socket, still connected or not. */
export interface RequestSource {
  readonly connected: boolean;
}

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
 * with the first admission and ends at the next check phase (setImmediate). Queued requests are let through from the
 * check phase in batches sized by what a request has been costing (a batch's time includes the microtasks its
 * requests run, measured by an immediate queued right behind it), one batch per loop turn.
 */
export class RequestTurns {
  /** When the current turn's first request was admitted; undefined when no turn is open. */
  private turnStartedAt: number | undefined;
  private readonly waiting: (() => void)[] = [];
  private drainScheduled = false;
  /** What one request has been costing lately; the first batch takes one request, then batches fill the budget. */
  private requestCostMs: number;
  private batchStartedAt = 0;
  private batchSize = 0;

  constructor(private readonly budgetMs: number) {
    this.requestCostMs = budgetMs;
  }

  /**
   * A request of `source` (a socket) goes on (`next`) now or when its turn comes; one whose turn comes after the socket
   * left is dropped (its handler would subscribe a socket that is gone). Called from the socket's middleware; nothing
   * is kept per socket.
   */
  admit(source: RequestSource, next: () => void): void {
    if (this.waiting.length === 0 && this.hasBudget()) {
      next();
      return;
    }
    this.waiting.push(() => {
      if (source.connected) next();
    });
    this.scheduleDrain();
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
    // Node drains the microtask queue between immediates: `measure` runs once the batch's requests have done their
    // synchronous work and every continuation that follows from it at once.
    setImmediate(this.drain);
    setImmediate(this.measure);
  }

  private readonly drain = (): void => {
    this.batchStartedAt = performance.now();
    const size = Math.max(1, Math.floor(this.budgetMs / this.requestCostMs));
    this.batchSize = 0;
    while (this.batchSize < size && this.waiting.length > 0) {
      this.waiting.shift()?.();
      this.batchSize++;
    }
  };

  private readonly measure = (): void => {
    this.drainScheduled = false;
    if (this.batchSize > 0) {
      const perRequest = (performance.now() - this.batchStartedAt) / this.batchSize;
      this.requestCostMs = Math.max(0.01, 0.3 * this.requestCostMs + 0.7 * perRequest);
    }
    if (this.waiting.length > 0) this.scheduleDrain();
  };
}
