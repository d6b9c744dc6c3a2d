import { Global, Module, type DynamicModule, type Provider } from '@nestjs/common';
import type { Logger } from 'pino';
import { redisConnection } from '#libs/redis';
import type { AppConfig } from '../config/index.js';
import { EngineLinks } from '../engine/engine-links.js';
import { FleetAdminController } from './fleet-admin.controller.js';
import { FleetBus } from './fleet-bus.js';
import { FleetOperations } from './fleet-operations.js';
import { FLEET_REDIS, type FleetRedis } from './fleet-redis.js';
import { NodeRegistry } from './node-registry.js';
import { OperatorAudit } from './operator-audit.js';
import { RuntimeLimits } from './runtime-limits.js';

/**
 * Many replicas, one view and one set of controls: the node registry, operator actions and runtime limits (docs/
 * operations.md, "Fleet"). Global so that health can read the registry's cluster totals.
 */
@Global()
@Module({})
export class FleetModule {
  static forRoot(config: AppConfig, logger: Logger): DynamicModule {
    const providers: Provider[] = [NodeRegistry, FleetBus, FleetOperations, RuntimeLimits, OperatorAudit];
    const url = config.redisUrl;
    if (url) {
      providers.push({
        provide: FLEET_REDIS,
        // Handed to EngineLinks, which closes them last at shutdown (after the registry has deregistered) and pings
        // the first for readiness.
        useFactory: (links: EngineLinks): FleetRedis => {
          // Commands fail within a second rather than queue: an operator waits on them, and a heartbeat that cannot be
          // written is one the TTL covers.
          const commands = redisConnection(url, config.nodeId, 'fleet', logger, { maxRetriesPerRequest: 1, commandTimeout: 1_000 });
          const subscriber = redisConnection(url, config.nodeId, 'fleet-sub', logger, { maxRetriesPerRequest: null });
          links.addRedisClient(commands);
          links.addRedisClient(subscriber);
          return { commands, subscriber };
        },
        inject: [EngineLinks],
      });
    }
    return {
      module: FleetModule,
      providers,
      controllers: [FleetAdminController],
      exports: [NodeRegistry, FleetBus, RuntimeLimits],
    };
  }
}
