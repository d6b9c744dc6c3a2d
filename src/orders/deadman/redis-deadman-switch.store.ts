import type { Redis } from 'ioredis';
import type { DeadmanFired, DeadmanFireReason } from '#libs/contracts';
import {
  coveredOrderFromKey,
  coveredOrderKey,
  FIRED_SWITCH_MEMORY_MS,
  type ArmedSwitch,
  type ArmSwitch,
  type ClaimedSwitch,
  type CoveredOrder,
  type DeadmanOwner,
  type DeadmanSwitchStore,
} from './deadman-switch.store.js';

/**
 * Every key shares the hash tag `{deadman}`, so the scripts' keys sit in one slot (a Redis Cluster runs them too); the
 * volume is a few keys per armed switch.
 */
const PREFIX = 'tradewire:{deadman}';
const DUE_KEY = `${PREFIX}:due`;
const switchKey = (id: string) => `${PREFIX}:s:${id}`;
const ordersKey = (id: string) => `${PREFIX}:o:${id}`;
const firedKey = (id: string) => `${PREFIX}:f:${id}`;
const NODE_PREFIX = `${PREFIX}:n:`;
/** How many due switches one sweep looks at; the rest wait for the next sweep (a quarter of a second later). */
const SWEEP_BATCH = 100;
/** A switch's keys outlive its deadline by this much, in case no replica is left to fire it (then nothing would). */
const KEEP_AFTER_DEADLINE_MS = 86_400_000;

/** Time is Redis's own (TIME), so replicas with skewed clocks agree on every deadline. */
const NOW = `
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

/**
 * Arm, refresh or re-attach. KEYS: the named switch, its orders, its firing record, a new switch, its orders, due.
 * ARGV: named id ('' for none), new id, tenant, user, timeout, node, connection, keep, then order key/orderId pairs.
 * Returns { id, deadline, resumed (0/1), order count, previous firing (JSON or '') }.
 */
const ARM_SCRIPT = `${NOW}
local timeout = tonumber(ARGV[5])
local id, skey, okey, resumed, previous = ARGV[2], KEYS[4], KEYS[5], 0, ''
if ARGV[1] ~= '' then
  local s = redis.call('HMGET', KEYS[1], 'tenant', 'user', 'state', 'reason', 'firedAt')
  if s[1] == ARGV[3] and s[2] == ARGV[4] then
    if s[3] == 'armed' then
      id, skey, okey, resumed = ARGV[1], KEYS[1], KEYS[2], 1
    else
      previous = cjson.encode({ switchId = ARGV[1], reason = s[4], firedAt = tonumber(s[5]), orders = redis.call('HLEN', KEYS[2]) })
    end
  else
    local f = redis.call('GET', KEYS[3])
    if f then
      local record = cjson.decode(f)
      if record.tenant == ARGV[3] and record.user == ARGV[4] then previous = f end
    end
  end
end
local deadline = now + timeout
redis.call('HSET', skey, 'tenant', ARGV[3], 'user', ARGV[4], 'timeout', timeout, 'deadline', deadline, 'node', ARGV[6], 'conn', ARGV[7], 'connected', '1', 'state', 'armed')
for i = 9, #ARGV, 2 do
  local current = redis.call('HGET', okey, ARGV[i])
  if (not current) or (current == '' and ARGV[i + 1] ~= '') then redis.call('HSET', okey, ARGV[i], ARGV[i + 1]) end
