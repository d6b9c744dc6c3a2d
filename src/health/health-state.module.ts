import { Module } from '@nestjs/common';
import { GatewayMetrics, ObservabilityModule, PINO_LOGGER, SharedStoreStatus, type Logger } from '#libs/observability';
import { AppConfig } from '../config/index.js';
import { ReadinessState } from './readiness.state.js';

/**
 * What /health reports and others set: readiness (started, draining: set by main.ts, the engine and the drain) and the
 * stores shared through Redis that are degraded (set by the seat ledger and the rate limiter).
 */
@Module({
  imports: [ObservabilityModule],
  providers: [
    ReadinessState,
    // Only stores shared through Redis can degrade; without REDIS_URL every count is this replica's anyway.
    {
      provide: SharedStoreStatus,
      useFactory: (config: AppConfig, metrics: GatewayMetrics, logger: Logger) =>
        new SharedStoreStatus(metrics, logger, config.redisUrl ? ['seats', 'stream_counts', 'rate_limits', 'fleet'] : []),
      inject: [AppConfig, GatewayMetrics, PINO_LOGGER],
    },
  ],
  exports: [ReadinessState, SharedStoreStatus],
})
export class HealthStateModule {}
