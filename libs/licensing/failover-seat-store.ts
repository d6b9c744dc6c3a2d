import { MemorySeatStore } from './memory-seat-store.js';
import type { Seat, SeatClaim, SeatStore } from './seat-store.js';

/** What a replica does with a handshake while the shared seat store cannot be reached (`SEATS_ON_STORE_FAILURE`). */
export type SeatsOnStoreFailure = 'open' | 'closed';

/** A seat store shared by every replica, which can tell when its connection is down. */
export interface SharedSeatStore extends SeatStore {
  /** False while the store's connection is known to be down: claims then fail over at once instead of timing out. */
  readonly reachable: boolean;
  /** Called whenever the connection is (re-)established. */
  onReachable(listener: () => void): void;
}

/** Thrown by `claim` in closed mode while the shared store is unreachable; the outage itself was reported once. */
export class SeatStoreUnavailableError extends Error {
  constructor() {
    super('the shared seat store cannot be reached');
    this.name = 'SeatStoreUnavailableError';
  }
}

export interface FailoverSeatStoreOptions {
  onStoreFailure: SeatsOnStoreFailure;
  /** The shared store stopped answering: this replica now counts on its own (open) or refuses (closed). */
  degraded: (error: unknown) => void;
  /** The shared store holds this replica's seats again. */
  recovered: (seatsReestablished: number) => void;
  /**
   * How long after a failed shared command the first write-back is tried (default 1 s), and the most it backs off to
   * (default 30 s); see the class comment. A re-established connection is tried at once whatever these say.
   */
  recoveryBackoffMs?: { min: number; max: number };
}

const DEFAULT_RECOVERY_BACKOFF_MS = { min: 1_000, max: 30_000 };
/** A store that fails again this soon after recovering backs off twice as long. */
const UNSTABLE_WITHIN_MS = 60_000;

/**
 * Seats counted in the shared store (Redis), with this replica's own count to fall back on while it cannot be reached.
 *
 * Every seat this replica holds is also kept in a local store. When a shared claim fails, or the connection is known to
 * be down, the store enters degraded mode: in `open` mode claims are counted against the licence's limits among this
 * replica's seats alone (per-replica counting: a user can hold up to the limit on each replica), in `closed` mode they
 * are refused. Degraded mode sends nothing to the shared store, so a handshake never waits on a dead connection.
 *
 * Recovery, when the connection is ready again (or at the next renewal): every seat this replica holds, those claimed
 * during the outage included, is written back with a fresh lease; only once that succeeds are claims shared again. The
 * shared counts are then the sum over the replicas again. A user found over the limit keeps the connections already
 * open and gets no new one until under it. Seats freed during the outage are not removed from the shared store: their
 * leases lapse (a Redis that restarted empty holds none anyway).
 *
 * A command can also fail with the connection up: Redis, or this process's event loop, too busy to answer within the
 * command timeout. The write-back is every seat of the replica (tens of thousands of Redis writes), and tried at once it
 * fed the overload it came from: at 100,000 connections coming up on one machine the eight replicas went in and out of
 * degraded mode about a thousand times. So after such a failure the write-back waits `recoveryBackoffMs.min`, and
 * twice as long each time the store fails again within a minute of recovering, up to `max`. A re-established connection
 * (Redis restarted, the network back) is written back at once.
 */
export class FailoverSeatStore implements SeatStore {
  private readonly local = new MemorySeatStore();
  private readonly held = new Map<string, Seat>();
  private degraded = false;
  private recovering = false;
  private readonly backoff: { min: number; max: number };
  private backoffMs: number;
  /** No write-back before this (epoch ms), unless the connection was re-established. */
  private recoverNotBefore = 0;
  private recoveredAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly shared: SharedSeatStore,
    private readonly options: FailoverSeatStoreOptions,
  ) {
    this.backoff = options.recoveryBackoffMs ?? DEFAULT_RECOVERY_BACKOFF_MS;
    this.backoffMs = this.backoff.min;
    shared.onReachable(() => this.recover({ reconnected: true }));
  }

  get isDegraded(): boolean {
    return this.degraded;
  }

  async claim(seat: Seat, userLimit: number, tenantLimit: number): Promise<SeatClaim> {
    if (!this.degraded) {
      if (this.shared.reachable) {
        try {
          const outcome = await this.shared.claim(seat, userLimit, tenantLimit);
          if (outcome === 'ok') await this.hold(seat);
          return outcome;
        } catch (error) {
          this.degrade(error);
        }
      } else {
        this.degrade(new Error('connection to the seat store is down'));
      }
    }
    // A replica without seats has no renewals to retry recovery on: its handshakes do.
    this.recover();
    if (this.options.onStoreFailure === 'closed') throw new SeatStoreUnavailableError();
    const outcome = await this.local.claim(seat, userLimit, tenantLimit);
    if (outcome === 'ok') this.held.set(seat.id, seat);
    return outcome;
  }

  async renew(seats: Seat[]): Promise<void> {
    if (this.degraded) {
      this.recover();
      return;
    }
    try {
      await this.shared.renew(seats);
    } catch (error) {
      this.degrade(error);
    }
  }

  async free(seats: Seat[]): Promise<void> {
    await this.local.free(seats);
    for (const seat of seats) this.held.delete(seat.id);
    if (this.degraded) return;
    try {
      await this.shared.free(seats);
    } catch (error) {
      this.degrade(error);
    }
  }

  async close(): Promise<void> {
    await this.shared.close();
  }

  /** Kept locally whatever the limits: the local store counts every seat of this replica. */
  private async hold(seat: Seat): Promise<void> {
    await this.local.claim(seat, 0, 0);
    this.held.set(seat.id, seat);
  }

  private degrade(error: unknown): void {
    if (this.degraded) return;
    this.degraded = true;
    const now = Date.now();
    this.backoffMs = now - this.recoveredAt < UNSTABLE_WITHIN_MS ? Math.min(this.backoffMs * 2, this.backoff.max) : this.backoff.min;
    this.recoverNotBefore = now + this.backoffMs;
    this.options.degraded(error);
  }

  /** Writes every held seat back with a fresh lease; shared claims resume only once that succeeded. */
  private recover({ reconnected = false } = {}): void {
    if (!this.degraded || this.recovering || !this.shared.reachable) return;
    if (!reconnected && Date.now() < this.recoverNotBefore) return;
    this.recovering = true;
    const written = [...this.held.values()];
    this.shared.renew(written).then(
      () => {
        this.recovering = false;
        this.degraded = false;
        this.recoveredAt = Date.now();
        // Seats claimed locally while the write was under way: written at once, not at the next renewal.
        const writtenIds = new Set(written.map((seat) => seat.id));
        const late = [...this.held.values()].filter((seat) => !writtenIds.has(seat.id));
        this.options.recovered(written.length + late.length);
        if (late.length > 0) this.shared.renew(late).catch((error: unknown) => this.degrade(error));
      },
      () => {
        // Still unreachable: stay degraded; the next ready event, or a claim or renewal after the backoff, tries again.
        this.recovering = false;
        this.backoffMs = Math.min(this.backoffMs * 2, this.backoff.max);
        this.recoverNotBefore = Date.now() + this.backoffMs;
      },
    );
  }
}
