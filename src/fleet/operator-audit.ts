import { Inject, Injectable } from '@nestjs/common';
import type { AuthenticatedUser } from '#libs/auth';
import { PINO_LOGGER, type Logger } from '#libs/observability';

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
 * AUDIT HOOK (fleet operator actions). Every fleet-wide operator action goes through `record`, once, on the replica
 * that received the HTTP request, after the fleet answered. Today it writes one structured log line
 * (`audit: "operator-action"`); an audit trail replaces the body of this class and nothing else.
 */
@Injectable()
export class OperatorAudit {
  /** At `info` whatever LOG_LEVEL says: an operator's action is never filtered out of the record. */
  private readonly log: Logger;

  constructor(@Inject(PINO_LOGGER) logger: Logger) {
    this.log = logger.child({ audit: 'operator-action' }, { level: 'info' });
  }

  record(operator: AuthenticatedUser, entry: OperatorActionRecord): void {
    this.log.info({ operator: { userId: operator.userId, tenant: operator.tenant }, ...entry }, `operator action: ${entry.action}`);
  }
}
