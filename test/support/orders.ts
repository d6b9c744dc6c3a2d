import type { OrderSubmitRequest } from '#libs/contracts';

let ids = 0;

/** An id no other test run or test of this run uses: a clientOrderId, a requestId. */
export function uniqueId(prefix = 'c'): string {
  return `${prefix}-${process.pid}-${Date.now()}-${++ids}`;
}

/** A valid day limit order on ACC-1001 (every test token's first account) for NASDAQ:AAPL, with `overrides` on top. */
export function limitOrder(clientOrderId: string, overrides: Partial<OrderSubmitRequest> = {}): OrderSubmitRequest {
  return { clientOrderId, account: 'ACC-1001', instrument: 'NASDAQ:AAPL', side: 'buy', type: 'limit', quantity: '100', price: '189.40', timeInForce: 'day', ...overrides };
}
