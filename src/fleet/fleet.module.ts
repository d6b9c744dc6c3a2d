import { Module } from '@nestjs/common';
import { ObservabilityModule, PINO_LOGGER, type Logger } from '#libs/observability';
import { redisConnection } from '#libs/redis';
import { AuthModule } from '../auth/auth.module.js';
import { AppConfig } from '../config/index.js';
import { HealthStateModule } from '../health/health-state.module.js';
import { GatewayRuntimeModule } from '../realtime/gateway-runtime.module.js';
import { FleetAdminController } from './fleet-admin.controller.js';
import { FleetBus } from './fleet-bus.js';
import { FleetOperations } from './fleet-operations.js';
import { FLEET_REDIS, FleetRedis } from './fleet-redis.js';
import { NodeRegistry } from './node-registry.js';
import { OperatorAudit } from './operator-audit.js';
import { RuntimeLimits } from './runtime-limits.js';

/**
 * Many replicas, one view and one set of controls: the node registry, operator actions and runtime limits (docs/
 * operations.md, "Fleet"). Imported by the app and by health (cluster totals, the Redis ping); not global.
 *
 * Its own Redis connections (FLEET_REDIS, none without REDIS_URL) are opened and closed here, not by the engine's
 * links: the engine's are released early in the shutdown (a global module's hooks run first), and the registry must
 * still reach Redis after the drain to deregister.
 */
@Module({
  // Live connections, runtime options and the rate limiter (the gateway runtime), readiness and degraded stores,
  // usage, and passport's `jwt` for the operator API.
  imports: [GatewayRuntimeModule, HealthStateModule, ObservabilityModule, AuthModule],
  providers: [
    {
      provide: FLEET_REDIS,
      useFactory: (config: AppConfig, logger: Logger): FleetRedis | undefined => {
        const url = config.redisUrl;
        if (!url) return undefined;
        // Commands fail within a second rather than queue: an operator waits on them, and a heartbeat that cannot be
        // written is one the TTL covers.
        return new FleetRedis(
          redisConnection(url, config.nodeId, 'fleet', logger, { maxRetriesPerRequest: 1, commandTimeout: 1_000 }),
          redisConnection(url, config.nodeId, 'fleet-sub', logger, { maxRetriesPerRequest: null }),
        );
      },
      inject: [AppConfig, PINO_LOGGER],
    },
    NodeRegistry,
    FleetBus,
    FleetOperations,
    RuntimeLimits,
    OperatorAudit,
  ],
  controllers: [FleetAdminController],
  exports: [FLEET_REDIS, NodeRegistry, FleetBus, RuntimeLimits],
})
export class FleetModule {}
