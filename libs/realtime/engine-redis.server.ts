import { RedisContext, ServerRedis, type MessageHandler, type RedisOptions } from '@nestjs/microservices';
import type { EngineFastPath } from './engine-fast-path.js';
import { decodeEnginePayload } from './engine-message.deserializer.js';
import { handlerForPattern } from './exact-pattern-route.js';

/**
 * Nest's Redis transport with the direct handler lookup of exact-pattern-route.ts, and the engine fast path: messages
 * of a pattern with a direct handler skip Nest's per-message pipeline.
 */
export class EngineRedisServer extends ServerRedis {
  constructor(
    options: NonNullable<RedisOptions['options']>,
    private readonly fastPath?: EngineFastPath,
  ) {
    super(options);
  }

  override getHandlerByPattern(pattern: string): MessageHandler | null {
    return handlerForPattern(this.messageHandlers, pattern, (p) => super.getHandlerByPattern(p));
  }

  // With wildcards Nest passes the subscribed pattern as `channel` and the concrete channel as `pattern`.
  override async handleMessage(channel: string, buffer: string, pub: Parameters<ServerRedis['handleMessage']>[2], pattern: string): Promise<void> {
    const direct = this.fastPath?.handlerFor(channel);
    if (!direct) {
      await super.handleMessage(channel, buffer, pub, pattern);
      return;
    }
    direct(decodeEnginePayload(this.parseMessage(buffer)), new RedisContext([pattern, undefined]));
  }
}
