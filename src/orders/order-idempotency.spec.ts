import { describe, expect, it } from 'vitest';
import type { OrderSubmitRequest } from '#libs/contracts';
import { MemoryOrderIdempotencyStore } from './memory-order-idempotency.store.js';
import { parseCancelAllReply } from './engine-order-reply.js';
import { amendFingerprint, cancelAllFingerprint, cancelAllKey, canonicalDecimal, idempotencyKey, orderFingerprint } from './order-fingerprint.js';
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

describe('amend and cancel-all keys', () => {
  it('fingerprints an amend by the order it names and its new values, never like a submit', () => {
    const amend = { clientOrderId: 'c-2', account: 'ACC-1', orderId: 'O-1', quantity: '150', price: '189.30' };
    expect(amendFingerprint({ ...amend, quantity: '150.00', price: '0189.3' })).toBe(amendFingerprint(amend));
    for (const change of [{ quantity: '151' }, { price: undefined }, { orderId: 'O-2' }, { origClientOrderId: 'c-1' }]) {
      expect(amendFingerprint({ ...amend, ...change }), JSON.stringify(change)).not.toBe(amendFingerprint(amend));
    }
    expect(amendFingerprint(amend)).not.toBe(orderFingerprint(order));
    expect(cancelAllFingerprint({ requestId: 'r', account: 'ACC-1', side: 'buy' })).not.toBe(cancelAllFingerprint({ requestId: 'r', account: 'ACC-1' }));
    // A cancel-all's requestId lives apart from the account's clientOrderIds, whatever it is.
    expect(cancelAllKey('ACC-1', 'c-1')).not.toBe(idempotencyKey('ACC-1', 'c-1'));
    expect(cancelAllKey('ACC-1', 'x')).not.toBe(idempotencyKey('ACC-1', 'cancel-all:x'));
  });

  it('reads a cancel-all answer only when every id is an order id', () => {
    expect(parseCancelAllReply({ orderIds: ['O-1', 'O-2'] })).toEqual({ ok: true, data: { orderIds: ['O-1', 'O-2'] } });
    expect(parseCancelAllReply({ orderIds: [] })).toEqual({ ok: true, data: { orderIds: [] } });
    for (const bad of [{ orderIds: ['O-1', 7] }, { orderIds: [''] }, { orderIds: ['a b'] }, { orderIds: 'O-1' }, {}, null, ['O-1'], { orderIds: Array.from({ length: 10_001 }, (_, i) => `O-${i}`) }]) {
      expect(parseCancelAllReply(bad), JSON.stringify(bad)?.slice(0, 40)).toBeNull();
    }
    expect(parseCancelAllReply({ code: 'NOPE', message: 'no' })).toMatchObject({ ok: false, error: { code: 'INTERNAL', details: { engineCode: 'NOPE' } } });
  });
});
