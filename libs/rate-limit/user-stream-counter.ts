import type { Redis } from 'ioredis';

/**
 * Reads the streams a user holds on the other replicas: each replica's count is a field of the user's hash,
 * `count:expiresAt` (Redis time). Fields past their expiry belong to a replica that stopped refreshing them (it
 * crashed) and are dropped as they are read.
 * KEYS: the user's hash. ARGV: this replica's field. Returns the sum over the other live fields.
 */
const HELD_ELSEWHERE_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local entries = redis.call('HGETALL', KEYS[1])
local total = 0
for i = 1, #entries, 2 do
  local field = entries[i]
  local count, expiresAt = string.match(entries[i + 1], '^(%d+):(%d+)$')
  if not count or tonumber(expiresAt) <= now then
    redis.call('HDEL', KEYS[1], field)
  elseif field ~= ARGV[1] then
    total = total + tonumber(count)
  end
end
return total
`;

/**
 * Publishes this replica's count for a user, valid for a TTL; a count of 0 removes the field.
 * KEYS: the user's hash. ARGV: this replica's field, count, ttl ms.
 */
const PUBLISH_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local count = tonumber(ARGV[2])
if count <= 0 then
  redis.call('HDEL', KEYS[1], ARGV[1])
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], count .. ':' .. (now + tonumber(ARGV[3])))
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return count
`;

interface StreamCountCommands {
  tradewireHeldElsewhere(key: string, field: string): Promise<number>;
  tradewireStreamsPublish(key: string, field: string, count: number, ttlMs: number): Promise<number>;
}

export interface ClusterStreamCounts {
  redis: Redis;
  /** This replica's name: its field in every user's hash. */
  nodeId: string;
  /** How long a published count holds without a refresh: how soon a crashed replica's streams are free again. */
  ttlMs?: number;
  /** Every failed read or write of the shared counts (each is counted as a store failure). */
  onError?: (error: unknown) => void;
  /** Redis stopped answering: the cap now counts this replica's streams alone. Once per outage. */
  onDegraded?: (error: unknown) => void;
  /** Redis answers again and holds this replica's counts again. */
  onRecovered?: () => void;
}

const KEY_PREFIX = 'tradewire:rl';

/**
 * Market-data streams held per user, across the user's connections: the concurrent-subscription cap
 * (`RATE_LIMIT_MAX_SUBSCRIPTIONS`). Counted where subscriptions are added and dropped, so unsubscribes, licence
 * changes and disconnects all release what they held. With Redis, each replica also publishes its counts (refreshed
 * every third of a TTL, removed on shutdown) and reads the others' before a subscribe, so the cap holds across
 * replicas; a crashed replica's counts lapse after the TTL. If Redis fails, the local count alone applies (degraded
 * mode, reported once per outage); when Redis is back (its connection ready again, or the next refresh succeeds), every
 * count this replica holds, and every count that changed while Redis was away, is written again at once.
 */
export class UserStreamCounter {
  private readonly counts = new Map<string, number>();
  private readonly dirty = new Set<string>();
  private flushScheduled = false;
  private readonly refresher?: NodeJS.Timeout;
  private readonly ttlMs: number;
  /** Redis failed and has not answered since. */
  private degraded = false;
  /** Holders whose count could not be written while degraded (a count gone to 0 included): written on recovery. */
  private readonly unsynced = new Set<string>();
  private resyncing = false;

  constructor(private readonly cluster?: ClusterStreamCounts) {
    this.ttlMs = cluster?.ttlMs ?? 15_000;
    if (cluster) {
      cluster.redis.defineCommand('tradewireHeldElsewhere', { numberOfKeys: 1, lua: HELD_ELSEWHERE_SCRIPT });
      cluster.redis.defineCommand('tradewireStreamsPublish', { numberOfKeys: 1, lua: PUBLISH_SCRIPT });
      this.refresher = setInterval(() => (this.degraded ? this.resync() : this.publish([...this.counts.keys()])), Math.max(100, Math.floor(this.ttlMs / 3)));
      this.refresher.unref();
      cluster.redis.on('ready', () => this.resync());
    }
  }

  get isDegraded(): boolean {
    return this.degraded;
  }

  /** Streams `holder` holds on this replica. */
  count(holder: string): number {
    return this.counts.get(holder) ?? 0;
  }

