import { Redis, type RedisOptions } from 'ioredis';
import { ENGINE_REJECTION_SUBJECTS, type EngineRejection } from '#libs/contracts';
import { accountLogKeys, controlLogKeys, STREAM_LOG_DEDUP_WINDOW_MS, withStreamLogAppend, type StreamLogCommands } from '#libs/redis';
import { TransportError } from './errors.js';
import type { EventRoute, PublisherTransport } from './transport.js';

export interface RedisTransportOptions {
  /** `redis://…` (or an open client, left open by `close`). */
  url?: string;
  client?: Redis;
  redisOptions?: RedisOptions;
  /**
   * The gateway's account log (its `ACCOUNT_LOG_STREAM`, `ACCOUNT_LOG_MAX_PER_SUBJECT`, `ACCOUNT_LOG_MAX_AGE_MS`):
   * account events are appended to it before they are published, so none is lost while no replica runs. `false`:
   * publish only (then events published while no replica runs are lost).
   */
  accountLog?: { prefix?: string; maxPerSubject?: number; maxAgeMs?: number } | false;
  /** The gateway's control log (`CONTROL_LOG_STREAM`, `CONTROL_LOG_MAX_EVENTS`): control events are appended there. */
  controlLog?: { prefix?: string; maxEvents?: number };
}

const KEEP_CONTROL_EVENTS_MS = 10 * 365 * 24 * 3_600_000;

/**
 * Redis: market data is PUBLISHed; account events are first appended to the gateway's Redis Streams account log with
 * the gateway's own deduplicating script (the replicas' appends of the same event are then dropped as duplicates),
 * then PUBLISHed for the live path; control events are appended to the control log, which every replica follows.
 * Commands issued in one turn of the event loop go in one write (auto-pipelining).
 */
export class RedisPublisherTransport implements PublisherTransport {
  readonly name = 'redis';
  private readonly redis: Redis & StreamLogCommands;
  private pending: Promise<unknown>[] = [];
  private failure?: TransportError;
  private readonly accountLog: { prefix: string; maxPerSubject: number; maxAgeMs: number } | undefined;
  private readonly controlLog: { prefix: string; maxEvents: number };

  private constructor(
    client: Redis,
    private readonly owned: boolean,
    options: RedisTransportOptions,
  ) {
    this.redis = withStreamLogAppend(client);
    this.accountLog = options.accountLog === false ? undefined : { prefix: 'TRADEWIRE_ACCOUNTS', maxPerSubject: 10_000, maxAgeMs: 604_800_000, ...options.accountLog };
    this.controlLog = { prefix: 'TRADEWIRE_CONTROL', maxEvents: 100_000, ...options.controlLog };
  }

  static async open(options: RedisTransportOptions): Promise<RedisPublisherTransport> {
    if (options.client) return new RedisPublisherTransport(options.client, false, options);
    const client = new Redis(options.url ?? 'redis://127.0.0.1:6379', { connectionName: 'tradewire-publisher', enableAutoPipelining: true, ...options.redisOptions });
    await client.ping();
    return new RedisPublisherTransport(client, true, options);
  }

  send(subject: string, event: object, route: EventRoute): void {
    const text = JSON.stringify(event);
    if (route.kind === 'control') {
      const keys = controlLogKeys(this.controlLog.prefix, subject, text);
      this.track(this.redis.tradewireAccountLogAppend(keys.dedup, keys.stream, STREAM_LOG_DEDUP_WINDOW_MS, this.controlLog.maxEvents, KEEP_CONTROL_EVENTS_MS, text), subject);
      return;
    }
    if (route.kind === 'account' && this.accountLog) {
      const keys = accountLogKeys(this.accountLog.prefix, route.account, route.accountKind, text);
      // Sent before the PUBLISH on the same connection: the log has the event before any replica can receive it.
      this.track(this.redis.tradewireAccountLogAppend(keys.dedup, keys.stream, STREAM_LOG_DEDUP_WINDOW_MS, this.accountLog.maxPerSubject, this.accountLog.maxAgeMs, text), subject);
    }
    this.track(this.redis.publish(subject, text), subject);
  }

  private track(command: Promise<unknown>, subject: string): void {
    // Settled promises are dropped at each flush; a publisher that never flushes keeps only a bounded backlog.
    if (this.pending.length > 100_000) this.pending = [];
    this.pending.push(
      command.catch((error: unknown) => {
        this.failure ??= new TransportError(`${subject}: ${String(error)}`, { cause: error });
      }),
    );
  }

  async flush(): Promise<void> {
    const pending = this.pending;
    this.pending = [];
    await Promise.all(pending);
    const failure = this.failure;
    this.failure = undefined;
    if (failure) throw failure;
  }

  async subscribeRejections(listener: (rejection: EngineRejection, subject: string) => void): Promise<() => Promise<void>> {
    // Pub/sub takes a connection of its own.
    const subscriber = this.redis.duplicate({ enableAutoPipelining: false });
    subscriber.on('pmessage', (_pattern: string, channel: string, text: string) => {
      try {
        listener(JSON.parse(text) as EngineRejection, channel);
      } catch {
        // a report that is not JSON is not ours
      }
    });
    await subscriber.psubscribe(ENGINE_REJECTION_SUBJECTS);
    return async () => {
      await subscriber.quit();
    };
  }

  async serveRequests(subject: string, answer: (request: unknown) => Promise<object>): Promise<() => Promise<void>> {
    const subscriber = this.redis.duplicate({ enableAutoPipelining: false });
    subscriber.on('message', (channel: string, text: string) => {
      if (channel !== subject) return;
      let request: { replyTo?: unknown; correlationId?: unknown };
      try {
        request = JSON.parse(text) as { replyTo?: unknown; correlationId?: unknown };
      } catch {
        return; // no reply channel to answer on
      }
      const { replyTo, correlationId } = request;
      if (typeof replyTo !== 'string' || typeof correlationId !== 'string') return;
      void answer(request).then((reply) => this.track(this.redis.publish(replyTo, JSON.stringify({ ...reply, correlationId })), replyTo));
    });
    await subscriber.subscribe(subject);
    return async () => {
      await subscriber.quit();
    };
  }

  async close(): Promise<void> {
    await this.flush().catch(() => undefined);
    if (this.owned) await this.redis.quit();
  }
}
