import { type OrderCancelResponse, type OrderSubmitRequest, type OrderSubmitResponse } from '#libs/contracts';
import { AccountStreamClient, OrderStore } from './account-streams.js';
import { checkCancelOrder, checkSubmitOrder } from './argument-checks.js';
import type { ConnectionHub } from './connection.js';
import type { TradewireError } from './errors.js';
import type { CancelOrderInput, SubmitOrderInput } from './types.js';

/** `submit`'s answer: the engine's `orderId` and `status`, and the `clientOrderId` the order went with. */
export interface SubmitOrderResult extends OrderSubmitResponse {
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
  constructor(hub: ConnectionHub, reportError: (error: TradewireError) => void) {
    super('order', new OrderStore(), hub, reportError);
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
}
