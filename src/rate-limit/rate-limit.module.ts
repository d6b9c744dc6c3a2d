import { Module } from '@nestjs/common';
import { GatewayMetrics, ObservabilityModule, PINO_LOGGER, SharedStoreStatus, type Logger } from '#libs/observability';
import { RateLimiter, UserStreamCounter } from '#libs/rate-limit';
import { createRateLimiter } from '../common/rate-limiter.factory.js';
import { AppConfig } from '../config/index.js';
import { HealthStateModule } from '../health/health-state.module.js';

/** Per-user and per-address token buckets (in Redis across replicas, else in memory) and the per-user stream cap. */
@Module({
  imports: [ObservabilityModule, HealthStateModule],
  providers: [
    {
      provide: RateLimiter,
      useFactory: (config: AppConfig, logger: Logger, metrics: GatewayMetrics, stores: SharedStoreStatus) => createRateLimiter(config, logger, metrics, stores),
      inject: [AppConfig, PINO_LOGGER, GatewayMetrics, SharedStoreStatus],
    },
    { provide: UserStreamCounter, useFactory: (limiter: RateLimiter) => limiter.streams, inject: [RateLimiter] },
  ],
  exports: [RateLimiter, UserStreamCounter],
})
export class RateLimitModule {}
