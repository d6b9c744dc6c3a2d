/**
 * The audit trail's records (docs/operations.md, "Audit trail"). Every record also carries `kind`, `ts` (epoch ms),
 * `time` (ISO 8601) and `node`. Field names are part of the operations contract: add fields, never rename them.
 * No record ever holds a token, a secret or a whole client payload: only the fields named here.
 */

/** What was done with a request or a connection attempt. */
export type AuditOutcome = 'accepted' | 'rejected';

/** The connection a record is about: who, from where, on which namespace. */
export interface AuditConnection {
  user: string;
  tenant: string;
  /** The `connectionId` of the client's `welcome`. */
  connection: string;
  namespace: string;
  /** The client's address (the proxy chain read as for rate limits, `TRUSTED_PROXIES`). */
  address?: string;
}

export interface HandshakeRecord {
  namespace: string;
  address: string;
  outcome: AuditOutcome;
  /** The refusal's error code (UNAUTHORIZED, TOKEN_EXPIRED, NOT_ENTITLED, CONNECTION_LIMIT, RATE_LIMITED …). */
  code?: string;
  /** Known once the token is verified: a refusal before that (no token, a bad one) names nobody. */
  user?: string;
  tenant?: string;
  connection?: string;
  transport?: string;
  userAgent?: string;
}

export interface DisconnectRecord extends AuditConnection {
  /** Socket.IO's reason: `client namespace disconnect`, `transport close`, `ping timeout`, `server namespace disconnect` … */
  reason: string;
  /** Why the gateway closed it, when it did: a contract error code (TOKEN_EXPIRED, NOT_ENTITLED, SLOW_CLIENT …) or `shutdown`. */
  code?: string;
  durationMs: number;
}

/** A client request the gateway answered: who, what, the answer, and how long it took. */
export interface RequestRecord extends AuditConnection {
  outcome: AuditOutcome;
  code?: string;
  durationMs: number;
}

export interface AuthRefreshRecord extends RequestRecord {
  /** The new token's expiry, when accepted (the token itself is never recorded). */
  expiresAt?: number;
}

export interface AccountSubscriptionRecord extends RequestRecord {
  action: 'subscribe' | 'unsubscribe';
  /** Accepted: the accounts subscribed or unsubscribed. Rejected: those asked for (absent: every account the token sees). */
  accounts?: string[];
}

export type OrderCommandName = 'submit' | 'cancel' | 'cancel-all' | 'amend' | 'deadman';

/** An order command as the client sent it (string fields only, each at most 128 characters) and the answer. */
export interface OrderCommandRecord extends RequestRecord {
  command: OrderCommandName;
  account?: string;
  clientOrderId?: string;
  origClientOrderId?: string;
  orderId?: string;
  requestId?: string;
  instrument?: string;
  side?: string;
  type?: string;
  quantity?: string;
  price?: string;
  timeInForce?: string;
  /** `order:deadman`: the timeout asked for (0 disarms). */
  timeoutMs?: number;
  /** The engine's answer: the order's status (submit, amend, cancel). */
  status?: string;
  /** cancel-all: the orders the engine cancelled (at most 1,000 listed; `canceled` counts them all). */
  orderIds?: string[];
  canceled?: number;
}

/** The connection whose dead-man's switch changed; `node` is the replica that holds it now (after a takeover, not the client's). */
export interface DeadmanSubject {
  /** The switch (its id is the client's too: `order:deadman`'s answer and `deadman` event). */
  switchId: string;
  user: string;
  tenant: string;
  /** The connection that holds it (`connectionId`, as in the handshake and disconnect records); fired: the last that held it. */
  connection: string;
  /** The client's address, when the record comes from its connection (not on `deadman.fired`). */
  address?: string;
}

export interface DeadmanArmedRecord extends DeadmanSubject {
  timeoutMs: number;
  /** When it fires unless refreshed (epoch ms). */
  deadline?: number;
  /**
   * `client`: a new switch armed by `order:deadman`; `takeover`: a new connection took over a switch armed by an
   * earlier one, by its id (after a reconnect, possibly through another replica than the one that died or drained).
   * Refreshes are not recorded (one every few seconds per client; `order.command` has every request).
   */
  by?: 'client' | 'takeover';
  /** How many orders it covers now. */
  orders?: number;
}

export interface DeadmanDisarmedRecord extends DeadmanSubject {
  /** `client`: `timeoutMs: 0` from the connection that holds it, or from another of the same user's naming it. */
  reason: string;
}

export interface DeadmanFiredRecord extends DeadmanSubject {
  /**
   * `timeout`: not refreshed in time; `disconnect`: the connection dropped and did not come back in time;
   * `replica_lost`: the replica holding its connection died, and this one fired it.
   */
  trigger: string;
  timeoutMs?: number;
  /** The accounts whose orders the engine was asked to cancel. */
  accounts?: string[];
  /** The orders cancelled (at most 1,000 listed); `canceled` counts them all (given, it counts those without an id too). */
  orderIds?: string[];
  canceled?: number;
  /** Cancels the engine refused (the order was no longer working) and that could not reach it (the order may still work). */
  refused?: number;
  failed?: number;
  outcome: AuditOutcome;
  code?: string;
}

/** The licence now in effect for a scope: what `licence.changed` and registry entries set. */
export interface LicenceSummary {
  tier: string;
  revoked?: boolean;
  expiresAt?: number;
  features: string[];
  channels: string[];
  exchanges: Record<string, string>;
  maxSubscriptions: number;
  maxConnections: number;
  maxTenantConnections?: number;
  minThrottleMs: number;
}

export interface LicenceChangedRecord {
  /** `engine` (a `licence.changed` event), `file` or `redis` (the `LICENCE_REGISTRY`). */
  source: string;
  scope: 'user' | 'tenant';
  /** The user id or tenant the change names. */
  id: string;
  /** The entry now in effect for that scope; null: none any more (the registry, the token's `lic` or the default applies). */
  licence: LicenceSummary | null;
}

export interface LicenceAppliedRecord extends AuditConnection {
  source: string;
  /** `updated`: the connection was sent its new `licence`; `disconnected`: revoked or expired, closed NOT_ENTITLED. */
  outcome: 'updated' | 'disconnected';
  tier: string;
}

export interface AdminActionRecord {
  method: string;
  /** The path, without its query string. */
  path: string;
  /** The HTTP status answered. */
  status: number;
  outcome: AuditOutcome;
  /** Known once the bearer token is verified. */
  user?: string;
  tenant?: string;
  address: string;
  /** Query and body parameters (names that look like credentials are never recorded). */
  params?: Record<string, string | number | boolean>;
  durationMs: number;
}

/** A fleet-wide operator action (src/fleet), once, on the replica asked, with what every replica reported. */
export interface FleetActionRecord {
  /** `disconnect`, `notice`, `rate-limit.unblock`, `limits.change`, `limits.reset`, `usage.reset`. */
  action: string;
  /** The operator. */
  user: string;
  tenant: string;
  /** What it was aimed at: a connection, a user, a tenant, `all`, or the limits changed. */
  target: Record<string, unknown>;
  /** What the replicas reported: per-node results, failed and missing nodes. */
  outcome: Record<string, unknown>;
}

/** Every record kind, as written in the `kind` field. */
export const AUDIT_KINDS = [
  'handshake',
  'disconnect',
  'auth.refresh',
  'account.subscription',
  'order.command',
  'deadman.armed',
  'deadman.disarmed',
  'deadman.fired',
  'licence.changed',
  'licence.applied',
  'admin.action',
  'fleet.action',
] as const;
export type AuditKind = (typeof AUDIT_KINDS)[number];
