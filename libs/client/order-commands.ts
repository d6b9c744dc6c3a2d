import {
  type OrderAmendRequest,
  type OrderAmendResponse,
  type OrderCancelAllRequest,
  type OrderCancelAllResponse,
  type OrderCancelResponse,
  type OrderSubmitRequest,
  type OrderSubmitResponse,
} from '#libs/contracts';
import { AccountStreamClient, OrderStore } from './account-streams.js';
import { checkAmendOrder, checkCancelAllOrders, checkCancelOrder, checkSubmitOrder } from './argument-checks.js';
import type { ConnectionHub } from './connection.js';
import { DeadmanSwitch } from './deadman-switch.js';
import type { TradewireError } from './errors.js';
import type { AmendOrderInput, CancelAllOrdersInput, CancelOrderInput, SubmitOrderInput } from './types.js';

/** `submit`'s answer: the engine's `orderId` and `status`, and the `clientOrderId` the order went with. */
export interface SubmitOrderResult extends OrderSubmitResponse {
  clientOrderId: string;
}

/** `cancelAll`'s answer: the orders the engine is canceling, and the `requestId` the request went with. */
export interface CancelAllOrdersResult extends OrderCancelAllResponse {
  requestId: string;
}

/** `amend`'s answer: the order's `orderId` and `status`, and the replacement's `clientOrderId`. */
export interface AmendOrderResult extends OrderAmendResponse {
  clientOrderId: string;
}

/** A fresh idempotency key: a UUID where the platform has one (browsers, Node ≥ 19), else random hex. */
export function newClientOrderId(): string {
  const cryptoApi = (globalThis as { crypto?: { randomUUID?: () => string; getRandomValues?: (a: Uint8Array) => Uint8Array } }).crypto;
  if (cryptoApi?.randomUUID) return cryptoApi.randomUUID();
  const bytes = new Uint8Array(16);
  if (cryptoApi?.getRandomValues) cryptoApi.getRandomValues(bytes);
  else for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256);
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * `client.orders`: the order stream (blotter) and the order commands. A command whose answer is lost (timeout, a
 * reconnect, another replica) is sent again with the same `clientOrderId`: the gateway answers a repeat with the first
 * answer, so the order reaches the engine once.
 */
export class OrdersClient extends AccountStreamClient<'order', OrderStore> {
  /** The dead-man's switch of this client's `/orders` connection: `arm(timeoutMs)`, `disarm()`, kept refreshed. */
  readonly deadman: DeadmanSwitch;

  constructor(hub: ConnectionHub, reportError: (error: TradewireError) => void) {
    super('order', new OrderStore(), hub, reportError);
    this.deadman = new DeadmanSwitch(hub, reportError);
  }

  /**
   * Sends `order:submit`; resolves with the engine's answer, rejects with `RequestError` (its `code`) on a refusal.
   * Bad arguments throw `InvalidArgumentError` at once, before anything is sent.
   */
  submit(input: SubmitOrderInput): Promise<SubmitOrderResult> {
    checkSubmitOrder(input);
    const request: OrderSubmitRequest = {
      clientOrderId: input.clientOrderId ?? newClientOrderId(),
      account: input.account,
      instrument: input.instrument,
      side: input.side,
      type: input.type,
      quantity: input.quantity,
      ...(input.price !== undefined ? { price: input.price } : {}),
      ...(input.timeInForce !== undefined ? { timeInForce: input.timeInForce } : {}),
    };
    return this.hub
      .channel(this.namespace as '/orders')
      .request('order:submit', request, { retryOnLoss: true })
      .then((answer) => ({ ...answer, clientOrderId: request.clientOrderId }));
  }

  /** Sends `order:cancel` by `orderId` and/or `clientOrderId`; bad arguments throw at once. */
  cancel(input: CancelOrderInput): Promise<OrderCancelResponse> {
    checkCancelOrder(input);
    const request = {
      account: input.account,
      ...(input.orderId !== undefined ? { orderId: input.orderId } : {}),
      ...(input.clientOrderId !== undefined ? { clientOrderId: input.clientOrderId } : {}),
    };
    return this.hub.channel(this.namespace as '/orders').request('order:cancel', request, { retryOnLoss: true });
  }

  /**
   * Sends `order:cancel-all`: every working order of the account, or of one instrument and/or side. Never held back by
   * the rate limits of other requests (protocol §3.6). Resolves with the `orderIds` being canceled.
   */
  cancelAll(input: CancelAllOrdersInput): Promise<CancelAllOrdersResult> {
    checkCancelAllOrders(input);
    const request: OrderCancelAllRequest = {
      requestId: input.requestId ?? newClientOrderId(),
      account: input.account,
      ...(input.instrument !== undefined ? { instrument: input.instrument } : {}),
      ...(input.side !== undefined ? { side: input.side } : {}),
    };
    return this.hub
      .channel(this.namespace as '/orders')
      .request('order:cancel-all', request, { retryOnLoss: true })
      .then((answer) => ({ ...answer, requestId: request.requestId }));
  }

  /**
   * Sends `order:amend` (FIX OrderCancelReplace): a new total quantity and/or price for a working order. The
   * replacement has its own `clientOrderId` (generated when left out); the order's event says `execType: 'replaced'`.
   */
  amend(input: AmendOrderInput): Promise<AmendOrderResult> {
    checkAmendOrder(input);
    const request: OrderAmendRequest = {
      clientOrderId: input.clientOrderId ?? newClientOrderId(),
      account: input.account,
      ...(input.orderId !== undefined ? { orderId: input.orderId } : {}),
      ...(input.origClientOrderId !== undefined ? { origClientOrderId: input.origClientOrderId } : {}),
      ...(input.quantity !== undefined ? { quantity: input.quantity } : {}),
      ...(input.price !== undefined ? { price: input.price } : {}),
    };
    return this.hub
      .channel(this.namespace as '/orders')
      .request('order:amend', request, { retryOnLoss: true })
      .then((answer) => ({ ...answer, clientOrderId: request.clientOrderId }));
  }
}
