import { ServerRedis, type MessageHandler } from '@nestjs/microservices';
import { handlerForPattern } from './exact-pattern-route.js';

/** Nest's Redis transport with the direct handler lookup of exact-pattern-route.ts. */
export class EngineRedisServer extends ServerRedis {
  override getHandlerByPattern(pattern: string): MessageHandler | null {
    return handlerForPattern(this.messageHandlers, pattern, (p) => super.getHandlerByPattern(p));
  }
}
