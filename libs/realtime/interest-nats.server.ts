import { ServerNats, type MessageHandler, type NatsOptions } from '@nestjs/microservices';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import type { EngineInterest } from './engine-interest.js';
import { handlerForPattern } from './exact-pattern-route.js';
import { subjectMatches } from './subject-matcher.js';

/**
 * Nest's NATS transport, but market-data patterns are not subscribed wholesale: a concrete subject
 * (`md.quote.NASDAQ.AAPL`) is subscribed while some local client wants it and dropped when the last one leaves, so a
 * replica only receives the instruments its own clients watch. Messages still dispatch through the registered
 * wildcard pattern, so the same `@EventPattern('md.quote.*.*')` handler serves them.
 */
export class InterestNatsServer extends ServerNats implements EngineInterest {
  private readonly active = new Map<string, Subscription>();

  constructor(
    options: NonNullable<NatsOptions['options']>,
    /** Patterns served on interest only; every other registered pattern is subscribed at start, as usual. */
    private readonly interestPatterns: readonly string[],
  ) {
    super(options);
  }

  override getHandlerByPattern(pattern: string): MessageHandler | null {
    return handlerForPattern(this.messageHandlers, pattern, (p) => super.getHandlerByPattern(p));
  }

  override bindEvents(client: NatsConnection): void {
    // Let Nest subscribe everything else (sessions, account streams) exactly as it would.
    const deferred = new Map<string, ReturnType<ServerNats['getHandlerByPattern']>>();
    for (const pattern of this.interestPatterns) {
      const handler = this.messageHandlers.get(pattern);
      if (handler) {
        deferred.set(pattern, handler);
        this.messageHandlers.delete(pattern);
      }
    }
    super.bindEvents(client);
    for (const [pattern, handler] of deferred) if (handler) this.messageHandlers.set(pattern, handler);
  }

  async want(subject: string): Promise<void> {
    if (this.active.has(subject)) return;
    const pattern = this.interestPatterns.find((p) => subjectMatches(p, subject));
    if (!pattern) return;
    const client = this.unwrap<NatsConnection>();
    const handler = this.getMessageHandler(pattern) as (error: Error | null, message: unknown) => void;
    this.active.set(subject, client.subscribe(subject, { callback: handler.bind(this) }));
    // The SUB must reach the server before the client is told it is subscribed, or the next event could be missed.
    await client.flush();
  }

  release(subject: string): void {
    const subscription = this.active.get(subject);
    if (!subscription) return;
    this.active.delete(subject);
    subscription.unsubscribe();
  }

  get activeSubjects(): number {
    return this.active.size;
  }
}
