import type { Redis } from 'ioredis';
import { ALLOWED, BLOCKED_RULE, type LimitCheck, type LimitDecision, type RateLimitStore } from './rate-limit.store.js';

/**
 * One decision, atomic in Redis: whether the holder is blocked, every bucket's refilled level, and either a token
 * from each bucket or (when one is short) the wait and an offence, which may block the holder. Redis' own clock is
 * the time, so replicas whose clocks differ still share one bucket. A full bucket and a missing key mean the same,
 * so each key expires once its bucket would be full again.
 *
 * KEYS: blockKey, offenceKey, then one hash per bucket ({ t: tokens, at: ms }).
 * ARGV: refusals (0: no blocking), offence window ms, block ms, then per bucket: burst, window ms, limit.
 * Returns { allowed (1|0), retryAfterMs, refusing bucket index (1-based; 0 when blocked), blockedNow (1|0) }.
 */
const DECIDE_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local refusals = tonumber(ARGV[1])
if refusals > 0 then
  local blocked = redis.call('PTTL', KEYS[1])
  if blocked > 0 then return {0, blocked, 0, 0} end
end
local n = #KEYS - 2
local levels = {}
local retry = 0
local refusedBy = 0
for i = 1, n do
  local base = 3 + (i - 1) * 3
  local burst = tonumber(ARGV[base + 1])
  local rate = tonumber(ARGV[base + 3]) / tonumber(ARGV[base + 2])
  local state = redis.call('HMGET', KEYS[i + 2], 't', 'at')
  local level = burst
  if state[1] and state[2] then
    level = math.min(burst, tonumber(state[1]) + math.max(0, now - tonumber(state[2])) * rate)
  end
  levels[i] = level
  if level < 1 then
    local wait = math.ceil((1 - level) / rate)
    if wait > retry then
      retry = wait
      refusedBy = i
    end
  end
end
if refusedBy == 0 then
  for i = 1, n do
    local base = 3 + (i - 1) * 3
    local burst = tonumber(ARGV[base + 1])
    local rate = tonumber(ARGV[base + 3]) / tonumber(ARGV[base + 2])
    local left = levels[i] - 1
    redis.call('HSET', KEYS[i + 2], 't', tostring(left), 'at', tostring(now))
    redis.call('PEXPIRE', KEYS[i + 2], math.max(1, math.ceil((burst - left) / rate)))
  end
  return {1, 0, 0, 0}
end
if refusals > 0 then
  local count = redis.call('INCR', KEYS[2])
  if count == 1 then redis.call('PEXPIRE', KEYS[2], ARGV[2]) end
  if count >= refusals then
    redis.call('DEL', KEYS[2])
    redis.call('SET', KEYS[1], '1', 'PX', ARGV[3])
    return {0, math.max(retry, tonumber(ARGV[3])), refusedBy, 1}
  end
end
return {0, retry, refusedBy, 0}
`;

/** What the store reports while Redis cannot be reached, and when it can again. */
export interface StoreHealthListener {
  /** A decision could not be made in Redis and was allowed; `firstOfOutage` is true once per outage. */
  failedOpen(error: unknown, firstOfOutage: boolean): void;
  recovered(): void;
}

interface DecideCommand {
  tradewireRateLimit(numKeys: number, ...args: (string | number)[]): Promise<[number, number, number, number]>;
}

/**
 * Buckets in Redis, shared by every replica. If Redis cannot answer, the decision is allowed (fail open) and the
 * listener is told: a trading floor must not lose its dashboards because the limiter's store blinked. The client
 * must not queue commands while disconnected (`enableOfflineQueue: false`) and should have a `commandTimeout`, so
 * a failed decision fails at once instead of holding the request.
 */
export class RedisRateLimitStore implements RateLimitStore {
  readonly kind = 'redis' as const;
  private failing = false;

  constructor(
    private readonly redis: Redis,
    private readonly listener: StoreHealthListener,
  ) {
    redis.defineCommand('tradewireRateLimit', { lua: DECIDE_SCRIPT });
  }

  async decide(check: LimitCheck): Promise<LimitDecision> {
    const first = check.buckets[0];
    // Every rule switched off: nothing to take, and nobody can have been refused into a block.
    if (!first) return ALLOWED;
    const offenders = check.offenders;
    // Without an offender policy the script reads neither key; these stand in, in the buckets' cluster slot.
    const keys = [offenders?.blockKey ?? `${first.key}:block`, offenders?.offenceKey ?? `${first.key}:offences`];
    const args: (string | number)[] = [offenders?.refusals ?? 0, offenders?.windowMs ?? 0, offenders?.blockMs ?? 0];
    for (const bucket of check.buckets) {
      keys.push(bucket.key);
      args.push(bucket.rule.burst, bucket.rule.windowMs, bucket.rule.limit);
    }
    let reply: [number, number, number, number];
    try {
      reply = await (this.redis as unknown as DecideCommand).tradewireRateLimit(keys.length, ...keys, ...args);
    } catch (error) {
      this.listener.failedOpen(error, !this.failing);
      this.failing = true;
      return ALLOWED;
    }
    if (this.failing) {
      this.failing = false;
      this.listener.recovered();
    }
    const [allowed, retryAfterMs, refusedBy, blockedNow] = reply;
    if (allowed === 1) return ALLOWED;
    const rule = refusedBy === 0 ? BLOCKED_RULE : (check.buckets[refusedBy - 1]?.name ?? BLOCKED_RULE);
    return { allowed: false, retryAfterMs: Math.max(1, retryAfterMs), rule, blockedNow: blockedNow === 1 };
  }

  /** Unlike a decision, this fails loudly: an operator who lifts a block must know whether it was lifted. */
  async forget(keys: readonly string[]): Promise<void> {
    if (keys.length > 0) await this.redis.del(...keys);
  }

  async close(): Promise<void> {
    try {
      await this.redis.quit();
    } catch {
      this.redis.disconnect();
    }
  }
}