end
local keep = timeout + tonumber(ARGV[8])
redis.call('PEXPIRE', skey, keep)
if redis.call('EXISTS', okey) == 1 then redis.call('PEXPIRE', okey, keep) end
redis.call('ZADD', KEYS[6], deadline, id)
return { id, deadline, resumed, redis.call('HLEN', okey), previous }
`;

/** KEYS: switch, orders. ARGV: order key, orderId ('' unknown). 1 added (or named), 0 not armed. */
const ADD_ORDER_SCRIPT = `
if redis.call('HGET', KEYS[1], 'state') ~= 'armed' then return 0 end
local current = redis.call('HGET', KEYS[2], ARGV[1])
if (not current) or (current == '' and ARGV[2] ~= '') then redis.call('HSET', KEYS[2], ARGV[1], ARGV[2]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 then redis.call('PEXPIRE', KEYS[2], ttl) end
return 1
`;

/** KEYS: switch, due. ARGV: id, connection. The drop gives the client `timeout` from now, or the deadline if later. */
const DETACH_SCRIPT = `${NOW}
local s = redis.call('HMGET', KEYS[1], 'conn', 'state', 'deadline', 'timeout')
if s[1] ~= ARGV[2] or s[2] ~= 'armed' then return 0 end
local deadline = math.max(tonumber(s[3]), now + tonumber(s[4]))
redis.call('HSET', KEYS[1], 'connected', '0', 'deadline', deadline)
redis.call('ZADD', KEYS[2], deadline, ARGV[1])
return deadline
`;

/** KEYS: switch, orders, due, firing record. ARGV: id, tenant, user. Returns { disarmed (0/1), firing (JSON or '') }. */
const DISARM_SCRIPT = `
local s = redis.call('HMGET', KEYS[1], 'tenant', 'user', 'state', 'reason', 'firedAt')
if s[1] ~= ARGV[2] or s[2] ~= ARGV[3] then
  local f = redis.call('GET', KEYS[4])
  if f then
    local record = cjson.decode(f)
    if record.tenant == ARGV[2] and record.user == ARGV[3] then return { 0, f } end
  end
  return { 0, '' }
end
if s[3] ~= 'armed' then
  return { 0, cjson.encode({ switchId = ARGV[1], reason = s[4], firedAt = tonumber(s[5]), orders = redis.call('HLEN', KEYS[2]) }) }
end
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('ZREM', KEYS[3], ARGV[1])
return { 1, '' }
`;

/** KEYS: due, this node's lease. ARGV: lease, batch. Renews the lease and lists what is due. */
const SWEEP_SCRIPT = `${NOW}
redis.call('SET', KEYS[2], '1', 'PX', tonumber(ARGV[1]))
return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))
`;

/**
 * KEYS: switch, orders, due. ARGV: id, this node, lease, node lease prefix.
 * An armed switch past its deadline is claimed by the replica holding its connection, or by any other replica once
 * that replica's lease is gone (it died) or a lease has passed since the deadline (it is stuck). A claim lasts a lease;
 * one that lapses (its replica died while firing) is claimed again. The owner's lease key is read by name: it shares
 * the slot of the declared keys.
 * Returns { reason, tenant, user, firedAt, connection, timeout, order key/orderId pairs } or nil.
 */
const CLAIM_SCRIPT = `${NOW}
local s = redis.call('HMGET', KEYS[1], 'state', 'deadline', 'node', 'connected', 'claimUntil', 'reason')
if not s[1] then
  redis.call('ZREM', KEYS[3], ARGV[1])
  return nil
end
local lease = tonumber(ARGV[3])
local reason
if s[1] == 'armed' then
  local deadline = tonumber(s[2])
  if deadline > now then
    redis.call('ZADD', KEYS[3], deadline, ARGV[1])
    return nil
  end
  local mine = s[3] == ARGV[2]
  local ownerAlive = mine or redis.call('EXISTS', ARGV[4] .. s[3]) == 1
  if (not mine) and ownerAlive and now < deadline + lease then return nil end
  if s[4] == '0' then reason = 'disconnect' elseif ownerAlive then reason = 'timeout' else reason = 'replica_lost' end
  redis.call('HSET', KEYS[1], 'reason', reason, 'firedAt', now)
else
  if tonumber(s[5]) > now then return nil end
  reason = s[6]
