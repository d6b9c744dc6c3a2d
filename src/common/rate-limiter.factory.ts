import type { Logger } from 'pino';
import type { GatewayMetrics } from '#libs/observability';
import { describeRule, MemoryRateLimitStore, RateLimiter, RedisRateLimitStore, UserStreamCounter, type RateLimitStore } from '#libs/rate-limit';
import type { AppConfig } from '../config/index.js';
import { redisConnection } from './redis-connection.js';

/**
 * The rate limiter over Redis when `REDIS_URL` is set (limits hold across replicas), over this process's memory
 * otherwise. Its Redis client is its own: it must fail fast (no offline queue, a short command timeout) where the
 * adapter's clients wait for Redis to come back.
 */
export function createRateLimiter(config: AppConfig, logger: Logger, metrics: GatewayMetrics): RateLimiter {
  let store: RateLimitStore;
  let streams: UserStreamCounter;
  if (config.redisUrl) {
    const redis = redisConnection(config.redisUrl, config.nodeId, 'ratelimit', {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: 250,
      retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
    });
    // Connection errors surface as failed decisions below; logging each reconnect attempt too would flood the log.
    redis.on('error', () => undefined);
    store = new RedisRateLimitStore(redis, {
      failedOpen: (error, firstOfOutage) => {
        metrics.rateLimitStoreFailed('redis');
        if (firstOfOutage) logger.warn({ err: error }, 'rate-limit store (Redis) unavailable: requests and handshakes are allowed unlimited until it is back');
      },
      // At the outage's level, so that whoever sees the outage in the log also sees its end.
      recovered: () => logger.warn('rate-limit store (Redis) is back: limits apply again'),
    });
    // Each replica publishes its users' stream counts, leased like seats: a crashed replica's lapse with its seats.
    streams = new UserStreamCounter({ redis, nodeId: config.nodeId, ttlMs: config.seatLeaseMs, onError: () => metrics.rateLimitStoreFailed('redis') });
  } else {
    store = new MemoryRateLimitStore();
    streams = new UserStreamCounter();
  }
  const limits = config.rateLimits;
  logger.info(
    {
      store: store.kind,
      requests: limits.requests ? describeRule(limits.requests) : 'off',
      requestBurst: limits.requestBurst ? describeRule(limits.requestBurst) : 'off',
      events: Object.fromEntries([...limits.events].map(([event, rule]) => [event, describeRule(rule)])),
      handshakes: limits.handshakes ? describeRule(limits.handshakes) : 'off',
      maxSubscriptionsPerUser: limits.maxSubscriptionsPerUser || 'off',
      trustedProxies: limits.trustedProxies.length,
    },
    'rate limits',
  );
  return new RateLimiter(limits, store, streams);
}
