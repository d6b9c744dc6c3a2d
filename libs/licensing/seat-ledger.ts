import { GatewayError, type Licence } from '#libs/contracts';
import type { Logger } from '#libs/observability';
import { SeatStoreUnavailableError } from './failover-seat-store.js';
import type { Seat, SeatStore } from './seat-store.js';

export interface SeatHolder {
  userId: string;
  tenant: string;
}

export interface SeatLedgerOptions {
  nodeId: string;
  /** How often held seats are renewed in a store with leases (a third of the lease). */
  renewEveryMs: number;
  /** Told the number of seats this replica holds whenever it changes. */
  onSeatsChanged?: (seats: number) => void;
  /**
   * While this says true, renewals wait (at most half a renewal period, inside the lease of three): work that every
   * connection waits for, such as a notice being written to all of them, goes first, and Redis is not busy renewing
   * every replica's seats meanwhile.
   */
  deferRenewal?: () => boolean;
}

/** Held seats are renewed in this many slices, spread over the renewal period. */
const RENEW_SLICES = 10;
/** Renewals wait for `deferRenewal` at most half a renewal period. */
const MAX_DEFERRED_SLICES = RENEW_SLICES / 2;

interface HeldSeat {
  seat: Seat;
  /**
   * The namespace sockets riding on this connection: the seat is freed when the last one leaves. An array: a
   * connection carries one to four namespaces, and a Set costs several times as much memory per connection.
   */
  sockets: string[];
}

/**
 * This replica's seats: one per dashboard connection (engine.io connection), however many namespaces it opens. The
 * handshake of a connection's first namespace claims the seat against the licence's `maxConnections` (per user) and
 * `maxTenantConnections` (per tenant); later namespaces on the same connection ride on it. It is freed when the
 * connection's last namespace socket leaves, when the connection closes, and at shutdown.
 */
export class SeatLedger {
  /** By seat key: the connection and the user (namespaces of one connection may carry different users' tokens). */
  private readonly held = new Map<string, HeldSeat>();
  /**
   * The seat keys held on each connection (one per user whose token opened a namespace on it): the key itself while
   * there is one, as there nearly always is (an array of one is 56 bytes more per connection), an array from two on.
   */
  private readonly keysByConnection = new Map<string, string | string[]>();
  private readonly pending = new Map<string, Promise<void>>();
  private renewTimer?: NodeJS.Timeout;

  constructor(
    private readonly store: SeatStore,
    private readonly options: SeatLedgerOptions,
    private readonly logger: Logger,
  ) {}

  /**
   * Takes a seat for this connection and user, or joins the one it already holds (another namespace of the same
   * connection): says which. Throws CONNECTION_LIMIT when the user or tenant has no seat left, ENGINE_UNAVAILABLE when
   * the store cannot count.
   */
  async acquire(connectionId: string, socketId: string, holder: SeatHolder, licence: Licence): Promise<'claimed' | 'joined'> {
    const key = seatKey(connectionId, holder.userId);
    for (;;) {
      const held = this.held.get(key);
      if (held) {
        addOnce(held.sockets, socketId);
        return 'joined';
      }
      // Another namespace of this connection is claiming its seat right now: share the outcome.
      const pending = this.pending.get(key);
      if (!pending) break;
      await pending.catch(() => undefined);
    }
    const claim = this.claim(connectionId, socketId, key, holder, licence);
    this.pending.set(key, claim);
    try {
      await claim;
    } finally {
      this.pending.delete(key);
    }
    return 'claimed';
  }

  /** A namespace socket left; the seat goes with the connection's last one. */
  release(connectionId: string, socketId: string): void {
    for (const key of this.keysOf(connectionId)) {
      const held = this.held.get(key);
      if (!held || !removeOnce(held.sockets, socketId)) continue;
      if (held.sockets.length === 0) this.free(connectionId, [key]);
      return;
    }
  }

  /** The connection closed: every seat on it is free. */
  releaseConnection(connectionId: string): void {
    const keys = this.keysOf(connectionId);
    if (keys.length > 0) this.free(connectionId, [...keys]);
  }

  private free(connectionId: string, keys: string[]): void {
    const seats: Seat[] = [];
    const keysOfConnection = this.keysOf(connectionId).slice();
    for (const key of keys) {
      const held = this.held.get(key);
      if (!held) continue;
      this.held.delete(key);
      removeOnce(keysOfConnection, key);
      seats.push(held.seat);
    }
    if (keysOfConnection.length === 0) this.keysByConnection.delete(connectionId);
    else this.keysByConnection.set(connectionId, keysOfConnection.length === 1 ? keysOfConnection[0] : keysOfConnection);
    if (seats.length === 0) return;
    this.options.onSeatsChanged?.(this.held.size);
    this.store.free(seats).catch((error: unknown) => this.logger.warn({ err: error }, 'seat could not be freed; its lease will lapse'));
  }

