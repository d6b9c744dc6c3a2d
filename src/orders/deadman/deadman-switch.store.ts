import type { DeadmanFired, DeadmanFireReason } from '#libs/contracts';

/** Whose switch it is: only the same user of the same tenant may refresh, re-attach or disarm it. */
export interface DeadmanOwner {
  tenant: string;
  userId: string;
}

/**
 * An order a switch covers, named the way a cancel names it: by `clientOrderId` (per account) always, and by the
 * engine's `orderId` once the submit was answered (a submit the engine did not answer in time is covered by its
 * `clientOrderId` alone).
 */
export interface CoveredOrder {
  account: string;
  clientOrderId: string;
  orderId?: string;
}

export interface ArmSwitch {
  /** The switch to refresh or re-attach (the connection's, or the one the client named); absent: a new one. */
  switchId?: string;
  /** The id a new switch gets (when `switchId` is absent, or no longer armed for this owner). */
  newSwitchId: string;
  owner: DeadmanOwner;
  timeoutMs: number;
  /** The replica and the connection it is attached to from now on. */
  node: string;
  connection: string;
  /** Orders submitted through the connection before it held the switch, added to it. */
  orders: readonly CoveredOrder[];
}

export interface ArmedSwitch {
  switchId: string;
  /** When it fires unless refreshed (epoch ms, the store's clock). */
  deadline: number;
  /** It continues a switch that was armed (a refresh or a re-attach), rather than a new one. */
  resumed: boolean;
  orders: number;
  /** The switch the request named fired before it came (and a new one was armed in its place). */
  previous?: DeadmanFired;
}

/** A switch this replica claimed to fire: who it belongs to, why it fires and what it covers. */
export interface ClaimedSwitch {
  switchId: string;
  owner: DeadmanOwner;
  reason: DeadmanFireReason;
  firedAt: number;
  orders: CoveredOrder[];
  /** The connection that held it last (for the audit trail) and its timeout. */
  connection: string;
  timeoutMs: number;
}

/**
 * Where armed switches live: this process's memory (the embedded default: a switch dies with its process), or Redis,
 * where every replica sees every switch and the replica that first finds one past its deadline fires it, so that a
 * switch outlives the replica its connection was on. Deadlines are kept on the store's clock.
 */
export interface DeadmanSwitchStore {
  readonly kind: 'memory' | 'redis';
  arm(request: ArmSwitch): Promise<ArmedSwitch>;
  /** Adds an order to an armed switch (or names the `orderId` of one it covers by `clientOrderId`); false: not armed any more. */
  addOrder(switchId: string, order: CoveredOrder): Promise<boolean>;
  /**
   * The connection holding the switch dropped: from now on the switch waits for it at most `timeoutMs` from the drop
   * (or until its deadline, if that is later). Nothing happens if the switch moved to another connection since.
   */
  detach(switchId: string, connection: string): Promise<void>;
  /** Disarms the owner's switch; what it fired meanwhile when it fired before the request came. */
  disarm(switchId: string, owner: DeadmanOwner): Promise<{ disarmed: boolean; fired?: DeadmanFired }>;
  /** Renews this replica's lease and lists the switches that are due (past their deadline, or a claim that lapsed). */
  due(node: string): Promise<string[]>;
  /**
   * Claims a due switch for this replica to fire, atomically: null when it is not due after all (refreshed meanwhile),
   * claimed by another replica, or its live owner replica still has its grace to fire it itself.
   */
  claim(switchId: string, node: string): Promise<ClaimedSwitch | null>;
  /** Keeps a claim while its cancels are under way; false when the claim lapsed and another replica took it. */
  renewClaim(switchId: string, node: string): Promise<boolean>;
  /** The switch fired: forgotten, leaving a record of the firing for a client that comes back to it. */
  complete(switchId: string, node: string, fired: DeadmanFired, owner: DeadmanOwner): Promise<void>;
  close(): Promise<void>;
}

/** How long a fired switch is remembered, for a client that comes back with its id. */
export const FIRED_SWITCH_MEMORY_MS = 3_600_000;

/** The store key of an order: one per `clientOrderId` of an account (ids hold no spaces). */
export function coveredOrderKey(order: CoveredOrder): string {
  return `${order.account} ${order.clientOrderId}`;
}

export function coveredOrderFromKey(key: string, orderId: string): CoveredOrder | null {
  const space = key.indexOf(' ');
  if (space <= 0) return null;
  return { account: key.slice(0, space), clientOrderId: key.slice(space + 1), ...(orderId ? { orderId } : {}) };
}

export const DEADMAN_SWITCH_STORE = Symbol('DEADMAN_SWITCH_STORE');
