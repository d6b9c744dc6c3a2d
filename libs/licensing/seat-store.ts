/** One seat: one dashboard connection (an engine.io connection, whatever number of namespaces it carries). */
export interface Seat {
  /** `<nodeId>:<connection>:<userId>`: unique across replicas. */
  id: string;
  userId: string;
  tenant: string;
}

export type SeatClaim = 'ok' | 'user_limit' | 'tenant_limit';

/** Where seats are counted: this process alone, or every replica through Redis. Limits of 0 mean no limit. */
export interface SeatStore {
  claim(seat: Seat, userLimit: number, tenantLimit: number): Promise<SeatClaim>;
  /** Extends the leases of seats still held (stores without leases do nothing). */
  renew(seats: Seat[]): Promise<void>;
  free(seats: Seat[]): Promise<void>;
  close(): Promise<void>;
}
