import type { Redis } from 'ioredis';
import type { SharedSeatStore } from './failover-seat-store.js';
import type { Seat, SeatClaim } from './seat-store.js';

/**
 * Prune expired leases, count, add: atomic, so two replicas admitting the same user at once cannot both take the last
 * seat. Time is Redis's own (TIME), so replicas with skewed clocks agree on when a lease ends. Both keys carry the
 * tenant as hash tag, so they live in one cluster slot.
 */
const CLAIM = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  local userLimit = tonumber(ARGV[3])
  local tenantLimit = tonumber(ARGV[4])
  if userLimit > 0 and redis.call('ZCARD', KEYS[1]) >= userLimit then return 1 end
  if tenantLimit > 0 and redis.call('ZCARD', KEYS[2]) >= tenantLimit then return 2 end
end
redis.call('ZADD', KEYS[1], now + lease, ARGV[1])
redis.call('ZADD', KEYS[2], now + lease, ARGV[1])
redis.call('PEXPIRE', KEYS[1], lease * 2)
redis.call('PEXPIRE', KEYS[2], lease * 2)
return 0
`;

/** Extends the leases of a batch of one tenant's seats: KEYS = user key per seat, then the tenant key last. */
const RENEW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease = tonumber(ARGV[1])
local tenantKey = KEYS[#KEYS]
for i = 1, #KEYS - 1 do
  redis.call('ZADD', KEYS[i], now + lease, ARGV[i + 1])
  redis.call('ZADD', tenantKey, now + lease, ARGV[i + 1])
  redis.call('PEXPIRE', KEYS[i], lease * 2)
end
redis.call('PEXPIRE', tenantKey, lease * 2)
return 0
`;

const RENEW_BATCH = 500;

/**
 * Seats shared by every replica: a sorted set per user and per tenant whose members are seats and whose scores are
 * lease deadlines. A replica renews its seats every third of the lease; a replica that dies stops renewing, so its
 * seats lapse within `leaseMs` and are pruned by the next claim.
 */
export class RedisSeatStore implements SharedSeatStore {
  /** Until the connection has been ready once, commands wait for it (bounded by the client's command timeout). */
  private everReady: boolean;

  constructor(
    private readonly redis: Redis,
    readonly leaseMs: number,
  ) {
    this.everReady = redis.status === 'ready';
    redis.on('ready', () => (this.everReady = true));
  }

  get reachable(): boolean {
    const status = this.redis.status;
    return status === 'ready' || (!this.everReady && status !== 'end' && status !== 'close');
  }

  onReachable(listener: () => void): void {
    this.redis.on('ready', listener);
  }

  async claim(seat: Seat, userLimit: number, tenantLimit: number): Promise<SeatClaim> {
    const result = await this.redis.eval(CLAIM, 2, userKey(seat), tenantKey(seat.tenant), seat.id, this.leaseMs, userLimit, tenantLimit);
    return result === 1 ? 'user_limit' : result === 2 ? 'tenant_limit' : 'ok';
  }

  async renew(seats: Seat[]): Promise<void> {
    const byTenant = new Map<string, Seat[]>();
    for (const seat of seats) {
      const list = byTenant.get(seat.tenant);
      if (list) list.push(seat);
      else byTenant.set(seat.tenant, [seat]);
    }
    const pipeline = this.redis.pipeline();
    for (const [tenant, all] of byTenant) {
      for (let i = 0; i < all.length; i += RENEW_BATCH) {
        const batch = all.slice(i, i + RENEW_BATCH);
        pipeline.eval(RENEW, batch.length + 1, ...batch.map(userKey), tenantKey(tenant), this.leaseMs, ...batch.map((seat) => seat.id));
      }
    }
    await pipeline.exec();
  }

  async free(seats: Seat[]): Promise<void> {
    if (seats.length === 0) return;
    const pipeline = this.redis.pipeline();
    for (const seat of seats) {
      pipeline.zrem(userKey(seat), seat.id);
      pipeline.zrem(tenantKey(seat.tenant), seat.id);
    }
    await pipeline.exec();
  }

  async close(): Promise<void> {
    await this.redis.quit();
  }
}

function tenantKey(tenant: string): string {
  return `tradewire:seats:{${tenant}}:tenant`;
}

function userKey(seat: Seat): string {
  return `tradewire:seats:{${seat.tenant}}:user:${seat.userId}`;
}
