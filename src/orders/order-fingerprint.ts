import type { OrderAmendRequest, OrderCancelAllRequest, OrderSubmitRequest } from '#libs/contracts';

/** `"0100.50"` → `"100.5"`, `"1.000"` → `"1"`: the same number always reads the same. Expects DECIMAL_PATTERN input. */
export function canonicalDecimal(value: string): string {
  const [whole = '0', fraction = ''] = value.split('.');
  const integer = whole.replace(/^0+(?=\d)/, '');
  const decimals = fraction.replace(/0+$/, '');
  return decimals ? `${integer}.${decimals}` : integer;
}

export function isZeroDecimal(value: string): boolean {
  return canonicalDecimal(value) === '0';
}

/**
 * What makes two submits with one `clientOrderId` the same order: every field of the order in a fixed order,
 * decimals and `timeInForce` written one way. The account is part of the key, not of the fingerprint.
 */
export function orderFingerprint(order: OrderSubmitRequest): string {
  return JSON.stringify([
    order.instrument,
    order.side,
    order.type,
    canonicalDecimal(order.quantity),
    order.price === undefined ? null : canonicalDecimal(order.price),
    order.timeInForce === undefined ? null : order.timeInForce.toLowerCase(),
  ]);
}

/** `clientOrderId`s are unique per account; account ids cannot hold ':' (ACCOUNT_PATTERN), so this never collides. */
export function idempotencyKey(account: string, clientOrderId: string): string {
  return `${account}:${clientOrderId}`;
}

/**
 * What makes two amends with one `clientOrderId` the same replacement: the order they name and the new values. It
 * starts with the command, so a submit and an amend can never share a key: the second is a DUPLICATE_ORDER.
 */
export function amendFingerprint(amend: OrderAmendRequest): string {
  return JSON.stringify([
    'amend',
    amend.orderId ?? null,
    amend.origClientOrderId ?? null,
    amend.quantity === undefined ? null : canonicalDecimal(amend.quantity),
    amend.price === undefined ? null : canonicalDecimal(amend.price),
  ]);
}

/** What makes two cancel-alls with one `requestId` the same request: their filters. */
export function cancelAllFingerprint(request: OrderCancelAllRequest): string {
  return JSON.stringify(['cancel-all', request.instrument ?? null, request.side ?? null]);
}

/** A cancel-all's `requestId` has keys of its own: `#` is in neither an account id nor an order id, so none collides. */
export function cancelAllKey(account: string, requestId: string): string {
  return `${account}#cancel-all#${requestId}`;
}
