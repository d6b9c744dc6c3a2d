import type { Seat, SeatClaim, SeatStore } from './seat-store.js';

/**
 * The seats held under one user or tenant: the seat's id while there is one (nearly always, for a user: a Set per
 * user cost about 210 bytes of every connection, bench heap snapshots), a Set from the second on.
 */
type SeatIds = string | Set<string>;

/** Seats of this process only: the embedded demo and single-replica deployments without Redis. */
export class MemorySeatStore implements SeatStore {
  private readonly byUser = new Map<string, SeatIds>();
  private readonly byTenant = new Map<string, SeatIds>();

  claim(seat: Seat, userLimit: number, tenantLimit: number): Promise<SeatClaim> {
    const user = this.byUser.get(seat.userId);
    const tenant = this.byTenant.get(seat.tenant);
    if (!holds(user, seat.id)) {
      if (userLimit > 0 && count(user) >= userLimit) return Promise.resolve('user_limit');
      if (tenantLimit > 0 && count(tenant) >= tenantLimit) return Promise.resolve('tenant_limit');
    }
    this.byUser.set(seat.userId, added(user, seat.id));
    this.byTenant.set(seat.tenant, added(tenant, seat.id));
    return Promise.resolve('ok');
  }

  renew(): Promise<void> {
    return Promise.resolve();
  }

  free(seats: Seat[]): Promise<void> {
    for (const seat of seats) {
      remove(this.byUser, seat.userId, seat.id);
      remove(this.byTenant, seat.tenant, seat.id);
    }
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

function holds(ids: SeatIds | undefined, id: string): boolean {
  return typeof ids === 'string' ? ids === id : (ids?.has(id) ?? false);
}

function count(ids: SeatIds | undefined): number {
  return typeof ids === 'string' ? 1 : (ids?.size ?? 0);
}

/** `ids` with `id` added: the id alone, the same Set, or a Set made of the two. */
function added(ids: SeatIds | undefined, id: string): SeatIds {
  if (ids === undefined || ids === id) return id;
  if (typeof ids === 'string') return new Set([ids, id]);
  ids.add(id);
  return ids;
}

function remove(map: Map<string, SeatIds>, key: string, id: string): void {
  const ids = map.get(key);
  if (ids === undefined) return;
  if (typeof ids === 'string') {
    if (ids === id) map.delete(key);
    return;
  }
  ids.delete(id);
  if (ids.size === 0) map.delete(key);
}
