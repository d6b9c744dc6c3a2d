import { pino, type DestinationStream, type Logger } from 'pino';
import type { Licence } from '#libs/contracts';
import type { AuditDestination } from './audit-destination.js';
import type {
  AccountSubscriptionRecord,
  AdminActionRecord,
  FleetActionRecord,
  AuditKind,
  AuthRefreshRecord,
  DeadmanArmedRecord,
  DeadmanDisarmedRecord,
  DeadmanFiredRecord,
  DisconnectRecord,
  HandshakeRecord,
  LicenceAppliedRecord,
  LicenceChangedRecord,
  LicenceSummary,
  OrderCommandRecord,
} from './audit-records.js';

/**
 * What may wait in memory for a slow destination (a full pipe, a slow disk) before records are dropped and counted:
 * the gateway never waits for its audit trail, and its memory stays bounded (about 40,000 records of 400 bytes).
 */
const MAX_BUFFERED_BYTES = 16 * 1024 * 1024;
/** How long closing waits for what is buffered to be written, at shutdown. */
const CLOSE_TIMEOUT_MS = 3_000;
/** Lists in a record (cancelled orders, accounts) stop here: a record stays one readable line. */
export const MAX_LISTED = 1_000;

/**
 * Fields never written whatever a caller passes: defence in depth, as no record is built with them. Top-level paths
 * only: wildcard paths make pino's redaction walk every record, about three times the cost of writing it.
 */
const REDACTED_PATHS = ['token', 'authorization', 'secret', 'password'];

type SonicBoomStream = ReturnType<typeof pino.destination>;

export interface AuditTrailOptions {
  nodeId: string;
  /** A record was handed to the destination (for `tradewire_audit_records_total`). */
  recorded?: (kind: AuditKind) => void;
  /** A record was lost: `dropped` (more than 16 MB waiting for the destination) or `failed` (a write error). */
  lost?: (reason: 'dropped' | 'failed') => void;
  /** The destination failed to write or open; told once per distinct message, for the log. */
  failed?: (error: Error) => void;
}

/**
 * The audit trail: one JSON line per record on a destination of its own (`AUDIT_LOG`), apart from the logs and never
 * subject to `LOG_LEVEL`. A second pino instance over sonic-boom writing asynchronously: recording costs a
 * serialization and a buffer append, the write happens off the event loop, and the buffer is written out when the
 * gateway closes (and, failing that, by pino's exit hook). Records are built field by field from what the gateway
 * knows; no token or whole client payload is ever passed in.
 */
export class AuditTrail {
  private readonly logger: Logger | null;
  private closed = false;
  private readonly reportedErrors = new Set<string>();

  private constructor(
    private readonly stream: SonicBoomStream | DestinationStream | null,
    private readonly options: AuditTrailOptions,
  ) {
    this.logger = stream
      ? pino(
          {
            level: 'info',
            base: { node: options.nodeId },
            // `ts` as on the wire (epoch ms) for machines, `time` for people.
            timestamp: () => {
              const now = Date.now();
              return `,"ts":${now},"time":"${new Date(now).toISOString()}"`;
            },
            // No level (a record is not a log line and no LOG_LEVEL applies): `"log":"audit"` first instead, which tells
            // an audit line from a log line on a shared stream (pino writes the level's object first, once, cached).
            formatters: { level: () => ({ log: 'audit' }) },
            redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
          },
          stream,
        )
      : null;
  }

  /** The trail on its configured destination; `off` records nothing. */
  static open(destination: AuditDestination, options: AuditTrailOptions): AuditTrail {
    if (destination.kind === 'off') return new AuditTrail(null, options);
    const dest = destination.kind === 'stdout' ? 1 : destination.kind === 'stderr' ? 2 : destination.path;
    const stream = pino.destination({ dest, sync: false, mkdir: true, maxLength: MAX_BUFFERED_BYTES });
    const trail = new AuditTrail(stream, options);
    stream.on('drop', () => options.lost?.('dropped'));
    // Without a listener a write error would end the process: it is counted and told instead, and the next record
    // tries again (a full disk may be freed).
    stream.on('error', (error: Error) => trail.writeFailed(error));
    return trail;
  }

  /** A trail writing to any stream (tests, or a destination built elsewhere). */
  static toStream(stream: DestinationStream, options: AuditTrailOptions): AuditTrail {
    return new AuditTrail(stream, options);
  }

