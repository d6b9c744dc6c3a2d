import { isErrorCode, ORDER_ID_PATTERN, ORDER_STATUSES, wireError, type OrderCancelAllResponse, type OrderCancelResponse, type OrderStatus, type OrderSubmitResponse, type WireError } from '#libs/contracts';

export type EngineAnswer<T> = { ok: true; data: T } | { ok: false; error: WireError };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isStatus(value: unknown): value is OrderStatus {
  return typeof value === 'string' && (ORDER_STATUSES as readonly string[]).includes(value);
}

/**
 * An engine refusal `{ code, message }`: a contract code goes to the client as it is (with its status); any other code
 * is the engine's own and becomes INTERNAL, with the engine's code in `details.engineCode`.
 */
function refusal(reply: Record<string, unknown>): EngineAnswer<never> | null {
  if (typeof reply.code !== 'string' || reply.code.length === 0) return null;
  const message = typeof reply.message === 'string' && reply.message.length > 0 ? reply.message.slice(0, 500) : `refused by the engine: ${reply.code}`;
  if (isErrorCode(reply.code)) return { ok: false, error: wireError(reply.code, message) };
  return { ok: false, error: wireError('INTERNAL', message, { details: { engineCode: reply.code.slice(0, 64) } }) };
}

/** `{ orderId, status }` or a refusal; null when the reply is neither (the caller answers INTERNAL and logs it). */
export function parseSubmitReply(reply: unknown): EngineAnswer<OrderSubmitResponse> | null {
  if (!isRecord(reply)) return null;
  if (reply.code !== undefined) return refusal(reply);
  if (typeof reply.orderId !== 'string' || reply.orderId.length === 0 || !isStatus(reply.status)) return null;
  return { ok: true, data: { orderId: reply.orderId, status: reply.status } };
}

/** `{ status }` or a refusal; null when the reply is neither. */
export function parseCancelReply(reply: unknown): EngineAnswer<OrderCancelResponse> | null {
  if (!isRecord(reply)) return null;
  if (reply.code !== undefined) return refusal(reply);
  if (!isStatus(reply.status)) return null;
  return { ok: true, data: { status: reply.status } };
}

/** No more order ids than this in a cancel-all answer: a working-order book of an account is far smaller. */
const MAX_CANCELED_IDS = 10_000;

/** `{ orderIds: [...] }` or a refusal; null when the reply is neither. */
export function parseCancelAllReply(reply: unknown): EngineAnswer<OrderCancelAllResponse> | null {
  if (!isRecord(reply)) return null;
  if (reply.code !== undefined) return refusal(reply);
  const ids = reply.orderIds;
  if (!Array.isArray(ids) || ids.length > MAX_CANCELED_IDS) return null;
  if (!ids.every((id): id is string => typeof id === 'string' && ORDER_ID_PATTERN.test(id))) return null;
  return { ok: true, data: { orderIds: [...ids] } };
}
