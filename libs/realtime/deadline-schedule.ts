/** Deadlines less than this far ahead are kept to the second; farther ones to the minute, and re-armed nearer. */
const NEAR_MS = 64_000;
const FINE_MS = 1_000;
const COARSE_MS = 60_000;
/** setTimeout's limit. */
const MAX_TIMER_MS = 2_147_483_647;

/**
 * One timer for many items' deadlines (each socket's token-expiry warning or session end): `fire(item)` is called at
 * most a second after the item's deadline, or — for a deadline more than a minute ahead — up to a minute before it,
 * so that the caller, which checks the time itself, arms it again nearer (DomainGateway does).
 *
 * Why not one setTimeout per item: a Node timer is a Timeout object with its arguments (about 220 bytes), and Node
 * groups timers in one list per distinct duration, so deadlines that differ to the millisecond each bring a list of
 * their own (about 120 bytes more): 340 bytes per idle connection (bench heap snapshots). Here an item costs an entry
 * in its slot's Set and one in a WeakMap, and the slots are few: one per second for the next minute, one per minute
 * beyond.
 */
export class DeadlineSchedule<T extends object> {
  /** Items by slot: the slot's time in ms, a whole number of seconds. */
  private readonly slots = new Map<number, Set<T>>();
  /** Each scheduled item's slot, in seconds (a small integer, stored without a heap number). */
  private readonly slotOf = new WeakMap<T, number>();
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Number.POSITIVE_INFINITY;

  constructor(
    private readonly fire: (item: T) => void,
    /** A callback that threw: the others due with it are still called. */
    private readonly failed: (error: unknown, item: T) => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** Schedules `item` for `at` (ms since the epoch), replacing what it had. */
  set(item: T, at: number): void {
    this.delete(item);
    const now = this.now();
    const slotMs = at - now > NEAR_MS ? Math.floor(at / COARSE_MS) * COARSE_MS : Math.ceil(at / FINE_MS) * FINE_MS;
    let slot = this.slots.get(slotMs);
    if (!slot) {
      slot = new Set();
      this.slots.set(slotMs, slot);
    }
    slot.add(item);
    this.slotOf.set(item, slotMs / FINE_MS);
    if (slotMs < this.timerAt) this.arm(slotMs);
  }

  /** Forgets `item`'s deadline, if it has one. */
  delete(item: T): void {
    const seconds = this.slotOf.get(item);
    if (seconds === undefined) return;
    this.slotOf.delete(item);
    const slotMs = seconds * FINE_MS;
    const slot = this.slots.get(slotMs);
    if (!slot) return;
    slot.delete(item);
    // The timer stays armed for an emptied slot: it finds nothing due there and arms for the next.
    if (slot.size === 0) this.slots.delete(slotMs);
  }

  /** Items scheduled (for tests and metrics). */
  get size(): number {
    let size = 0;
    for (const slot of this.slots.values()) size += slot.size;
    return size;
  }

  /** Stops the timer; nothing fires any more until the next `set`. */
  clear(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
    this.slots.clear();
  }

  private arm(slotMs: number): void {
    clearTimeout(this.timer);
    this.timerAt = slotMs;
    this.timer = setTimeout(() => this.run(), Math.min(Math.max(0, slotMs - this.now()), MAX_TIMER_MS));
    // Like the per-socket timers it replaces: a deadline does not keep the process alive.
    this.timer.unref();
  }

  private run(): void {
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
    const now = this.now();
    const due: number[] = [];
    for (const slotMs of this.slots.keys()) if (slotMs <= now) due.push(slotMs);
    for (const slotMs of due) {
      const slot = this.slots.get(slotMs);
      this.slots.delete(slotMs);
      if (!slot) continue;
      for (const item of slot) {
        this.slotOf.delete(item);
        // One item's failure must not cost the others their deadlines.
        try {
          this.fire(item);
        } catch (error) {
          this.failed(error, item);
        }
      }
    }
    let next = Number.POSITIVE_INFINITY;
    for (const slotMs of this.slots.keys()) if (slotMs < next) next = slotMs;
    if (next < this.timerAt) this.arm(next);
  }
}
