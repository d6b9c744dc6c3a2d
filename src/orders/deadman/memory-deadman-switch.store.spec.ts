import { describe, expect, it } from 'vitest';
import type { CoveredOrder } from './deadman-switch.store.js';
import { MemoryDeadmanSwitchStore } from './memory-deadman-switch.store.js';

/** The in-memory store's rules (the Redis store's scripts follow the same ones; test/deadman.e2e-spec.ts runs both). */
describe('MemoryDeadmanSwitchStore', () => {
  const owner = { tenant: 'acme-capital', userId: 'u-1' };
  const setup = () => {
    let now = 1_000_000;
    const store = new MemoryDeadmanSwitchStore(() => now);
    return { store, advance: (ms: number) => (now += ms), now: () => now };
  };
  const armNew = (store: MemoryDeadmanSwitchStore, timeoutMs = 1_000, orders: CoveredOrder[] = [{ account: 'ACC-1', clientOrderId: 'c-1', orderId: 'O-1' }]) =>
    store.arm({ newSwitchId: 'switch-1', owner, timeoutMs, node: 'n1', connection: 'n1/s1', orders });

  it('is due at its deadline, not before, and a refresh moves the deadline', async () => {
    const { store, advance, now } = setup();
    const armed = await armNew(store);
    expect(armed).toEqual({ switchId: 'switch-1', deadline: now() + 1_000, resumed: false, orders: 1 });
    advance(999);
    expect(await store.due()).toEqual([]);
    const refreshed = await store.arm({ switchId: 'switch-1', newSwitchId: 'unused', owner, timeoutMs: 1_000, node: 'n1', connection: 'n1/s1', orders: [] });
    expect(refreshed).toMatchObject({ switchId: 'switch-1', resumed: true, deadline: now() + 1_000 });
    advance(999);
    expect(await store.due()).toEqual([]);
    advance(1);
    expect(await store.due()).toEqual(['switch-1']);
  });

  it('claims a due switch once, with its orders (an orderId learnt later replaces a clientOrderId alone)', async () => {
    const { store, advance } = setup();
    await armNew(store, 1_000, [{ account: 'ACC-1', clientOrderId: 'c-1' }]);
    expect(await store.addOrder('switch-1', { account: 'ACC-1', clientOrderId: 'c-1', orderId: 'O-1' })).toBe(true);
    expect(await store.addOrder('switch-1', { account: 'ACC-2', clientOrderId: 'c-1' })).toBe(true);
    advance(1_000);
    const claimed = await store.claim('switch-1');
    expect(claimed).toMatchObject({ switchId: 'switch-1', owner, reason: 'timeout', connection: 'n1/s1', timeoutMs: 1_000 });
    expect(claimed?.orders).toEqual([
      { account: 'ACC-1', clientOrderId: 'c-1', orderId: 'O-1' },
      { account: 'ACC-2', clientOrderId: 'c-1' },
    ]);
    expect(await store.claim('switch-1')).toBeNull();
    expect(await store.addOrder('switch-1', { account: 'ACC-1', clientOrderId: 'c-9' })).toBe(false);
  });

  it('gives a dropped connection the whole timeout from the drop, unless its deadline is later', async () => {
    const { store, advance } = setup();
    await armNew(store, 1_000);
    advance(600);
    await store.detach('switch-1', 'n1/s1');
    advance(999);
    expect(await store.due()).toEqual([]);
    advance(1);
    expect((await store.claim('switch-1'))?.reason).toBe('disconnect');
  });

  it('ignores the drop of a connection the switch has moved away from', async () => {
    const { store, advance } = setup();
    await armNew(store, 1_000);
    await store.arm({ switchId: 'switch-1', newSwitchId: 'unused', owner, timeoutMs: 1_000, node: 'n2', connection: 'n2/s7', orders: [] });
    await store.detach('switch-1', 'n1/s1');
    advance(1_000);
    expect((await store.claim('switch-1'))?.reason).toBe('timeout');
  });

  it("never resumes or disarms another user's switch, and tells its owner that a switch fired", async () => {
    const { store, advance, now } = setup();
    await armNew(store);
    const stranger = { tenant: 'acme-capital', userId: 'u-2' };
    expect(await store.disarm('switch-1', stranger)).toEqual({ disarmed: false });
    expect(await store.arm({ switchId: 'switch-1', newSwitchId: 'switch-2', owner: stranger, timeoutMs: 1_000, node: 'n1', connection: 'n1/s2', orders: [] })).toMatchObject({ switchId: 'switch-2', resumed: false, orders: 0 });
    expect(await store.arm({ switchId: 'switch-1', newSwitchId: 'switch-2b', owner: stranger, timeoutMs: 1_000, node: 'n1', connection: 'n1/s2', orders: [] })).not.toHaveProperty('previous');

    advance(1_000);
    const claimed = await store.claim('switch-1');
    if (!claimed) throw new Error('not claimed');
    const fired = { switchId: 'switch-1', reason: claimed.reason, firedAt: now(), orders: 1 };
    await store.complete('switch-1', 'n1', fired, owner);
    expect(await store.disarm('switch-1', owner)).toEqual({ disarmed: false, fired });
    expect(await store.arm({ switchId: 'switch-1', newSwitchId: 'switch-3', owner, timeoutMs: 1_000, node: 'n1', connection: 'n1/s1', orders: [] })).toMatchObject({ switchId: 'switch-3', resumed: false, previous: fired });
  });

  it('disarmed, it is never due', async () => {
    const { store, advance } = setup();
    await armNew(store);
    expect(await store.disarm('switch-1', owner)).toEqual({ disarmed: true });
    advance(5_000);
    expect(await store.due()).toEqual([]);
  });
});
