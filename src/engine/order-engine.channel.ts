import { ENGINE_SUBJECTS, type EngineOrderAmendRequest, type EngineOrderCancelAllRequest, type EngineOrderCancelRequest, type EngineOrderSubmitRequest } from '#libs/contracts';

export type OrderCommand = 'submit' | 'cancel' | 'cancel-all' | 'amend';

export interface OrderEngineRequests {
  submit: EngineOrderSubmitRequest;
  cancel: EngineOrderCancelRequest;
  'cancel-all': EngineOrderCancelAllRequest;
  amend: EngineOrderAmendRequest;
}

/** The engine subject (NATS) or channel (Redis) of each command. */
export const ORDER_COMMAND_SUBJECTS: Record<OrderCommand, string> = {
  submit: ENGINE_SUBJECTS.orderSubmit,
  cancel: ENGINE_SUBJECTS.orderCancel,
  'cancel-all': ENGINE_SUBJECTS.orderCancelAll,
  amend: ENGINE_SUBJECTS.orderAmend,
};

/**
 * How order commands reach the engine and come back: NATS request/reply, or the built-in simulator in the embedded
 * default. `request` resolves with the engine's raw reply (checked by the caller) or rejects with a GatewayError:
 * ENGINE_UNAVAILABLE when the command certainly did not reach the engine, ENGINE_TIMEOUT when it may have.
 */
export interface OrderEngineChannel {
  readonly name: string;
  request<C extends OrderCommand>(command: C, body: OrderEngineRequests[C], timeoutMs: number): Promise<unknown>;
}

/**
 * The order channel this process uses, chosen by the engine module at start (EngineModule: NATS request/reply when the
 * engine transport is NATS, else Redis with a reply channel, else the built-in simulator); none until then, or at all
 * when no engine can take orders (commands then fail ENGINE_UNAVAILABLE).
 */
export class OrderEngine {
  private attached: OrderEngineChannel | undefined;

  get channel(): OrderEngineChannel | undefined {
    return this.attached;
  }

  attach(channel: OrderEngineChannel): void {
    this.attached = channel;
  }
}
