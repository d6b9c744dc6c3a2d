import { Global, Injectable, Module, type DynamicModule, type MiddlewareConsumer, type NestModule, type OnApplicationShutdown } from '@nestjs/common';
import { InjectMetric, makeCounterProvider } from '@willsoto/nestjs-prometheus';
import type { Counter } from 'prom-client';
import { AUDIT_KINDS, AuditTrail } from '#libs/audit';
import { METRICS, type Logger } from '#libs/observability';
import { AppConfig } from '../config/index.js';
import { LicensingModule } from '../licensing/licensing.module.js';
import { RateLimitModule } from '../rate-limit/rate-limit.module.js';
import { AdminAuditMiddleware } from './admin-audit.middleware.js';
import { LicenceAudit } from './licence-audit.js';

/**
 * The audit trail (`AUDIT_LOG`, docs/operations.md "Audit trail"): the `AuditTrail` every part of the gateway records
 * through, the admin requests' middleware and the licence changes' listener. Its buffer is written out when the
 * application closes, after the sockets' disconnects have been recorded.
 */
@Global()
@Module({})
export class AuditModule implements NestModule, OnApplicationShutdown {
  private readonly reopenOnHangup = () => this.trail.reopen();

  constructor(
    private readonly trail: AuditTrail,
    private readonly config: AppConfig,
  ) {
    // logrotate's `postrotate kill -HUP`: the file is opened again under its name.
    if (config.audit.kind === 'file') process.on('SIGHUP', this.reopenOnHangup);
  }

  static forRoot(config: AppConfig, logger: Logger): DynamicModule {
    return {
      module: AuditModule,
      // The licence changes it records, and the client address of an admin request read as rate limits read it.
      imports: [LicensingModule, RateLimitModule],
      providers: [
        makeCounterProvider({ name: METRICS.auditRecords, help: 'Audit records written to AUDIT_LOG, by kind', labelNames: ['kind'] }),
        makeCounterProvider({
          name: METRICS.auditRecordsLost,
          help: 'Audit records lost: dropped (more than 16 MB waiting for a slow destination) or failed (a write error)',
          labelNames: ['reason'],
        }),
        AuditCounters,
        {
          provide: AuditTrail,
          useFactory: (counters: AuditCounters) =>
            AuditTrail.open(config.audit, {
              nodeId: config.nodeId,
              recorded: (kind) => counters.records.labels(kind).inc(),
              lost: (reason) => counters.lost.labels(reason).inc(),
              failed: (error) => logger.error({ err: error, destination: config.audit }, 'audit trail cannot be written: records are being lost'),
            }),
          inject: [AuditCounters],
        },
        LicenceAudit,
        AdminAuditMiddleware,
      ],
      exports: [AuditTrail],
    };
  }

  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(AdminAuditMiddleware).forRoutes('admin/*path');
  }

  async onApplicationShutdown(): Promise<void> {
    process.off('SIGHUP', this.reopenOnHangup);
    await this.trail.close();
  }
}

/** The audit trail's counters, every kind at 0 from the start so that rates and alerts see a series. */
@Injectable()
class AuditCounters {
  constructor(
    @InjectMetric(METRICS.auditRecords) readonly records: Counter<string>,
    @InjectMetric(METRICS.auditRecordsLost) readonly lost: Counter<string>,
  ) {
    for (const kind of AUDIT_KINDS) records.labels(kind).inc(0);
    for (const reason of ['dropped', 'failed']) lost.labels(reason).inc(0);
  }
}
