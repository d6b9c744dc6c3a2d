import type { Decimal, OrderSide, OrderStatus, OrderType } from './wire.js';

/** The values `side`, `type` and `status` may take, for validation on both sides of the wire. */
export const ORDER_SIDES = ['buy', 'sell'] as const satisfies readonly OrderSide[];
export const ORDER_TYPES = ['market', 'limit', 'stop', 'stop_limit'] as const satisfies readonly OrderType[];
export const ORDER_STATUSES = [
  'pending_new',
  'new',
  'partially_filled',
  'filled',
  'pending_cancel',
  'canceled',
  'rejected',
  'expired',
] as const satisfies readonly OrderStatus[];

/** Order types that need a `price` (for `stop`, the stop price). */
export const PRICED_ORDER_TYPES: readonly OrderType[] = ['limit', 'stop', 'stop_limit'];

/** `clientOrderId` and `orderId`: 1-64 letters, digits, '.', '_', ':' or '-' (a UUID fits). */
export const ORDER_ID_PATTERN = /^[A-Za-z0-9._:-]{1,64}$/;

// ---------------------------------------------------------------- client side (`/orders`)

/** `order:submit`. `clientOrderId` is the idempotency key, per account. */
export interface OrderSubmitRequest {
  clientOrderId: string;
  account: string;
  instrument: string;
  side: OrderSide;
  type: OrderType;
  quantity: Decimal;
  /** Required for `limit`, `stop` (the stop price) and `stop_limit`. */
  price?: Decimal;
  /** Passed to the engine as given, e.g. `day`, `gtc`, `ioc`, `fok`. */
  timeInForce?: string;
}

export interface OrderSubmitResponse {
  orderId: string;
  status: OrderStatus;
}

/** `order:cancel`: one of `orderId` / `clientOrderId` (both may be given). */
export interface OrderCancelRequest {
  account: string;
  orderId?: string;
  clientOrderId?: string;
}

export interface OrderCancelResponse {
  status: OrderStatus;
}

// ---------------------------------------------------------------- engine side (`engine.order.*`, request/reply)

/** Who sent a command and when (engine time base: epoch milliseconds). */
export interface EngineCommandOrigin {
  userId: string;
  tenant: string;
  ts: number;
}

/** The request body on `engine.order.submit`: the client's command plus who sent it and when. */
export type EngineOrderSubmitRequest = OrderSubmitRequest & EngineCommandOrigin;

/**
 * The request body on `engine.order.cancel`. When the client cancels by `clientOrderId` and the gateway still holds
 * that order's submit answer, `orderId` is filled in too.
 */
export type EngineOrderCancelRequest = OrderCancelRequest & EngineCommandOrigin;

/** An engine's refusal: a contract code is passed to the client as it is; any other code becomes `INTERNAL`. */
export interface EngineErrorReply {
  /** A code of the contract (e.g. `INVALID_REQUEST`, `UNKNOWN_SYMBOL`), or the engine's own. */
  code: string;
  message: string;
}

export type EngineOrderSubmitReply = OrderSubmitResponse | EngineErrorReply;
export type EngineOrderCancelReply = OrderCancelResponse | EngineErrorReply;
