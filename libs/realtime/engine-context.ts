import { BaseRpcContext, NatsContext, RedisContext } from '@nestjs/microservices';

/** Context of an event delivered by the in-process engine (the built-in simulator). */
export class InProcessContext extends BaseRpcContext<[string]> {
  getSubject(): string {
    return this.args[0];
  }
}

export type EngineTransportId = 'nats' | 'redis' | 'simulator';

/** The concrete subject an engine event arrived on, whatever the transport. */
export function engineSubjectOf(context: BaseRpcContext<unknown>): string {
  if (context instanceof NatsContext) return context.getSubject();
  if (context instanceof RedisContext) return context.getChannel();
  if (context instanceof InProcessContext) return context.getSubject();
  return '';
}

export function engineTransportOf(context: BaseRpcContext<unknown>): EngineTransportId {
  if (context instanceof NatsContext) return 'nats';
  if (context instanceof RedisContext) return 'redis';
  return 'simulator';
}