  /** The seat keys held on a connection, as an array (a fresh one when the map holds a single key). */
  private keysOf(connectionId: string): readonly string[] {
    const keys = this.keysByConnection.get(connectionId);
    return keys === undefined ? [] : typeof keys === 'string' ? [keys] : keys;
  }

  get inUse(): number {
    return this.held.size;
  }

  /**
   * Nest lifecycle (a value provider): renew leases while running, a tenth of the seats every tenth of `renewEveryMs`.
   * All at once, 8 replicas of 12,500 seats each, started together, kept Redis busy for about half a second every
   * renewal period, and every other command (a handshake's claim, an operator action) waited behind it. A seat that
   * moves between slices as others are freed may miss one round, and renewals wait while `deferRenewal` says so (up
   * to half a period, after which the slices that waited are renewed together): a seat is still renewed within two
   * and a half periods, inside its lease (three), however often renewals wait.
   */
  onModuleInit(): void {
    let slice = 0;
    let deferred = 0;
    this.renewTimer = setInterval(() => {
      if (deferred < MAX_DEFERRED_SLICES && this.options.deferRenewal?.()) {
        deferred++;
        return;
      }
      // The slices that waited are renewed with this one: however often renewals wait, none falls further behind.
      const count = deferred + 1;
      deferred = 0;
      const current = slice;
      slice = (slice + count) % RENEW_SLICES;
      if (this.held.size === 0) return;
      const held = [...this.held.values()];
      const from = Math.floor((held.length * current) / RENEW_SLICES);
      const to = Math.floor((held.length * Math.min(current + count, RENEW_SLICES)) / RENEW_SLICES);
      if (current + count > RENEW_SLICES) {
        const wrapped = held.slice(0, Math.floor((held.length * (current + count - RENEW_SLICES)) / RENEW_SLICES));
        if (wrapped.length > 0) this.renew(wrapped);
      }
      if (from < to) this.renew(held.slice(from, to));
    }, this.options.renewEveryMs / RENEW_SLICES);
    this.renewTimer.unref();
  }

  private renew(held: readonly HeldSeat[]): void {
    this.store.renew(held.map(({ seat }) => seat)).catch((error: unknown) => this.logger.warn({ err: error }, 'seat leases could not be renewed'));
  }

  /** Shutdown: the seats of connections still open are handed back at once, not left to lapse. */
  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.renewTimer);
    const seats = [...this.held.values()].map((held) => held.seat);
    this.held.clear();
    this.keysByConnection.clear();
    try {
      await this.store.free(seats);
    } catch (error) {
      this.logger.warn({ err: error }, 'seats could not be freed at shutdown; their leases will lapse');
    }
    await this.store.close().catch(() => undefined);
  }

  private async claim(connectionId: string, socketId: string, key: string, holder: SeatHolder, licence: Licence): Promise<void> {
    const seat: Seat = { id: `${this.options.nodeId}:${connectionId}:${holder.userId}`, userId: holder.userId, tenant: holder.tenant };
    const tenantLimit = licence.maxTenantConnections ?? 0;
    let outcome;
    try {
      outcome = await this.store.claim(seat, licence.maxConnections, tenantLimit);
    } catch (error) {
      // A failover store reported its outage once; anything else is logged here.
      if (!(error instanceof SeatStoreUnavailableError)) this.logger.error({ err: error }, 'seat store unavailable');
      throw new GatewayError('ENGINE_UNAVAILABLE', 'connection limits cannot be checked right now; try again shortly');
    }
    if (outcome === 'user_limit') throw new GatewayError('CONNECTION_LIMIT', `licence allows ${licence.maxConnections} concurrent connections`, { details: { scope: 'user', limit: licence.maxConnections } });
    if (outcome === 'tenant_limit') throw new GatewayError('CONNECTION_LIMIT', `licence allows ${tenantLimit} concurrent connections for the tenant`, { details: { scope: 'tenant', limit: tenantLimit } });
    // Made with its first socket: an array grown from empty by a push reserves room for 17.
    this.held.set(key, { seat, sockets: [socketId] });
    const keys = this.keysOf(connectionId);
    if (keys.length === 0) this.keysByConnection.set(connectionId, key);
    else if (!keys.includes(key)) this.keysByConnection.set(connectionId, [...keys, key]);
    this.options.onSeatsChanged?.(this.held.size);
  }
}

function addOnce(items: string[], item: string): void {
  if (!items.includes(item)) items.push(item);
}

function removeOnce(items: string[], item: string): boolean {
  const index = items.indexOf(item);
  if (index < 0) return false;
  items.splice(index, 1);
  return true;
}

function seatKey(connectionId: string, userId: string): string {
  return `${connectionId}\u0000${userId}`;
}
