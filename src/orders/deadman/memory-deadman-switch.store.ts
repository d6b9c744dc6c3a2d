import type { DeadmanFired, DeadmanFireReason } from '#libs/contracts';
import {
  coveredOrderFromKey,
  coveredOrderKey,
  FIRED_SWITCH_MEMORY_MS,
  type ArmedSwitch,
  type ArmSwitch,
  type ClaimedSwitch,
  type CoveredOrder,
  type DeadmanOwner,
  type DeadmanSwitchStore,
} from './deadman-switch.store.js';

interface MemorySwitch {
  owner: DeadmanOwner;
  timeoutMs: number;
  deadline: number;
  connection: string;
  connected: boolean;
  /** By `coveredOrderKey`: the engine's `orderId`, or '' while only the `clientOrderId` is known. */
  orders: Map<string, string>;
  firing?: { reason: DeadmanFireReason; firedAt: number };
}

/**
 * Switches in this process's memory, without Redis (the embedded default): they fire from this process only, so they
 * die with it. The same rules as the Redis store, on the process's clock.
 */
export class MemoryDeadmanSwitchStore implements DeadmanSwitchStore {
  readonly kind = 'memory';
  private readonly switches = new Map<string, MemorySwitch>();
  private readonly fired = new Map<string, { fired: DeadmanFired; owner: DeadmanOwner; until: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  arm(request: ArmSwitch): Promise<ArmedSwitch> {
    const now = this.now();
    this.forgetOldFirings(now);
    let switchId = request.newSwitchId;
    let current: MemorySwitch | undefined;
    let previous: DeadmanFired | undefined;
    if (request.switchId !== undefined) {
      const named = this.switches.get(request.switchId);
      if (named && sameOwner(named.owner, request.owner)) {
        if (named.firing) previous = { switchId: request.switchId, reason: named.firing.reason, firedAt: named.firing.firedAt, orders: named.orders.size };
        else {
          current = named;
          switchId = request.switchId;
        }
      } else {
        const record = this.fired.get(request.switchId);
        if (record && sameOwner(record.owner, request.owner)) previous = record.fired;
      }
    }
    const resumed = current !== undefined;
    const entry: MemorySwitch = current ?? { owner: request.owner, timeoutMs: request.timeoutMs, deadline: 0, connection: request.connection, connected: true, orders: new Map() };
    entry.timeoutMs = request.timeoutMs;
    entry.deadline = now + request.timeoutMs;
    entry.connection = request.connection;
    entry.connected = true;
    for (const order of request.orders) addTo(entry.orders, order);
    this.switches.set(switchId, entry);
    return Promise.resolve({ switchId, deadline: entry.deadline, resumed, orders: entry.orders.size, ...(previous ? { previous } : {}) });
  }

  addOrder(switchId: string, order: CoveredOrder): Promise<boolean> {
    const entry = this.switches.get(switchId);
    if (!entry || entry.firing) return Promise.resolve(false);
    addTo(entry.orders, order);
    return Promise.resolve(true);
  }

  detach(switchId: string, connection: string): Promise<void> {
    const entry = this.switches.get(switchId);
    if (entry && !entry.firing && entry.connection === connection) {
      entry.connected = false;
      entry.deadline = Math.max(entry.deadline, this.now() + entry.timeoutMs);
    }
    return Promise.resolve();
  }

  disarm(switchId: string, owner: DeadmanOwner): Promise<{ disarmed: boolean; fired?: DeadmanFired }> {
    const entry = this.switches.get(switchId);
    if (!entry || !sameOwner(entry.owner, owner)) {
      const record = this.fired.get(switchId);
      return Promise.resolve(record && sameOwner(record.owner, owner) ? { disarmed: false, fired: record.fired } : { disarmed: false });
    }
    if (entry.firing) return Promise.resolve({ disarmed: false, fired: { switchId, reason: entry.firing.reason, firedAt: entry.firing.firedAt, orders: entry.orders.size } });
    this.switches.delete(switchId);
    return Promise.resolve({ disarmed: true });
  }

  due(): Promise<string[]> {
    const now = this.now();
    return Promise.resolve([...this.switches].filter(([, entry]) => !entry.firing && entry.deadline <= now).map(([switchId]) => switchId));
  }

  claim(switchId: string): Promise<ClaimedSwitch | null> {
    const entry = this.switches.get(switchId);
    const now = this.now();
    if (!entry || entry.firing || entry.deadline > now) return Promise.resolve(null);
    const reason: DeadmanFireReason = entry.connected ? 'timeout' : 'disconnect';
    entry.firing = { reason, firedAt: now };
    const orders = [...entry.orders].flatMap(([key, orderId]) => coveredOrderFromKey(key, orderId) ?? []);
    return Promise.resolve({ switchId, owner: entry.owner, reason, firedAt: now, orders, connection: entry.connection, timeoutMs: entry.timeoutMs });
  }

  renewClaim(switchId: string): Promise<boolean> {
    return Promise.resolve(this.switches.get(switchId)?.firing !== undefined);
  }

  complete(switchId: string, _node: string, fired: DeadmanFired, owner: DeadmanOwner): Promise<void> {
    this.switches.delete(switchId);
    this.fired.set(switchId, { fired, owner, until: this.now() + FIRED_SWITCH_MEMORY_MS });
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  private forgetOldFirings(now: number): void {
    for (const [switchId, record] of this.fired) if (record.until <= now) this.fired.delete(switchId);
  }
}

function sameOwner(a: DeadmanOwner, b: DeadmanOwner): boolean {
  return a.tenant === b.tenant && a.userId === b.userId;
}

/** Adds an order, or names the `orderId` of one known by its `clientOrderId` only. */
function addTo(orders: Map<string, string>, order: CoveredOrder): void {
  const key = coveredOrderKey(order);
  if (!orders.get(key)) orders.set(key, order.orderId ?? '');
}
