import type { IdempotencyRecord, OrderIdempotencyStore, StoredOrderAnswer } from './order-idempotency.store.js';

interface Entry extends IdempotencyRecord {
  expiresAt: number;
}

/**
 * `clientOrderId`s in this process's memory (no `REDIS_URL`). Bounded twice: each key expires `ttlMs` after its claim,
 * and past `maxKeys` the oldest answered keys are forgotten first. A Map keeps insertion (= claim) order and every
 * key has the same TTL, so the expired keys are always at its head.
 */
export class MemoryOrderIdempotencyStore implements OrderIdempotencyStore {
  readonly kind = 'memory';
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxKeys: number,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  claim(key: string, fingerprint: string): Promise<IdempotencyRecord | null> {
    this.dropExpired();
    const existing = this.live(key);
    if (existing) return Promise.resolve(recordOf(existing));
    this.makeRoom();
    this.entries.set(key, { fingerprint, expiresAt: this.now() + this.ttlMs });
    return Promise.resolve(null);
  }

  peek(key: string): Promise<IdempotencyRecord | null> {
    const entry = this.live(key);
    return Promise.resolve(entry ? recordOf(entry) : null);
  }

  complete(key: string, fingerprint: string, answer: StoredOrderAnswer): Promise<void> {
    const entry = this.entries.get(key);
    // Updated in place: the key keeps its place (and its expiry) in claim order.
    if (entry && entry.fingerprint === fingerprint) entry.answer = answer;
    return Promise.resolve();
  }

  release(key: string): Promise<void> {
    const entry = this.entries.get(key);
    if (entry && !entry.answer) this.entries.delete(key);
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.entries.clear();
    return Promise.resolve();
  }

  private live(key: string): Entry | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt > this.now()) return entry;
    this.entries.delete(key);
    return undefined;
  }

  private dropExpired(): void {
    const now = this.now();
    for (const [key, entry] of this.entries) {
      if (entry.expiresAt > now) break;
      this.entries.delete(key);
    }
  }

  /** Keys in flight are kept: they are few (every one is a request waiting for the engine) and forgetting one could send its order twice. */
  private makeRoom(): void {
    if (this.entries.size < this.maxKeys) return;
    for (const [key, entry] of this.entries) {
      if (!entry.answer) continue;
      this.entries.delete(key);
      if (this.entries.size < this.maxKeys) return;
    }
  }
}

function recordOf(entry: Entry): IdempotencyRecord {
  return entry.answer ? { fingerprint: entry.fingerprint, answer: entry.answer } : { fingerprint: entry.fingerprint };
}