  /** Streams `holder` holds on the other replicas (0 without Redis, or when Redis cannot say). */
  async heldElsewhere(holder: string): Promise<number> {
    if (!this.cluster) return 0;
    // No round trip while the connection is down. A degraded counter whose connection is up (one command timed out,
    // say) still asks: an answer ends degraded mode at once instead of at the next refresh.
    if (this.degraded && this.cluster.redis.status !== 'ready') return 0;
    try {
      const elsewhere = await this.commands.tradewireHeldElsewhere(hashKey(holder), this.cluster.nodeId);
      this.resync();
      return elsewhere;
    } catch (error) {
      this.failed(error);
      return 0;
    }
  }

  added(holder: string): void {
    this.counts.set(holder, this.count(holder) + 1);
    this.changed(holder);
  }

  removed(holder: string): void {
    const left = this.count(holder) - 1;
    if (left > 0) this.counts.set(holder, left);
    else this.counts.delete(holder);
    this.changed(holder);
  }

  /**
   * Writes `holder`'s count now instead of at the end of the turn, and resolves once it is written (or could not be):
   * a subscribe answers only after the other replicas can see the streams it added, so that a request the same user
   * sends next through another replica is counted against them.
   */
  async settle(holder: string): Promise<void> {
    if (!this.cluster || !this.dirty.delete(holder)) return;
    if (this.degraded) {
      this.unsynced.add(holder);
      return;
    }
    try {
      await this.publishOne(holder);
    } catch (error) {
      this.unsynced.add(holder);
      this.failed(error);
    }
  }

  get users(): number {
    return this.counts.size;
  }

  /** Takes this replica's counts out of Redis: its users' streams are free on the other replicas at once. */
  async close(): Promise<void> {
    clearInterval(this.refresher);
    if (!this.cluster) return;
    const holders = [...new Set([...this.counts.keys(), ...this.dirty])];
    this.counts.clear();
    this.dirty.clear();
    await Promise.allSettled(holders.map((holder) => this.commands.tradewireStreamsPublish(hashKey(holder), this.cluster?.nodeId ?? '', 0, this.ttlMs)));
  }

  private get commands(): StreamCountCommands {
    return this.cluster?.redis as unknown as StreamCountCommands;
  }

  /** Publishes once per event-loop turn, however many streams one request added. */
  private changed(holder: string): void {
    if (!this.cluster) return;
    this.dirty.add(holder);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      const holders = [...this.dirty];
      this.dirty.clear();
      this.publish(holders);
    });
  }

  private publish(holders: string[]): void {
    if (!this.cluster) return;
    if (this.degraded) {
      for (const holder of holders) this.unsynced.add(holder);
      return;
    }
    for (const holder of holders) {
      this.publishOne(holder).catch((error: unknown) => {
        this.unsynced.add(holder);
        this.failed(error);
      });
    }
  }

  private publishOne(holder: string): Promise<number> {
    return this.commands.tradewireStreamsPublish(hashKey(holder), this.cluster?.nodeId ?? '', this.count(holder), this.ttlMs);
  }

  private failed(error: unknown): void {
    this.cluster?.onError?.(error);
    // A command that timed out on a live connection (a busy Redis, a busy host) is counted, and that one read counts
    // locally, but it is no outage: degraded mode is for a connection that is down.
    if (this.degraded || this.cluster?.redis.status === 'ready') return;
    this.degraded = true;
    this.cluster?.onDegraded?.(error);
  }

  /** Writes every count held and every count changed during the outage; degraded mode ends when all are written. */
  private resync(): void {
    if (!this.degraded || this.resyncing || !this.cluster) return;
    this.resyncing = true;
    const holders = [...new Set([...this.counts.keys(), ...this.unsynced])];
    this.unsynced.clear();
    // With nothing to write, a PING tells whether the store answers.
    const writes: Promise<unknown>[] = holders.length > 0 ? holders.map((holder) => this.publishOne(holder)) : [this.cluster.redis.ping()];
    Promise.all(writes).then(
      () => {
        this.resyncing = false;
        this.degraded = false;
        this.cluster?.onRecovered?.();
      },
      (error: unknown) => {
        this.resyncing = false;
        for (const holder of holders) this.unsynced.add(holder);
        this.cluster?.onError?.(error);
      },
    );
  }
}

function hashKey(holder: string): string {
  return `${KEY_PREFIX}:{u:${holder}}:streams`;
}
