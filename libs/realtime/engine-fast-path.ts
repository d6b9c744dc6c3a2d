import { Injectable } from '@nestjs/common';
import type { BaseRpcContext } from '@nestjs/microservices';

/** A domain's direct handler for one engine pattern: the decoded payload and the event's context. */
export type EngineEventHandler = (payload: unknown, context: BaseRpcContext<unknown>) => void;

/**
 * Engine events of the hot patterns (market data, tens of thousands a second) skip Nest's per-message pipeline —
 * handler lookup, processing hooks, the RPC context creator with its pipes, guards and RxJS interceptor chain — which
 * a profile of the trading floor put at ~7% of the gateway's CPU. The domain controller that declares the pattern with
 * `@EventPattern` also registers the same method here; the engine transports call it directly, with the payload decoded
 * by the same deserializer. Account streams (order, position, portfolio) are registered too: an order event's way to
 * its watcher is latency a trader sees (the pipeline's promise chain was a measurable part of it). Patterns not
 * registered here (sessions, licence and screen changes) keep going through Nest, where their low rate makes the
 * pipeline's cost irrelevant. A registered pattern's `@EventPattern` handlers are not called by the transports that
 * know the fast path: whoever else needs that pattern registers here too (each registered handler is called, in order).
 */
@Injectable()
export class EngineFastPath {
  private readonly handlers = new Map<string, EngineEventHandler>();

  register(pattern: string, handler: EngineEventHandler): void {
    const first = this.handlers.get(pattern);
    this.handlers.set(
      pattern,
      first
        ? (payload, context) => {
            first(payload, context);
            handler(payload, context);
          }
        : handler,
    );
  }

  handlerFor(pattern: string): EngineEventHandler | undefined {
    return this.handlers.get(pattern);
  }
}
