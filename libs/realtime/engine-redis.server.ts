import { RedisContext, ServerRedis, type MessageHandler, type RedisOptions, type RedisStatus } from '@nestjs/microservices';
import { accountFromSubject, type AccountKind } from '#libs/contracts';
import type { Logger } from '#libs/observability';
import { reportRedisOutages, type RedisConnectionEvents } from '#libs/redis';
import type { EngineRoutes } from './engine-routes.js';
import { decodeEnginePayload, engineJsonTooDeep, MalformedEnginePayload } from './engine-message.deserializer.js';
import { handlerForPattern } from './exact-pattern-route.js';

/** Where account events are kept as received (the Redis Streams account log), when there is one. */
export interface AccountEventCapture {
  append(account: string, kind: AccountKind, text: string): void;
}

/** The control log (control-event-log.ts): takes a control event in (true) instead of its being handled at once. */
export interface ControlEventCapture {
  capture(subject: string, text: string): boolean;
}

/**
 * Nest's Redis transport with the direct handler lookup of exact-pattern-route.ts, and the engine fast path: messages
 * of a pattern with a direct handler skip Nest's per-message pipeline. With an account capture, account events are also
 * handed to it as the raw text received, before they are handled. With a logger, its two connections' outages are
 * logged once each (Nest's own listeners log every failed reconnect attempt, twice).
 */
export class EngineRedisServer extends ServerRedis {
  private connectionsReported = 0;

  constructor(
    options: NonNullable<RedisOptions['options']>,
    private readonly routes: EngineRoutes,
    private readonly accountCapture?: AccountEventCapture,
    private readonly outageLogger?: Logger,
    private readonly controlCapture?: ControlEventCapture,
  ) {
    super(options);
    routes.bindTo(this);
  }

  // Nest registers the subscriber's listeners first, then the publisher's.
  override registerErrorListener(client: RedisConnectionEvents): void {
    if (!this.outageLogger) return super.registerErrorListener(client);
    reportRedisOutages(client, this.connectionsReported++ === 0 ? 'engine-sub' : 'engine-pub', this.outageLogger);
  }

  /** The status only: the outage's log lines are the error listener's. */
  override registerReconnectListener(client: { on: (event: string, fn: () => void) => void }): void {
    if (!this.outageLogger) return super.registerReconnectListener(client);
    client.on('reconnecting', () => {
      if (!this.isManuallyClosed) this._status$.next('reconnecting' as RedisStatus);
    });
  }

  override getHandlerByPattern(pattern: string): MessageHandler | null {
    return handlerForPattern(this.messageHandlers, pattern, (p) => super.getHandlerByPattern(p));
  }

  // With wildcards Nest passes the subscribed pattern as `channel` and the concrete channel as `pattern`.
  override async handleMessage(channel: string, buffer: string, pub: Parameters<ServerRedis['handleMessage']>[2], pattern: string): Promise<void> {
    // Account events are appended to the log first, whichever way they are handled (capture ignores other patterns).
    if (this.accountCapture) this.capture(channel, pattern, buffer);
    const direct = this.routes.handlerFor(channel);
    if (!direct) {
      // Control events are applied from the control log, in its order, never straight from pub/sub.
      if (this.controlCapture?.capture(channel, buffer)) return;
      await super.handleMessage(channel, buffer, pub, pattern);
      return;
    }
    direct(decodeEnginePayload(this.parseMessage(buffer)), new RedisContext([pattern, undefined]));
  }

  /**
   * Nest's Redis transport parses every message before anything else sees it: a payload nested deeper than the
   * contract ever is (MAX_ENGINE_EVENT_DEPTH) is refused by a scan of its text instead, as over NATS.
   */
  override parseMessage(content: unknown): ReturnType<ServerRedis['parseMessage']> {
    if (typeof content === 'string' && engineJsonTooDeep(content)) return new MalformedEnginePayload('too_deep', content.slice(0, 256));
    return super.parseMessage(content);
  }

  /** Synchronous, so the appends leave in the order the events came in (the log's order relies on it). */
  private capture(subscribed: string, subject: string, text: string): void {
    const kind = this.routes.accountKindOf(subscribed);
    if (!kind) return;
    const account = accountFromSubject(subject);
    if (account) this.accountCapture?.append(account, kind, text);
  }
}
