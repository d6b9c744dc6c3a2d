import type { Redis } from 'ioredis';
import type { AccountKind } from '#libs/contracts';
import { accountLogKeys, withStreamLogAppend, type StreamLogCommands } from '#libs/redis';
import type { AccountLogReader } from './account-log.js';
import { decodeEnginePayload, MAX_ENGINE_EVENT_BYTES } from './engine-message.deserializer.js';

export interface RedisStreamsAccountLogOptions {
  /** Prefix of every key: streams are `<prefix>:<account>:<kind>`, dedup markers `<prefix>:seen:...`. */
  prefix: string;
  /** Events kept per stream, i.e. per account and kind; the oldest go first. */
  maxPerSubject: number;
  /** How long an event is kept; an idle account's stream expires after this. */
  maxAgeMs: number;
  /** How long a replica remembers that an event was stored, so that the other replicas' appends of it are dropped. */
  dedupWindowMs: number;
  /** Counts each append's outcome. Must not throw. */
  counted: (outcome: AccountLogAppendOutcome) => void;
  /** Where failed appends are reported, at most once per `FAILURE_WARNING_INTERVAL_MS`. */
  warn: (details: Record<string, unknown>, message: string) => void;
}

export type AccountLogAppendOutcome = 'stored' | 'duplicate' | 'failed';

/** Entries fetched per XRANGE: a long log is read in pages so that no single command holds Redis for long. */
const READ_PAGE = 1_000;

/** While Redis is away every account event fails to append: one warning per interval says how many did. */
const FAILURE_WARNING_INTERVAL_MS = 10_000;

/**
 * The account log in Redis Streams, for the Redis engine transport. Redis pub/sub keeps nothing, so every replica
 * appends each account event it receives to the account's stream, and reads an account back from there to hydrate it.
 *
 * Every replica receives every event, so an append is kept only when its event was not stored yet: a marker keyed by
 * the engine's `seq` (or, without one, by the SHA-1 of the payload text, which every replica receives byte for byte
 * the same) is set and the entry added in one script. Stream order is engine order: a replica sends its appends in the
 * order it receives the events, over one connection, so for each replica its attempt at event n runs before its attempt
 * at n+1; the first attempt at n+1 by any replica therefore runs after that replica's attempt at n, which stored n or
 * found it already stored. (A replica whose attempt at n failed, with Redis unreachable for it, can break this for n.
 * So could a NOSCRIPT retry, which resends one append behind later ones; ioredis sends the script itself as the first
 * append on each connection, so only a SCRIPT FLUSH on a live connection causes one.)
 * The limit of the payload identity: two unnumbered events identical byte for byte (same `ts` and fields) within the
 * dedup window are stored once. Engines that can send such events should send `seq`.
 */
export class RedisStreamsAccountLog implements AccountLogReader {
  private readonly redis: Redis & StreamLogCommands;
  private failedSinceWarning = 0;
  private lastWarningAt = 0;

  constructor(
    redis: Redis,
    private readonly options: RedisStreamsAccountLogOptions,
  ) {
    // The script and the event identity are shared with the publisher library, whose appends of an event dedupe with ours.
    this.redis = withStreamLogAppend(redis);
  }

  /** Resolves when Redis answers on the log's connection (readiness). */
  async probe(): Promise<void> {
    await this.redis.ping();
  }

  streamKey(account: string, kind: AccountKind): string {
    return accountLogKeys(this.options.prefix, account, kind, '').stream;
  }

  /**
   * Appends one account event's payload text as received (malformed ones too: hydration skips what does not
   * validate). Never waits and never rejects: the outcome is counted, failures warned about. Payloads beyond the engine event size
   * limit are not kept: the live path refuses them unread, and they would only take room in Redis.
   */
  append(account: string, kind: AccountKind, text: string): void {
    if (text.length > MAX_ENGINE_EVENT_BYTES) return;
    const keys = accountLogKeys(this.options.prefix, account, kind, text);
    const { dedupWindowMs, maxPerSubject, maxAgeMs, counted } = this.options;
    this.redis.tradewireAccountLogAppend(keys.dedup, keys.stream, dedupWindowMs, maxPerSubject, maxAgeMs, text).then(
      (stored) => counted(stored === 1 ? 'stored' : 'duplicate'),
      (error: unknown) => this.failed(error),
    );
  }

  private failed(error: unknown): void {
    this.options.counted('failed');
    this.failedSinceWarning++;
    const now = Date.now();
    if (now - this.lastWarningAt < FAILURE_WARNING_INTERVAL_MS) return;
    this.options.warn({ failed: this.failedSinceWarning, err: error }, 'account events could not be appended to the account log; replicas hydrating these accounts will miss them');
    this.failedSinceWarning = 0;
    this.lastWarningAt = now;
  }

  /** Reads every retained event of one account and kind, oldest first, a page at a time. */
  async read(account: string, kind: AccountKind, signal: AbortSignal): Promise<unknown[]> {
    const key = this.streamKey(account, kind);
    const events: unknown[] = [];
    let start = '-';
    for (;;) {
      if (signal.aborted) throw new Error('account log read aborted');
      const page = await this.redis.xrange(key, start, '+', 'COUNT', READ_PAGE);
      for (const [, fields] of page) events.push(decodeEnginePayload(payloadOf(fields)));
      const last = page[page.length - 1];
      if (!last || page.length < READ_PAGE) break;
      start = `(${last[0]}`;
    }
    if (signal.aborted) throw new Error('account log read aborted');
    return events;
  }
}

/** The `payload` field of an entry's flat field list; an empty string (malformed on decoding) when missing. */
function payloadOf(fields: string[]): string {
  for (let index = 0; index + 1 < fields.length; index += 2) if (fields[index] === 'payload') return fields[index + 1] ?? '';
  return '';
}
