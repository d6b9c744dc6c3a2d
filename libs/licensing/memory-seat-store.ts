import type { Seat, SeatClaim, SeatStore } from './seat-store.js';

/** Seats of this process only: the embedded demo and single-replica deployments without Redis. */
export class MemorySeatStore implements SeatStore {
  private readonly byUser = new Map<string, Set<string>>();
  private readonly byTenant = new Map<string, Set<string>>();

  claim(seat: Seat, userLimit: number, tenantLimit: number): Promise<SeatClaim> {
    const user = this.byUser.get(seat.userId) ?? new Set<string>();
    const tenant = this.byTenant.get(seat.tenant) ?? new Set<string>();
    if (!user.has(seat.id)) {
      if (userLimit > 0 && user.size >= userLimit) return Promise.resolve('user_limit');
      if (tenantLimit > 0 && tenant.size >= tenantLimit) return Promise.resolve('tenant_limit');
    }
    user.add(seat.id);
    tenant.add(seat.id);
    this.byUser.set(seat.userId, user);
    this.byTenant.set(seat.tenant, tenant);
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

function remove(map: Map<string, Set<string>>, key: string, id: string): void {
  const set = map.get(key);
  if (!set) return;
  set.delete(id);
  if (set.size === 0) map.delete(key);
}
