import { DeliverPolicy, jetstream, jetstreamManager, type ConsumerMessages } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Redis } from 'ioredis';
import { controlLogKeys, STREAM_LOG_DEDUP_WINDOW_MS, withStreamLogAppend, type StreamLogCommands } from '#libs/redis';
import { decodeEnginePayload, MAX_ENGINE_EVENT_BYTES } from './engine-message.deserializer.js';
import { ensureLimitsStream } from './jetstream-stream.js';

/**
 * The engine's control events, `licence.changed` and `compliance.screen`, change what every replica lets clients do.
 * Held only in memory they were forgotten by a replica that restarted (a revoked user let in again on the token's
 * licence), so they are kept in a durable log, a JetStream stream with NATS or Redis Streams with Redis, and each
 * replica applies them from that log only: everything retained, in order, before it takes clients, then each new one
 * as it is appended. Live and replayed events come through one path, so they cannot overtake each other.
 */
export interface ControlLogOptions {
  /** The control subjects the log keeps: the registry's durable control kinds (EngineRoutes.controlLogPatterns). */
  subjects: readonly string[];
  /** The JetStream stream (NATS) or the key prefix of the Redis streams (`<prefix>:licence.changed`, …). */
  stream: string;
  /** Events kept (per subject with Redis); the oldest go first. */
  maxEvents: number;
  /** Bound on each JetStream API request. */
  requestTimeoutMs: number;
  warn: (details: Record<string, unknown>, message: string) => void;
}

/** Hands one control event (its subject and decoded payload) to the gateway's handlers. */
export type ControlEventDelivery = (subject: string, payload: unknown) => void;

export interface ControlEventLog {
  /** Delivers every retained event in order and keeps following; resolves with how many were retained once delivered. */
  follow(deliver: ControlEventDelivery): Promise<number>;
  close(): Promise<void>;
}

/** No age limit: a revocation lasts until it is cleared (the count limit bounds the log). Ten years, in ms. */
const KEEP_FOREVER_MS = 10 * 365 * 24 * 3_600_000;

/** A stream capturing the plain `licence.changed` / `compliance.screen` publishes, read by an ordered consumer. */
export class JetStreamControlLog implements ControlEventLog {
  private messages?: ConsumerMessages;

  constructor(
    private readonly connection: () => NatsConnection,
    private readonly options: ControlLogOptions,
  ) {}

  /** Creates the stream, or brings its subjects and limit to this configuration (replicas may race: both end equal). */
  async ensureStream(): Promise<void> {
    const jsm = await jetstreamManager(this.connection(), { timeout: this.options.requestTimeoutMs });
    await ensureLimitsStream(jsm, this.options.stream, this.options.subjects, { max_msgs: this.options.maxEvents });
  }

  async follow(deliver: ControlEventDelivery): Promise<number> {
    await this.ensureStream();
    const js = jetstream(this.connection(), { timeout: this.options.requestTimeoutMs });
    // An ordered consumer: in stream order, recreated by the client after a reconnect, nothing to clean up on the server.
    const consumer = await js.consumers.get(this.options.stream, { deliver_policy: DeliverPolicy.All });
    const { num_pending: retained } = await consumer.info(true);
    const messages = await consumer.consume();
    this.messages = messages;
    return new Promise<number>((caughtUp) => {
      let delivered = 0;
      if (retained === 0) caughtUp(0);
      const run = async (): Promise<void> => {
        for await (const message of messages) {
          deliver(message.subject, decodeEnginePayload(message));
          delivered++;
          if (delivered === retained || (delivered < retained && message.info.pending === 0)) caughtUp(delivered);
        }
      };
      run().catch((error: unknown) => this.options.warn({ err: error, stream: this.options.stream }, 'control log consumer stopped'));
    });
  }

  async close(): Promise<void> {
    this.messages?.stop();
    await Promise.resolve();
  }
}

/** Entries fetched per XRANGE / XREAD. */
const READ_PAGE = 500;
/** How long one XREAD waits for new entries before it is sent again (also how soon `close` is noticed). */
const BLOCK_MS = 2_000;

