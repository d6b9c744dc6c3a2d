import type { Redis } from 'ioredis';
import type { IdempotencyRecord, OrderIdempotencyStore, StoredOrderAnswer } from './order-idempotency.store.js';

const KEY_PREFIX = 'tradewire:order:idem:';

/** What a key holds in Redis: the fingerprint, and the answer once there is one (absent: in flight). */
interface StoredValue {
  f: string;
  a?: StoredOrderAnswer;
}

/**
 * `clientOrderId`s in Redis, shared by every replica: a claim is one `SET NX PX` (the replica that wins sends the
 * order; the others find the key and wait for its answer), the answer replaces the claim with the same TTL.
 */
export class RedisOrderIdempotencyStore implements OrderIdempotencyStore {
  readonly kind = 'redis';

  constructor(
    private readonly redis: Redis,
    private readonly ttlMs: number,
  ) {}

  async claim(key: string, fingerprint: string): Promise<IdempotencyRecord | null> {
    const value = JSON.stringify({ f: fingerprint } satisfies StoredValue);
    // Twice at most: the key may expire between a refused SET and the GET.
    for (let attempt = 0; attempt < 2; attempt++) {
      if ((await this.redis.set(KEY_PREFIX + key, value, 'PX', this.ttlMs, 'NX')) === 'OK') return null;
      const existing = await this.peek(key);
      if (existing) return existing;
    }
    throw new Error(`idempotency key ${key} could neither be claimed nor read`);
  }

  async peek(key: string): Promise<IdempotencyRecord | null> {
    const raw = await this.redis.get(KEY_PREFIX + key);
    if (raw === null) return null;
    const stored = JSON.parse(raw) as StoredValue;
    return stored.a ? { fingerprint: stored.f, answer: stored.a } : { fingerprint: stored.f };
  }

  async complete(key: string, fingerprint: string, answer: StoredOrderAnswer): Promise<void> {
    await this.redis.set(KEY_PREFIX + key, JSON.stringify({ f: fingerprint, a: answer } satisfies StoredValue), 'PX', this.ttlMs);
  }

  async release(key: string): Promise<void> {
    await this.redis.del(KEY_PREFIX + key);
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => undefined);
  }
}
