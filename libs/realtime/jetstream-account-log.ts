import { DeliverPolicy, jetstream, jetstreamManager, type ConsumerMessages } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { accountSubject, type AccountKind } from '#libs/contracts';
import type { AccountLogReader } from './account-log.js';
import { decodeEnginePayload } from './engine-message.deserializer.js';
import { ensureLimitsStream, type StreamSetup } from './jetstream-stream.js';

export interface JetStreamAccountLogOptions {
  /** The JetStream stream that captures the engine's account subjects. */
  stream: string;
  /** The account subjects it captures: the durable kinds of the registry of stream kinds (`acct.*.order` …). */
  subjects: readonly string[];
  /** Events kept per subject, i.e. per account and kind; the oldest go first. */
  maxPerSubject: number;
  maxAgeMs: number;
  /** Bound on each JetStream API request (stream setup, consumer creation). */
  requestTimeoutMs: number;
}

/**
 * The account log in NATS JetStream: a stream capturing the engine's plain `acct.*.<kind>` publishes (the engine does
 * not need to know JetStream), read back per account with an ordered consumer filtered on the account's subject.
 */
export class JetStreamAccountLog implements AccountLogReader {
  constructor(
    private readonly connection: () => NatsConnection,
    private readonly options: JetStreamAccountLogOptions,
  ) {}

  /** Creates the stream, or brings its subjects and limits to this configuration (replicas may race: both end equal). */
  async ensureStream(): Promise<StreamSetup> {
    const jsm = await jetstreamManager(this.connection(), { timeout: this.options.requestTimeoutMs });
    return ensureLimitsStream(jsm, this.options.stream, this.options.subjects, { max_msgs_per_subject: this.options.maxPerSubject, max_age: this.options.maxAgeMs * 1_000_000 });
  }

  /** Reads every retained event of one account and kind, oldest first, until the consumer has nothing pending. */
  async read(account: string, kind: AccountKind, signal: AbortSignal): Promise<unknown[]> {
    const js = jetstream(this.connection(), { timeout: this.options.requestTimeoutMs });
    const consumer = await js.consumers.get(this.options.stream, { filter_subjects: accountSubject(account, kind), deliver_policy: DeliverPolicy.All });
    try {
      if (signal.aborted) throw new Error('account log read aborted');
      const { num_pending: pending } = await consumer.info(true);
      if (pending === 0) return [];
      const events: unknown[] = [];
      let messages: ConsumerMessages | undefined;
      const stop = () => messages?.stop(new Error('account log read aborted'));
      signal.addEventListener('abort', stop, { once: true });
      try {
        messages = await consumer.consume({ max_messages: Math.min(1_000, pending) });
        for await (const message of messages) {
          events.push(decodeEnginePayload(message));
          if (message.info.pending === 0) break;
        }
      } finally {
        signal.removeEventListener('abort', stop);
        messages?.stop();
      }
      if (signal.aborted) throw new Error('account log read aborted');
      return events;
    } finally {
      await consumer.delete().catch(() => undefined);
    }
  }
}