end
redis.call('HSET', KEYS[1], 'state', 'firing', 'firer', ARGV[2], 'claimUntil', now + lease)
redis.call('ZADD', KEYS[3], now + lease, ARGV[1])
local h = redis.call('HMGET', KEYS[1], 'tenant', 'user', 'firedAt', 'conn', 'timeout')
return { reason, h[1], h[2], h[3], h[4], h[5], redis.call('HGETALL', KEYS[2]) }
`;

/** KEYS: switch, due. ARGV: id, this node, lease. */
const RENEW_SCRIPT = `${NOW}
local s = redis.call('HMGET', KEYS[1], 'state', 'firer')
if s[1] ~= 'firing' or s[2] ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], 'claimUntil', now + tonumber(ARGV[3]))
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[3]), ARGV[1])
return 1
`;

/** KEYS: switch, orders, due, firing record. ARGV: id, this node, record JSON, how long it is kept. */
const COMPLETE_SCRIPT = `
if redis.call('HGET', KEYS[1], 'firer') ~= ARGV[2] then return 0 end
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('SET', KEYS[4], ARGV[3], 'PX', tonumber(ARGV[4]))
return 1
`;

interface DeadmanCommands {
  tradewireDeadmanArm(...args: (string | number)[]): Promise<[string, number, number, number, string]>;
  tradewireDeadmanAddOrder(...args: string[]): Promise<number>;
  tradewireDeadmanDetach(...args: string[]): Promise<number>;
  tradewireDeadmanDisarm(...args: string[]): Promise<[number, string]>;
  tradewireDeadmanSweep(...args: (string | number)[]): Promise<string[]>;
  tradewireDeadmanClaim(...args: (string | number)[]): Promise<[string, string, string, string, string, string, string[]] | null>;
  tradewireDeadmanRenew(...args: (string | number)[]): Promise<number>;
  tradewireDeadmanComplete(...args: (string | number)[]): Promise<number>;
}

/** A firing record as kept in Redis: the client's view of it plus whose it is. */
interface StoredFiring extends DeadmanFired {
  tenant: string;
  user: string;
}

/**
 * Switches in Redis, shared by every replica (see `DeadmanSwitchStore`). Each replica renews a lease of its own on
 * every sweep; a switch names the replica its connection is on, and a replica finding a due switch whose replica's
 * lease is gone fires it (reason `replica_lost`).
 */
export class RedisDeadmanSwitchStore implements DeadmanSwitchStore {
  readonly kind = 'redis';
  private readonly redis: Redis & DeadmanCommands;

  constructor(
    redis: Redis,
    /** A replica's lease; also the grace a live replica has to fire its own due switches before another does. */
    private readonly leaseMs: number,
  ) {
    redis.defineCommand('tradewireDeadmanArm', { numberOfKeys: 6, lua: ARM_SCRIPT });
    redis.defineCommand('tradewireDeadmanAddOrder', { numberOfKeys: 2, lua: ADD_ORDER_SCRIPT });
    redis.defineCommand('tradewireDeadmanDetach', { numberOfKeys: 2, lua: DETACH_SCRIPT });
    redis.defineCommand('tradewireDeadmanDisarm', { numberOfKeys: 4, lua: DISARM_SCRIPT });
    redis.defineCommand('tradewireDeadmanSweep', { numberOfKeys: 2, lua: SWEEP_SCRIPT });
    redis.defineCommand('tradewireDeadmanClaim', { numberOfKeys: 3, lua: CLAIM_SCRIPT });
    redis.defineCommand('tradewireDeadmanRenew', { numberOfKeys: 2, lua: RENEW_SCRIPT });
    redis.defineCommand('tradewireDeadmanComplete', { numberOfKeys: 4, lua: COMPLETE_SCRIPT });
    this.redis = redis as Redis & DeadmanCommands;
  }

  async arm(request: ArmSwitch): Promise<ArmedSwitch> {
    const named = request.switchId ?? '';
    const orderArgs = request.orders.flatMap((order) => [coveredOrderKey(order), order.orderId ?? '']);
    const [switchId, deadline, resumed, orders, previous] = await this.redis.tradewireDeadmanArm(
      switchKey(named),
      ordersKey(named),
      firedKey(named),
      switchKey(request.newSwitchId),
      ordersKey(request.newSwitchId),
      DUE_KEY,
      named,
      request.newSwitchId,
      request.owner.tenant,
      request.owner.userId,
      request.timeoutMs,
      request.node,
      request.connection,
      KEEP_AFTER_DEADLINE_MS,
      ...orderArgs,
    );
    const fired = previous ? firingFrom(previous) : undefined;
    return { switchId, deadline: Number(deadline), resumed: Number(resumed) === 1, orders: Number(orders), ...(fired ? { previous: fired } : {}) };
  }

  async addOrder(switchId: string, order: CoveredOrder): Promise<boolean> {
    return (await this.redis.tradewireDeadmanAddOrder(switchKey(switchId), ordersKey(switchId), coveredOrderKey(order), order.orderId ?? '')) === 1;
  }

  async detach(switchId: string, connection: string): Promise<void> {
    await this.redis.tradewireDeadmanDetach(switchKey(switchId), DUE_KEY, switchId, connection);
  }

  async disarm(switchId: string, owner: DeadmanOwner): Promise<{ disarmed: boolean; fired?: DeadmanFired }> {
    const [disarmed, firing] = await this.redis.tradewireDeadmanDisarm(switchKey(switchId), ordersKey(switchId), DUE_KEY, firedKey(switchId), switchId, owner.tenant, owner.userId);
    const fired = firing ? firingFrom(firing) : undefined;
    return { disarmed: Number(disarmed) === 1, ...(fired ? { fired } : {}) };
  }

  due(node: string): Promise<string[]> {
    return this.redis.tradewireDeadmanSweep(DUE_KEY, NODE_PREFIX + node, this.leaseMs, SWEEP_BATCH);
  }

  async claim(switchId: string, node: string): Promise<ClaimedSwitch | null> {
    const claimed = await this.redis.tradewireDeadmanClaim(switchKey(switchId), ordersKey(switchId), DUE_KEY, switchId, node, this.leaseMs, NODE_PREFIX);
    if (!claimed) return null;
    const [reason, tenant, userId, firedAt, connection, timeout, pairs] = claimed;
    const orders: CoveredOrder[] = [];
    for (let i = 0; i + 1 < pairs.length; i += 2) {
      const order = coveredOrderFromKey(pairs[i] ?? '', pairs[i + 1] ?? '');
      if (order) orders.push(order);
    }
    return { switchId, owner: { tenant, userId }, reason: reason as DeadmanFireReason, firedAt: Number(firedAt), orders, connection, timeoutMs: Number(timeout) };
  }

  async renewClaim(switchId: string, node: string): Promise<boolean> {
    return (await this.redis.tradewireDeadmanRenew(switchKey(switchId), DUE_KEY, switchId, node, this.leaseMs)) === 1;
  }

  async complete(switchId: string, node: string, fired: DeadmanFired, owner: DeadmanOwner): Promise<void> {
    const record: StoredFiring = { ...fired, tenant: owner.tenant, user: owner.userId };
    await this.redis.tradewireDeadmanComplete(switchKey(switchId), ordersKey(switchId), DUE_KEY, firedKey(switchId), switchId, node, JSON.stringify(record), FIRED_SWITCH_MEMORY_MS);
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => undefined);
  }
}

/** A firing as the client sees it (the owner fields left out). */
function firingFrom(json: string): DeadmanFired | undefined {
  const record = JSON.parse(json) as Partial<StoredFiring>;
  if (typeof record.switchId !== 'string' || typeof record.reason !== 'string' || typeof record.firedAt !== 'number') return undefined;
  return { switchId: record.switchId, reason: record.reason, firedAt: record.firedAt, orders: typeof record.orders === 'number' ? record.orders : 0 };
}
