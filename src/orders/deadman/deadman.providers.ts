import type { Provider } from '@nestjs/common';
import { makeCounterProvider, makeGaugeProvider } from '@willsoto/nestjs-prometheus';
import { METRICS, PINO_LOGGER, type Logger } from '#libs/observability';
import { redisConnection } from '#libs/redis';
import { AppConfig } from '../../config/index.js';
import { DEADMAN_SWITCH_STORE, type DeadmanSwitchStore } from './deadman-switch.store.js';
import { DeadmanSwitchService } from './deadman-switch.service.js';
import { MemoryDeadmanSwitchStore } from './memory-deadman-switch.store.js';
import { RedisDeadmanSwitchStore } from './redis-deadman-switch.store.js';

/** In Redis when `REDIS_URL` is set, so that a switch outlives its replica; in this process's memory otherwise. */
function deadmanSwitchStore(config: AppConfig, logger: Logger): DeadmanSwitchStore {
  if (!config.redisUrl) return new MemoryDeadmanSwitchStore();
  // Fails fast rather than queueing: an arm or refresh that cannot be stored is refused (ENGINE_UNAVAILABLE) at once.
  const redis = redisConnection(config.redisUrl, config.nodeId, 'deadman', logger, { maxRetriesPerRequest: 1, commandTimeout: 2_000 });
  return new RedisDeadmanSwitchStore(redis, config.deadman.leaseMs);
}

/** The dead-man's switch of `/orders` (`order:deadman`): its service, store and metrics, for the orders module. */
export const DEADMAN_PROVIDERS: Provider[] = [
  DeadmanSwitchService,
  { provide: DEADMAN_SWITCH_STORE, useFactory: deadmanSwitchStore, inject: [AppConfig, PINO_LOGGER] },
  makeGaugeProvider({ name: METRICS.deadmanArmed, help: "Dead-man's switches held by this replica's /orders connections" }),
  makeCounterProvider({
    name: METRICS.deadmanFires,
    help: "Dead-man's switches fired by this replica, by reason: timeout (not refreshed), disconnect (the connection did not come back), replica_lost (its replica died)",
    labelNames: ['reason'],
  }),
  makeCounterProvider({
    name: METRICS.deadmanCancels,
    help: "Cancels sent by fired dead-man's switches, by outcome: canceled, refused (by the engine: no longer working), failed (the engine could not be reached)",
    labelNames: ['outcome'],
  }),
];
