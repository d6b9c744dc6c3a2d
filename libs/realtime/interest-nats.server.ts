import { NatsContext, ServerNats, type MessageHandler, type NatsOptions } from '@nestjs/microservices';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import type { EngineRoutes } from './engine-routes.js';
import type { EngineInterest } from './engine-interest.js';
import { decodeEnginePayload } from './engine-message.deserializer.js';
import { handlerForPattern } from './exact-pattern-route.js';
import { subjectMatches } from './subject-matcher.js';

/**
 * Nest's NATS transport, but market-data patterns are not subscribed wholesale: a concrete subject
 * (`md.quote.NASDAQ.AAPL`) is subscribed while some local client wants it and dropped when the last one leaves, so a
 * replica only receives the instruments its own clients watch. Messages go to the handler registered for the wildcard
 * pattern: its direct handler (EngineRoutes: hot and durable kinds, no Nest pipeline per message), else Nest's.
 */
export class InterestNatsServer extends ServerNats implements EngineInterest {
  private readonly active = new Map<string, Subscription>();

  constructor(
    options: NonNullable<NatsOptions['options']>,
    /** The engine routes: hot patterns are served on interest only, by their direct handlers; the rest at start. */
    private readonly routes: EngineRoutes,
  ) {
    super(options);
    routes.bindTo(this);
    this.interestPatterns = routes.interestPatterns();
    this.logPatterns = routes.controlLogPatterns();
  }

  private readonly interestPatterns: readonly string[];
  /** Patterns delivered from the durable control log (control-event-log.ts) instead: never subscribed directly. */
  private readonly logPatterns: readonly string[];

  override getHandlerByPattern(pattern: string): MessageHandler | null {
    return handlerForPattern(this.messageHandlers, pattern, (p) => super.getHandlerByPattern(p));
  }

  /**
   * The callback of a pattern Nest subscribes at start (account streams, sessions, licence and screen changes): its
   * direct handler when it has one (EngineRoutes: durable kinds), called synchronously with the decoded payload, else
   * Nest's own (deserializer, then its per-message promise chain). The routes are complete before this transport exists.
   */
  override getMessageHandler(channel: string): ReturnType<ServerNats['getMessageHandler']> {
    const direct = this.routes.handlerFor(channel);
    if (!direct) return super.getMessageHandler(channel);
    return (error: Error | null, message: { subject: string; headers?: unknown; data: Uint8Array }) => {
      if (error) {
        this.logger.error(error);
        return;
      }
      try {
        direct(decodeEnginePayload(message), new NatsContext([message.subject, message.headers as NatsContext['args'][1]]));
      } catch (failure) {
        this.logger.error(failure);
      }
    };
  }

  override bindEvents(client: NatsConnection): void {
    // Let Nest subscribe everything else (sessions, account streams) exactly as it would.
    const deferred = new Map<string, ReturnType<ServerNats['getHandlerByPattern']>>();
    for (const pattern of [...this.interestPatterns, ...this.logPatterns]) {
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
    const direct = this.routes.handlerFor(pattern);
    let callback: (error: Error | null, message: unknown) => void;
    if (direct) {
      // One context per subscription: the subject is fixed, and the handlers read nothing else from it.
      const context = new NatsContext([subject, undefined]);
      callback = (error, message) => {
        if (error) {
          this.logger.error(error);
          return;
        }
        try {
          direct(decodeEnginePayload(message), context);
        } catch (failure) {
          this.logger.error(failure);
        }
      };
    } else {
      callback = (this.getMessageHandler(pattern) as (error: Error | null, message: unknown) => void).bind(this);
    }
    this.active.set(subject, client.subscribe(subject, { callback }));
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
