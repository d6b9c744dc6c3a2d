import { describe, expect, it } from 'vitest';
import type { OrderSubmitRequest } from '#libs/contracts';
import { MemoryOrderIdempotencyStore } from './memory-order-idempotency.store.js';
import { canonicalDecimal, orderFingerprint } from './order-fingerprint.js';
import type { StoredOrderAnswer } from './order-idempotency.store.js';

const order: OrderSubmitRequest = { clientOrderId: 'c-1', account: 'ACC-1', instrument: 'NASDAQ:AAPL', side: 'buy', type: 'limit', quantity: '100', price: '189.40', timeInForce: 'day' };
const accepted: StoredOrderAnswer = { ok: true, data: { orderId: 'O-1', status: 'new' } };

describe('order fingerprint', () => {
  it('writes a decimal one way', () => {
    expect(['100', '0100', '100.000'].map(canonicalDecimal)).toEqual(['100', '100', '100']);
    expect(canonicalDecimal('0.0150')).toBe('0.015');
    expect(canonicalDecimal('000')).toBe('0');
  });

  it('is the same for the same order written differently, and differs for any other field', () => {
    const same = orderFingerprint({ ...order, quantity: '100.0', price: '0189.400', timeInForce: 'DAY' });
    expect(same).toBe(orderFingerprint(order));
    for (const change of [{ side: 'sell' }, { quantity: '101' }, { price: '189.41' }, { price: undefined }, { instrument: 'NASDAQ:MSFT' }, { type: 'stop_limit' }, { timeInForce: 'gtc' }] as const) {
      expect(orderFingerprint({ ...order, ...change }), JSON.stringify(change)).not.toBe(orderFingerprint(order));
    }
  });
});

describe('MemoryOrderIdempotencyStore', () => {
  it('lets the first claim own a key and shows the others what is there', async () => {
    const store = new MemoryOrderIdempotencyStore(60_000, 10);
    expect(await store.claim('k', 'f')).toBeNull();
    expect(await store.claim('k', 'f')).toEqual({ fingerprint: 'f' });
    await store.complete('k', 'f', accepted);
    expect(await store.claim('k', 'other')).toEqual({ fingerprint: 'f', answer: accepted });
  });

  it('forgets a released key but never an answered one', async () => {
    const store = new MemoryOrderIdempotencyStore(60_000, 10);
    await store.claim('k', 'f');
    await store.release('k');
    expect(await store.peek('k')).toBeNull();
    await store.claim('k', 'f');
    await store.complete('k', 'f', accepted);
    await store.release('k');
    expect(await store.peek('k')).toEqual({ fingerprint: 'f', answer: accepted });
  });

  it('expires keys after the TTL', async () => {
    let now = 1_000;
    const store = new MemoryOrderIdempotencyStore(500, 10, () => now);
    await store.claim('a', 'f');
    await store.complete('a', 'f', accepted);
    now += 499;
    expect(await store.peek('a')).not.toBeNull();
    now += 1;
    expect(await store.peek('a')).toBeNull();
    expect(await store.claim('a', 'g')).toBeNull();
  });

  it('stays within maxKeys, forgetting the oldest answered keys and keeping those in flight', async () => {
    const store = new MemoryOrderIdempotencyStore(60_000, 3);
    await store.claim('in-flight', 'f');
    for (const key of ['a', 'b', 'c', 'd']) {
      await store.claim(key, 'f');
      await store.complete(key, 'f', accepted);
    }
    expect(store.size).toBe(3);
    expect(await store.peek('in-flight')).toEqual({ fingerprint: 'f' });
    expect(await store.peek('a')).toBeNull();
    expect(await store.peek('b')).toBeNull();
    expect(await store.peek('d')).toEqual({ fingerprint: 'f', answer: accepted });
  });
});
