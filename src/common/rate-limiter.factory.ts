import type { Logger } from 'pino';
import type { GatewayMetrics, SharedStoreStatus } from '#libs/observability';
import { describeRule, MemoryRateLimitStore, RateLimiter, RedisRateLimitStore, UserStreamCounter, type RateLimitStore } from '#libs/rate-limit';
import { redisConnection } from '#libs/redis';
import type { AppConfig } from '../config/index.js';

/**
 * The rate limiter over Redis when `REDIS_URL` is set (limits hold across replicas), over this process's memory
 * otherwise. Its Redis client is its own: it must fail fast (no offline queue, a short command timeout) where the
 * engine's subscribers wait for Redis to come back.
 */
export function createRateLimiter(config: AppConfig, logger: Logger, metrics: GatewayMetrics, stores: SharedStoreStatus): RateLimiter {
  let store: RateLimitStore;
  let streams: UserStreamCounter;
  if (config.redisUrl) {
    // Connection errors surface as failed decisions below; the connection's outages are logged once each.
    const redis = redisConnection(config.redisUrl, config.nodeId, 'ratelimit', logger, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: 250,
      retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
    });
    store = new RedisRateLimitStore(redis, {
      failedOpen: (error) => {
        metrics.rateLimitStoreFailed('redis');
        stores.degraded('rate_limits', error, 'requests and handshakes are allowed unlimited until it is back');
      },
      recovered: () => stores.recovered('rate_limits'),
    });
    // Decisions find out at the next request; the connection coming back says so at once (the store holds no state
    // of this replica's to write back: a restarted Redis starts with full buckets).
    redis.on('ready', () => stores.recovered('rate_limits'));
    // Each replica publishes its users' stream counts, leased like seats: a crashed replica's lapse with its seats.
    streams = new UserStreamCounter({
      redis,
      nodeId: config.nodeId,
      ttlMs: config.seatLeaseMs,
      onError: () => metrics.rateLimitStoreFailed('redis'),
      onDegraded: (error) => stores.degraded('stream_counts', error, 'the per-user stream cap counts the streams held on this replica only'),
      onRecovered: () => stores.recovered('stream_counts'),
    });
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
