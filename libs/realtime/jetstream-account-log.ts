import { DeliverPolicy, DiscardPolicy, jetstream, jetstreamManager, JetStreamApiCodes, JetStreamApiError, RetentionPolicy, StorageType, type ConsumerMessages, type StreamConfig } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { accountSubject, type AccountKind } from '#libs/contracts';
import type { AccountLogReader } from './account-log.js';
import { decodeEnginePayload } from './engine-message.deserializer.js';

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

export type AccountLogSetup = 'created' | 'updated' | 'unchanged';

/**
 * The account log in NATS JetStream: a stream capturing the engine's plain `acct.*.<kind>` publishes (the engine does
 * not need to know JetStream), read back per account with an ordered consumer filtered on the account's subject.
 */
export class JetStreamAccountLog implements AccountLogReader {
  constructor(
    private readonly connection: () => NatsConnection,
    private readonly options: JetStreamAccountLogOptions,
  ) {}

  /**
   * Creates the stream, or brings its subjects and limits to this configuration. Several replicas may do this at once:
   * creating a stream that now exists falls through to an update, and updating to the same settings changes nothing.
   */
  async ensureStream(): Promise<AccountLogSetup> {
    const jsm = await jetstreamManager(this.connection(), { timeout: this.options.requestTimeoutMs });
    const wanted: Partial<StreamConfig> = {
      subjects: [...this.options.subjects],
      retention: RetentionPolicy.Limits,
      discard: DiscardPolicy.Old,
      max_msgs_per_subject: this.options.maxPerSubject,
      max_age: this.options.maxAgeMs * 1_000_000,
    };
    let current: StreamConfig | undefined;
    try {
      current = (await jsm.streams.info(this.options.stream)).config;
    } catch (error) {
      if (!(error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound)) throw error;
    }
    if (!current) {
      try {
        await jsm.streams.add({ ...wanted, name: this.options.stream, storage: StorageType.File });
        return 'created';
      } catch (error) {
        // Another replica created it first; make sure it has our settings.
        current = (await jsm.streams.info(this.options.stream)).config;
        if (!current) throw error;
      }
    }
    const same =
      current.max_msgs_per_subject === wanted.max_msgs_per_subject &&
      current.max_age === wanted.max_age &&
      current.discard === wanted.discard &&
      this.options.subjects.every((subject) => current.subjects.includes(subject));
    if (same) return 'unchanged';
    const subjects = [...new Set([...current.subjects, ...this.options.subjects])];
    await jsm.streams.update(this.options.stream, { subjects, discard: DiscardPolicy.Old, max_msgs_per_subject: wanted.max_msgs_per_subject, max_age: wanted.max_age });
    return 'updated';
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
