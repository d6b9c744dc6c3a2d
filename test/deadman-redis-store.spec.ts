import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisDeadmanSwitchStore } from '../src/orders/deadman/redis-deadman-switch.store.js';
import { RedisServer } from './support/processes.js';

/**
 * The Redis store of the dead-man's switch against a real redis-server, two replicas' stores side by side: who may
 * claim a due switch, when, and with what reason (the replica leases); a claim is taken once and taken again when it
 * lapses.
 */
describe("dead-man's switch Redis store", () => {
  const LEASE_MS = 300;
  const owner = { tenant: 'acme-capital', userId: 'u-1' };
  let redis: RedisServer;
  const clients: Redis[] = [];
  let run = 0;

  const store = () => {
    const client = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    clients.push(client);
    return new RedisDeadmanSwitchStore(client, LEASE_MS);
  };
  const arm = (s: RedisDeadmanSwitchStore, node: string, timeoutMs = 1_000) => {
    const switchId = `switch-${process.pid}-${++run}`;
    return s.arm({ newSwitchId: switchId, owner, timeoutMs, node, connection: `${node}/socket`, orders: [{ account: 'ACC-1', clientOrderId: 'c-1', orderId: 'O-1' }] });
  };

  beforeAll(async () => {
    redis = await RedisServer.start();
  });
  afterAll(async () => {
    for (const client of clients) client.disconnect();
    await redis?.stop();
  });

  it('lets the live replica holding the connection fire its due switch, and another replica only a lease after the deadline', async () => {
    const [a, b] = [store(), store()];
    await a.due('node-a');
    const armed = await arm(a, 'node-a', 1_000);
    await sleep(1_050);
    await a.due('node-a'); // renews node-a's lease
    expect(await b.due('node-b')).toContain(armed.switchId);
    expect(await b.claim(armed.switchId, 'node-b')).toBeNull();
    const claimed = await a.claim(armed.switchId, 'node-a');
    expect(claimed).toMatchObject({ switchId: armed.switchId, owner, reason: 'timeout', orders: [{ account: 'ACC-1', clientOrderId: 'c-1', orderId: 'O-1' }], connection: 'node-a/socket', timeoutMs: 1_000 });
    expect(await a.claim(armed.switchId, 'node-a')).toBeNull();
    expect(await b.claim(armed.switchId, 'node-b')).toBeNull();

    // A live replica that does not fire its due switch (stuck) loses it to another a lease after the deadline.
    const stuck = await arm(a, 'node-a', 1_000);
    await sleep(1_050);
    await a.due('node-a');
    expect(await b.claim(stuck.switchId, 'node-b')).toBeNull();
    await sleep(LEASE_MS);
    await a.due('node-a');
    expect(await b.claim(stuck.switchId, 'node-b')).toMatchObject({ reason: 'timeout' });
    expect(await a.claim(stuck.switchId, 'node-a')).toBeNull();
  });

  it("fires a dead replica's switch at its deadline once that replica's lease is gone, as replica_lost", async () => {
    const [dead, alive] = [store(), store()];
    await dead.due('node-dead');
    const armed = await arm(dead, 'node-dead', 1_000);
    // node-dead renews no more: its lease (300 ms) is gone well before the deadline.
    await sleep(600);
    expect(await alive.claim(armed.switchId, 'node-alive')).toBeNull();
    await sleep(450);
    expect(await alive.due('node-alive')).toContain(armed.switchId);
    expect(await alive.claim(armed.switchId, 'node-alive')).toMatchObject({ reason: 'replica_lost' });
  });

  it('takes a claim again when its replica stops renewing it, and a completed switch is gone with a record for its owner', async () => {
    const [first, second] = [store(), store()];
    const armed = await arm(first, 'node-1', 1_000);
    await sleep(1_050);
    const claimed = await first.claim(armed.switchId, 'node-1');
    expect(claimed).not.toBeNull();
    expect(await second.claim(armed.switchId, 'node-2')).toBeNull();
    expect(await first.renewClaim(armed.switchId, 'node-1')).toBe(true);
    await sleep(LEASE_MS + 50);
    const again = await second.claim(armed.switchId, 'node-2');
    expect(again).toMatchObject({ reason: claimed?.reason, firedAt: claimed?.firedAt });
    expect(await first.renewClaim(armed.switchId, 'node-1')).toBe(false);
    const fired = { switchId: armed.switchId, reason: again?.reason ?? 'timeout', firedAt: again?.firedAt ?? 0, orders: 1 };
    // Only the replica holding the claim closes it.
    await first.complete(armed.switchId, 'node-1', fired, owner);
    expect(await second.disarm(armed.switchId, owner)).toMatchObject({ disarmed: false, fired: { switchId: armed.switchId } });
    await second.complete(armed.switchId, 'node-2', fired, owner);
    expect(await second.due('node-2')).not.toContain(armed.switchId);
    expect(await first.disarm(armed.switchId, owner)).toEqual({ disarmed: false, fired });
    expect(await first.disarm(armed.switchId, { tenant: 'acme-capital', userId: 'u-2' })).toEqual({ disarmed: false });
  });

  it('a detached switch waits the whole timeout from the drop, then fires as disconnect; a moved one ignores the old drop', async () => {
    const s = store();
    await s.due('node-a');
    const dropped = await arm(s, 'node-a', 1_000);
    await sleep(500);
    await s.detach(dropped.switchId, 'node-a/socket');
    await sleep(600);
    expect(await s.claim(dropped.switchId, 'node-a')).toBeNull();
    await sleep(500);
    await s.due('node-a');
    expect(await s.claim(dropped.switchId, 'node-a')).toMatchObject({ reason: 'disconnect' });

    const moved = await arm(s, 'node-a', 1_000);
    await s.arm({ switchId: moved.switchId, newSwitchId: 'unused-id', owner, timeoutMs: 1_000, node: 'node-a', connection: 'node-a/other-socket', orders: [] });
    await s.detach(moved.switchId, 'node-a/socket');
    await sleep(1_050);
    await s.due('node-a');
    expect(await s.claim(moved.switchId, 'node-a')).toMatchObject({ reason: 'timeout' });
  });
});