/**
 * Redis Streams, one per control subject. Redis pub/sub keeps nothing, so a replica does not apply a control event it
 * receives: it appends it (once, however many replicas receive it: the deduplicating script of the account log) and
 * applies what it reads back from the streams, as every other replica does. Publishers may append directly (the
 * publisher library does), which needs no replica to be running.
 */
export class RedisStreamsControlLog implements ControlEventLog {
  private readonly redis: Redis & StreamLogCommands;
  private closed = false;
  private deliver?: ControlEventDelivery;

  constructor(
    redis: Redis,
    /** A connection of its own: XREAD BLOCK holds it. */
    private readonly reader: Redis,
    private readonly options: ControlLogOptions,
  ) {
    this.redis = withStreamLogAppend(redis);
  }

  streamKey(subject: string): string {
    return controlLogKeys(this.prefix, subject, '').stream;
  }

  /**
   * Takes a control event received over pub/sub into the log (true), or leaves it to the live path (false: not a control
   * subject, or too large to be anything but malformed). Should the append fail, the event is applied at once instead:
   * late and out of the log is better than lost.
   */
  capture(subject: string, text: string): boolean {
    if (!this.options.subjects.includes(subject) || text.length > MAX_ENGINE_EVENT_BYTES) return false;
    const keys = controlLogKeys(this.prefix, subject, text);
    this.redis.tradewireAccountLogAppend(keys.dedup, keys.stream, STREAM_LOG_DEDUP_WINDOW_MS, this.options.maxEvents, KEEP_FOREVER_MS, text).catch((error: unknown) => {
      this.options.warn({ err: error, subject }, 'control event could not be appended to the control log: applied on this replica only');
      this.deliver?.(subject, decodeEnginePayload(text));
    });
    return true;
  }

  async follow(deliver: ControlEventDelivery): Promise<number> {
    this.deliver = deliver;
    const last = new Map<string, string>();
    let retained = 0;
    for (const subject of this.options.subjects) {
      const key = this.streamKey(subject);
      let start = '-';
      for (;;) {
        // On the reader: it waits for Redis to be there (the writer fails at once, so that appends never queue).
        const page = await this.reader.xrange(key, start, '+', 'COUNT', READ_PAGE);
        for (const [id, fields] of page) {
          deliver(subject, decodeEnginePayload(payloadOf(fields)));
          last.set(subject, id);
          retained++;
        }
        const tail = page[page.length - 1];
        if (!tail || page.length < READ_PAGE) break;
        start = `(${tail[0]}`;
      }
    }
    this.tail(last).catch((error: unknown) => this.options.warn({ err: error }, 'control log reader stopped'));
    return retained;
  }

  private get prefix(): string {
    return this.options.stream;
  }

  /** Follows the streams from where the replay ended, one blocking XREAD at a time, through Redis outages. */
  private async tail(last: Map<string, string>): Promise<void> {
    const subjects = [...this.options.subjects];
    while (!this.closed) {
      try {
        const ids = subjects.map((subject) => last.get(subject) ?? '0-0');
        const result = await this.reader.xread('COUNT', READ_PAGE, 'BLOCK', BLOCK_MS, 'STREAMS', ...subjects.map((s) => this.streamKey(s)), ...ids);
        for (const [key, entries] of result ?? []) {
          const subject = subjects.find((s) => this.streamKey(s) === key);
          if (!subject) continue;
          for (const [id, fields] of entries) {
            this.deliver?.(subject, decodeEnginePayload(payloadOf(fields)));
            last.set(subject, id);
          }
        }
      } catch (error) {
        if (this.closed) return;
        this.options.warn({ err: error }, 'control log cannot be read: retrying');
        await new Promise((resolve) => setTimeout(resolve, 1_000));
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.reader.disconnect();
    await Promise.resolve();
  }
}

function payloadOf(fields: string[]): string {
  for (let index = 0; index + 1 < fields.length; index += 2) if (fields[index] === 'payload') return fields[index + 1] ?? '';
  return '';
}
