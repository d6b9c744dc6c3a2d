import type { Decimal, OrderSide, OrderStatus, OrderType } from './primitives.js';

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

/**
 * `order:cancel-all`: every working order of `account`, or only those of `instrument` and/or `side`. `requestId` is
 * the idempotency key (per account, in a space of its own): a repeat gets the first answer and reaches the engine once.
 */
export interface OrderCancelAllRequest {
  requestId: string;
  account: string;
  instrument?: string;
  side?: OrderSide;
}

/** The orders the engine is canceling (each gets its `canceled` order event); empty when nothing matched. */
export interface OrderCancelAllResponse {
  orderIds: string[];
}

/**
 * `order:amend` (FIX OrderCancelReplace): a new `quantity` and/or `price` for a working order named by `orderId` or
 * `origClientOrderId`. `clientOrderId` is the replacement's own id and the idempotency key, unique per account like a
 * submit's; the order keeps its `orderId`, and its `order` event with `execType: 'replaced'` carries the new
 * `clientOrderId`, `quantity`, `price` and `leavesQuantity`.
 */
export interface OrderAmendRequest {
  clientOrderId: string;
  account: string;
  orderId?: string;
  origClientOrderId?: string;
  /** The new total quantity (filled included), more than what has been filled. */
  quantity?: Decimal;
  price?: Decimal;
}

export interface OrderAmendResponse {
  orderId: string;
  status: OrderStatus;
}

/**
 * `order:deadman`: the dead-man's switch of the connection. `timeoutMs` from `DEADMAN_MIN_TIMEOUT_MS` to
 * `DEADMAN_MAX_TIMEOUT_MS` arms it, or refreshes the one the connection holds; `0` disarms it. `switchId` re-attaches a
 * switch armed on an earlier connection (after a reconnect, through any replica) so that its orders stay covered.
 */
export interface OrderDeadmanRequest {
  timeoutMs: number;
  switchId?: string;
}

/** The bounds of `order:deadman`'s `timeoutMs` (0 disarms). */
export const DEADMAN_MIN_TIMEOUT_MS = 1_000;
export const DEADMAN_MAX_TIMEOUT_MS = 3_600_000;
/** The most orders one switch covers; past it, a submit through a connection holding it is refused. */
export const DEADMAN_MAX_ORDERS = 10_000;
/** A switch id, as the gateway issues it (a UUID) and a client sends it back. */
export const DEADMAN_SWITCH_ID_PATTERN = /^[A-Za-z0-9_-]{8,64}$/;

/**
 * Why a switch fired: not refreshed in time while its connection was up (`timeout`), its connection dropped and did
 * not come back in time (`disconnect`), or the replica holding its connection died (`replica_lost`).
 */
export type DeadmanFireReason = 'timeout' | 'disconnect' | 'replica_lost';

/** A switch that fired: the gateway had the engine cancel the orders it covered (`orders` of them, terminal ones included). */
export interface DeadmanFired {
  switchId: string;
  reason: DeadmanFireReason;
  /** When it fired (epoch ms, the gateway's clock). */
  firedAt: number;
  orders: number;
}

/**
 * The answer to `order:deadman`. Armed: the switch, its timeout, its `deadline` (epoch ms, the gateway's clock; each
 * refresh moves it), whether it continues an armed switch (`resumed`: a refresh or a re-attach) and how many orders it
 * covers. `fired`: the switch the request named or the connection held fired before this request came.
 */
export interface OrderDeadmanResponse {
  armed: boolean;
  switchId?: string;
  timeoutMs?: number;
  deadline?: number;
  resumed?: boolean;
  orders?: number;
  fired?: DeadmanFired;
}

/** The `deadman` event on `/orders`: the connection's switch fired (it is disarmed now). */
export interface DeadmanEvent extends DeadmanFired {
  state: 'fired';
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

/** The request body on `engine.order.cancel-all`. */
export type EngineOrderCancelAllRequest = OrderCancelAllRequest & EngineCommandOrigin;

/**
 * The request body on `engine.order.amend`. When the client names the order by `origClientOrderId` and the gateway
 * still holds that order's submit answer, `orderId` is filled in too.
 */
export type EngineOrderAmendRequest = OrderAmendRequest & EngineCommandOrigin;

/** An engine's refusal: a contract code is passed to the client as it is; any other code becomes `INTERNAL`. */
export interface EngineErrorReply {
  /** A code of the contract (e.g. `INVALID_REQUEST`, `UNKNOWN_SYMBOL`), or the engine's own. */
  code: string;
  message: string;
}

export type EngineOrderSubmitReply = OrderSubmitResponse | EngineErrorReply;
export type EngineOrderCancelReply = OrderCancelResponse | EngineErrorReply;
export type EngineOrderCancelAllReply = OrderCancelAllResponse | EngineErrorReply;
export type EngineOrderAmendReply = OrderAmendResponse | EngineErrorReply;
