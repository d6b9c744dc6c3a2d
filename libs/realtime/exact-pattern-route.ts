import type { MessageHandler } from '@nestjs/microservices';

/**
 * Nest looks a handler up per message by first trying `JSON.parse(pattern)` (patterns may be objects). Engine subjects
 * are plain strings, so that parse throws, and building the SyntaxError was the largest single cost of ingest in a
 * profile at 20,000 events/s. A string pattern is its own route, so the direct lookup finds the same handler; anything
 * else falls back to Nest's lookup.
 */
export function handlerForPattern(handlers: Map<string, MessageHandler>, pattern: string, fallback: (pattern: string) => MessageHandler | null): MessageHandler | null {
  return handlers.get(pattern) ?? fallback(pattern);
}
