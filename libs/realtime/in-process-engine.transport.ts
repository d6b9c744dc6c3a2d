import { Server, type CustomTransportStrategy, type MessageHandler } from '@nestjs/microservices';
import { handlerForPattern } from './exact-pattern-route.js';
import { InProcessContext } from './engine-context.js';
import type { EngineRoutes } from './engine-routes.js';
import { subjectMatches } from './subject-matcher.js';

/**
 * The embedded default's engine transport: the built-in simulator publishes here and the events reach the same
 * handlers (EngineRoutes) as events from NATS or Redis would, without a broker.
 */
export class InProcessEngineTransport extends Server implements CustomTransportStrategy {
  private readonly routeCache = new Map<string, string[]>();
  private listening = false;

  constructor(private readonly routes: EngineRoutes) {
    super();
    routes.bindTo(this);
  }

  listen(callback: () => void): void {
    this.listening = true;
    this._status$.next('connected');
    callback();
  }

  close(): void {
    this.listening = false;
    this._status$.next('disconnected');
  }

  on(): void {
    // No connection to report status for: the engine is in this process.
  }

  override getHandlerByPattern(pattern: string): MessageHandler | null {
    return handlerForPattern(this.messageHandlers, pattern, (p) => super.getHandlerByPattern(p));
  }

  unwrap<T>(): T {
    return this as unknown as T;
  }

  get isListening(): boolean {
    return this.listening;
  }

  /** Delivers one engine event to every handler whose pattern matches the subject. */
  publish(subject: string, payload: unknown): void {
    if (!this.listening) return;
    for (const pattern of this.patternsFor(subject)) {
      const direct = this.routes.handlerFor(pattern);
      if (direct) {
        direct(payload, new InProcessContext([subject]));
        continue;
      }
      this.handleEvent(pattern, { pattern, data: payload }, new InProcessContext([subject])).catch((error: unknown) => {
        this.logger.error(error);
      });
    }
  }

  private patternsFor(subject: string): string[] {
    let patterns = this.routeCache.get(subject);
    if (!patterns) {
      patterns = [...this.messageHandlers.keys()].filter((pattern) => subjectMatches(pattern, subject));
      if (this.routeCache.size < 100_000) this.routeCache.set(subject, patterns);
    }
    return patterns;
  }
}
