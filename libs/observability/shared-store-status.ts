import type { Logger } from 'pino';
import type { GatewayMetrics } from './gateway-metrics.js';

/** The stores every replica shares through Redis, each with its own fallback while Redis cannot be reached. */
export type SharedStore = 'seats' | 'stream_counts' | 'rate_limits' | 'fleet';

const STORE_LABELS: Record<SharedStore, string> = {
  seats: 'seat store (Redis)',
  stream_counts: 'stream-count store (Redis)',
  rate_limits: 'rate-limit store (Redis)',
  fleet: 'node registry (Redis)',
};

export interface StoreOutage {
  /** ISO time the outage was noticed. */
  since: string;
  /** The first error of the outage. */
  reason: string;
  /** What this replica does instead until the store is back. */
  fallback: string;
}

/**
 * Which shared stores this replica is running without (degraded mode): the `tradewire_store_degraded` gauge, one log
 * line when a store degrades and one when it recovers, and the detail `/health/ready` reports. A shared store is down
 * for every replica at once, so it degrades the fleet's limits instead of taking replicas out of the load balancer.
 */
export class SharedStoreStatus {
  private readonly outages = new Map<SharedStore, StoreOutage>();

  constructor(
    private readonly metrics: GatewayMetrics,
    private readonly logger: Logger,
    stores: readonly SharedStore[],
  ) {
    // Every tracked store has a series from the start, so an alert on it and a dashboard see 0 before any outage.
    for (const store of stores) metrics.storeDegraded(store, false);
  }

  degraded(store: SharedStore, error: unknown, fallback: string): void {
    if (this.outages.has(store)) return;
    const reason = error instanceof Error ? error.message || error.name : String(error);
    this.outages.set(store, { since: new Date().toISOString(), reason, fallback });
    this.metrics.storeDegraded(store, true);
    this.logger.warn({ store, reason, fallback }, `${STORE_LABELS[store]} unavailable, degraded mode: ${fallback}`);
  }

  recovered(store: SharedStore, detail: Record<string, unknown> = {}): void {
    const outage = this.outages.get(store);
    if (!outage) return;
    this.outages.delete(store);
    this.metrics.storeDegraded(store, false);
    this.logger.warn({ store, since: outage.since, downMs: Date.now() - Date.parse(outage.since), ...detail }, `${STORE_LABELS[store]} is back: degraded mode over`);
  }

  isDegraded(store: SharedStore): boolean {
    return this.outages.has(store);
  }

  /** The stores in degraded mode now, by name. */
  snapshot(): Partial<Record<SharedStore, StoreOutage>> {
    return Object.fromEntries(this.outages);
  }
}
