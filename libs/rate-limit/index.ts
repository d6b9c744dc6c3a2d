export { clientAddress, normalizeAddress, TrustedProxies, TrustedProxySyntaxError } from './client-address.js';
export { MemoryRateLimitStore, type MemoryStoreOptions } from './memory-rate-limit.store.js';
export { ALLOWED, BLOCKED_RULE, type BucketCheck, type LimitCheck, type LimitDecision, type OffenderPolicy, type RateLimitStore } from './rate-limit.store.js';
export { CANCEL_EVENTS, DEFAULT_RATE_LIMITS, RateLimiter, type RateLimitedUser, type RateLimitSettings } from './rate-limiter.js';
export { describeRule, parseEventRules, parseRateRule, parseRefusalThreshold, RateRuleSyntaxError, type RateRule } from './rate-rule.js';
export { RedisRateLimitStore, type StoreHealthListener } from './redis-rate-limit.store.js';
export { timeToFull, tokensAt, waitForToken, type BucketState } from './token-bucket.js';
export { UserStreamCounter, type ClusterStreamCounts } from './user-stream-counter.js';
