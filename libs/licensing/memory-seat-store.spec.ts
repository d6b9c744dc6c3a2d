import { describe, expect, it } from 'vitest';
import { MemorySeatStore } from './memory-seat-store.js';

const seat = (id: string, userId = 'u1', tenant = 't1') => ({ id, userId, tenant });

describe('MemorySeatStore', () => {
  it('counts a user’s and a tenant’s seats against their limits, one seat or many', async () => {
    const store = new MemorySeatStore();
    expect(await store.claim(seat('a'), 2, 3)).toBe('ok');
    // The same seat again (a renewal, another namespace) is not a second one.
    expect(await store.claim(seat('a'), 1, 1)).toBe('ok');
    expect(await store.claim(seat('b'), 2, 3)).toBe('ok');
    expect(await store.claim(seat('c'), 2, 3)).toBe('user_limit');
    expect(await store.claim(seat('d', 'u2'), 2, 3)).toBe('ok');
    expect(await store.claim(seat('e', 'u3'), 2, 3)).toBe('tenant_limit');
    expect(await store.claim(seat('f', 'u3', 't2'), 2, 3)).toBe('ok');
    expect(await store.claim(seat('g'), 0, 0)).toBe('ok');
  });

  it('frees seats, down to none and back', async () => {
    const store = new MemorySeatStore();
    await store.claim(seat('a'), 2, 2);
    await store.claim(seat('b'), 2, 2);
    await store.free([seat('a')]);
    expect(await store.claim(seat('c'), 2, 2)).toBe('ok');
    expect(await store.claim(seat('d'), 2, 2)).toBe('user_limit');
    await store.free([seat('b'), seat('c')]);
    // Freeing what is not held changes nothing.
    await store.free([seat('zz'), seat('a')]);
    expect(await store.claim(seat('e'), 1, 1)).toBe('ok');
    expect(await store.claim(seat('f'), 1, 1)).toBe('user_limit');
    await store.free([seat('e')]);
    expect(await store.claim(seat('f'), 1, 1)).toBe('ok');
  });
});
