import { SubscribeMessage } from '@nestjs/websockets';
import type { RequestAnswer, RequestMap, RequestPayload } from '#libs/contracts';
import type { GatewaySocket } from './gateway-socket.js';

/** A gateway method answering request E of a namespace's request map: `(socket, payload) => answer`. */
export type RequestHandler<Requests extends RequestMap, E extends keyof Requests> = (
  socket: GatewaySocket,
  payload: RequestPayload<Requests, E>,
) => RequestAnswer<Requests, E> | Promise<RequestAnswer<Requests, E>>;

/**
 * `@SubscribeMessage(event)` typed by the contract's request map (libs/contracts: `NamespaceRequests`): the event must
 * be one of the namespace's requests and the method must answer that request's answer type, else it does not
 * compile. The method's parameters stay Nest's (`@ConnectedSocket()`, `@MessageBody()` with the request's DTO, whose
 * class implements the contract's payload type; the validation pipe, not the compiler, checks what a client sends).
 *
 *     const MarketDataRequest = requestHandlerOf<MarketDataRequests>();
 *     @MarketDataRequest('resync') resync(...): MdResyncResponse { ... }
 *
 * Only `value` is constrained (not Nest's full TypedPropertyDescriptor, whose setter would make the check invariant).
 */
export function requestHandlerOf<Requests extends RequestMap>() {
  return <E extends keyof Requests & string>(event: E) =>
    (target: object, key: string | symbol, descriptor: { value?: RequestHandler<Requests, E> }): void => {
      SubscribeMessage(event)(target, key, descriptor as PropertyDescriptor);
    };
}
