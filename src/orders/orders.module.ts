import { makeCounterProvider, makeHistogramProvider } from '@willsoto/nestjs-prometheus';
import { METRICS, PINO_LOGGER, type Logger } from '#libs/observability';
import { redisConnection } from '#libs/redis';
import { AccountStreamModule } from '../account-streams/account-stream.module.js';
import { AppConfig } from '../config/index.js';
import { EngineModule } from '../engine/engine.module.js';
import { DEADMAN_PROVIDERS } from './deadman/deadman.providers.js';
import { MemoryOrderIdempotencyStore } from './memory-order-idempotency.store.js';
import { OrderCommandsService } from './order-commands.service.js';
import { ORDER_IDEMPOTENCY_STORE, type OrderIdempotencyStore } from './order-idempotency.store.js';
import { OrdersGateway } from './orders.gateway.js';
import { RedisOrderIdempotencyStore } from './redis-order-idempotency.store.js';

/** In Redis when `REDIS_URL` is set, so that a `clientOrderId` holds across replicas; in this process's memory otherwise. */
function idempotencyStore(config: AppConfig, logger: Logger): OrderIdempotencyStore {
  const { idempotencyTtlMs, idempotencyMaxKeys } = config.orders;
  if (!config.redisUrl) return new MemoryOrderIdempotencyStore(idempotencyTtlMs, idempotencyMaxKeys);
  // Fails fast rather than queueing: an order waiting for Redis is refused (ENGINE_UNAVAILABLE) and can be retried.
  // Failures surface per order, as ENGINE_UNAVAILABLE with a log line; the connection's outages are logged once each.
  const redis = redisConnection(config.redisUrl, config.nodeId, 'orders', logger, { maxRetriesPerRequest: 1, commandTimeout: 2_000 });
  return new RedisOrderIdempotencyStore(redis, idempotencyTtlMs);
}

/** `/orders`: the account stream of orders, with the order commands on top. */
export const OrdersModule = AccountStreamModule.forKind('order', {
  gateway: OrdersGateway,
  // The order channel to the engine (the account stream's own imports come with forKind).
  imports: [EngineModule],
  providers: [
    OrderCommandsService,
    { provide: ORDER_IDEMPOTENCY_STORE, useFactory: idempotencyStore, inject: [AppConfig, PINO_LOGGER] },
    makeCounterProvider({
      name: METRICS.orders,
      help: 'Order commands by command (submit, cancel) and outcome: ok, replayed (a repeated clientOrderId answered from the first answer) or an error code',
      labelNames: ['command', 'outcome'],
    }),
    makeHistogramProvider({
      name: METRICS.orderEngineLatency,
      help: 'Order command round trip to the engine, by command (timeouts included)',
      labelNames: ['command'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    }),
    // The dead-man's switch (order:deadman): src/orders/deadman/.
    ...DEADMAN_PROVIDERS,
  ],
  exports: [OrderCommandsService],
});
