import { Injectable } from '@nestjs/common';
import { AuditTrail } from '#libs/audit';
import type { AuthenticatedUser } from '#libs/auth';

/** One operator action, as the audit trail keeps it. */
export interface OperatorActionRecord {
  /** `disconnect`, `notice`, `rate-limit.unblock`, `limits.change`, `limits.reset`, `usage.reset`. */
  action: string;
  /** What it was aimed at: a connection, a user, a tenant, `all`, or the limits changed. */
  target: Record<string, unknown>;
  /** What the replicas reported: per-node results, missing nodes. */
  outcome: Record<string, unknown>;
}

/**
 * Every fleet-wide operator action goes through `record`, once, on the replica that received the HTTP request, after
 * the fleet answered: a `fleet.action` record of the audit trail (`AUDIT_LOG`, docs/operations.md §18), beside the
 * `admin.action` record of the HTTP request itself.
 */
@Injectable()
export class OperatorAudit {
  constructor(private readonly trail: AuditTrail) {}

  record(operator: AuthenticatedUser, entry: OperatorActionRecord): void {
    this.trail.fleetAction({ user: operator.userId, tenant: operator.tenant, ...entry });
  }
}