  get enabled(): boolean {
    return this.logger !== null && !this.closed;
  }

  /** A connection attempt on a namespace: accepted, or refused with its code. */
  handshake(record: HandshakeRecord): void {
    this.write('handshake', record);
  }

  disconnect(record: DisconnectRecord): void {
    this.write('disconnect', record);
  }

  authRefresh(record: AuthRefreshRecord): void {
    this.write('auth.refresh', record);
  }

  accountSubscription(record: AccountSubscriptionRecord): void {
    this.write('account.subscription', record);
  }

  orderCommand(record: OrderCommandRecord): void {
    this.write('order.command', record);
  }

  /**
   * The dead-man's switch of a connection was armed or refreshed (`by: 'client'`), or taken over from a replica that
   * died (`by: 'takeover'`). Called by the switch, on the replica that holds it.
   */
  deadmanArmed(record: DeadmanArmedRecord): void {
    this.write('deadman.armed', record);
  }

  /** The switch was disarmed without firing (`timeoutMs: 0`, or the connection came back in time). */
  deadmanDisarmed(record: DeadmanDisarmedRecord): void {
    this.write('deadman.disarmed', record);
  }

  /** The switch fired: the engine was asked to cancel the connection's open orders; with what it answered. */
  deadmanFired(record: DeadmanFiredRecord): void {
    const { orderIds, ...rest } = record;
    // A `canceled` given counts every order cancelled, those the engine never gave an id included.
    this.write('deadman.fired', { ...listed(orderIds), ...rest });
  }

  /** A licence entry changed (a registry change or a `licence.changed` event), with the entry now in effect. */
  licenceChanged(record: Omit<LicenceChangedRecord, 'licence'> & { licence: Licence | null | undefined }): void {
    this.write('licence.changed', { ...record, licence: record.licence ? licenceSummary(record.licence) : null });
  }

  /** A licence change reached a live connection. */
  licenceApplied(record: LicenceAppliedRecord): void {
    this.write('licence.applied', record);
  }

  adminAction(record: AdminActionRecord): void {
    this.write('admin.action', record);
  }

  /** A fleet-wide operator action and what each replica did (the HTTP request itself is an `admin.action`). */
  fleetAction(record: FleetActionRecord): void {
    this.write('fleet.action', record);
  }

  /** A file destination opens its path again (after logrotate moved it: SIGHUP). */
  reopen(): void {
    const stream = this.stream;
    if (stream && !this.closed && 'reopen' in stream) stream.reopen();
  }

  /** Writes out what is buffered and stops recording; later records are ignored. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const stream = this.stream;
    if (!stream || !('end' in stream)) return;
    await new Promise<void>((resolveClosed) => {
      const timer = setTimeout(resolveClosed, CLOSE_TIMEOUT_MS);
      timer.unref();
      stream.once('close', () => {
        clearTimeout(timer);
        resolveClosed();
      });
      stream.end();
    });
  }

  private write(kind: AuditKind, record: object): void {
    if (!this.logger || this.closed) return;
    this.logger.info({ kind, ...record });
    this.options.recorded?.(kind);
  }

  private writeFailed(error: Error): void {
    this.options.lost?.('failed');
    if (this.reportedErrors.has(error.message) || this.reportedErrors.size >= 100) return;
    this.reportedErrors.add(error.message);
    this.options.failed?.(error);
  }
}

/** `orderIds` listed up to MAX_LISTED, with `canceled` counting them all. */
export function listed(orderIds: readonly string[] | undefined): { orderIds?: string[]; canceled?: number } {
  if (orderIds === undefined) return {};
  return { orderIds: orderIds.slice(0, MAX_LISTED), canceled: orderIds.length };
}

export function licenceSummary(licence: Licence): LicenceSummary {
  return {
    tier: licence.tier,
    ...(licence.revoked ? { revoked: true } : {}),
    ...(licence.expiresAt !== undefined ? { expiresAt: licence.expiresAt } : {}),
    features: [...licence.features],
    channels: [...licence.channels],
    exchanges: { ...licence.exchanges },
    maxSubscriptions: licence.maxSubscriptions,
    maxConnections: licence.maxConnections,
    ...(licence.maxTenantConnections !== undefined ? { maxTenantConnections: licence.maxTenantConnections } : {}),
    minThrottleMs: licence.minThrottleMs,
  };
}
