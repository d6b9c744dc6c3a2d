import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { AccountKind } from '#libs/contracts';
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
 * One append, atomic in Redis (a script runs alone). KEYS: the dedup marker, the stream. ARGV: dedup window (ms), max
 * entries, max age (ms), payload. The marker is set after the XADD: Redis does not roll a script back, and a marker
 * left by a failed XADD would make every replica drop the event. The age cut uses the server's clock, which also makes
 * the stream's entry ids, so the two agree.
 */
const APPEND_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[2], '*', 'payload', ARGV[4])
redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
local now = redis.call('TIME')
local minId = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) - tonumber(ARGV[3])
if minId > 0 then redis.call('XTRIM', KEYS[2], 'MINID', minId) end
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return 1
`;

interface AccountLogCommands {
  tradewireAccountLogAppend(dedupKey: string, streamKey: string, windowMs: number, maxLen: number, maxAgeMs: number, payload: string): Promise<number>;
}

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
  private readonly redis: Redis & AccountLogCommands;
  private failedSinceWarning = 0;
  private lastWarningAt = 0;

  constructor(
    redis: Redis,
    private readonly options: RedisStreamsAccountLogOptions,
  ) {
    redis.defineCommand('tradewireAccountLogAppend', { numberOfKeys: 2, lua: APPEND_SCRIPT });
    this.redis = redis as Redis & AccountLogCommands;
  }

  /** Resolves when Redis answers on the log's connection (readiness). */
  async probe(): Promise<void> {
    await this.redis.ping();
  }

  streamKey(account: string, kind: AccountKind): string {
    return `${this.options.prefix}:${account}:${kind}`;
  }

  /**
   * Appends one account event's payload text as received (malformed ones too: hydration skips what does not
   * validate). Never waits and never rejects: the outcome is counted, failures warned about. Payloads beyond the engine event size
   * limit are not kept: the live path refuses them unread, and they would only take room in Redis.
   */
  append(account: string, kind: AccountKind, text: string): void {
    if (text.length > MAX_ENGINE_EVENT_BYTES) return;
    const dedupKey = `${this.options.prefix}:seen:${account}:${kind}:${identityOf(text)}`;
    const { dedupWindowMs, maxPerSubject, maxAgeMs, counted } = this.options;
    this.redis.tradewireAccountLogAppend(dedupKey, this.streamKey(account, kind), dedupWindowMs, maxPerSubject, maxAgeMs, text).then(
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

/** The event's identity across replicas: the engine's `seq` when it sends a valid one, else the payload's digest. */
function identityOf(text: string): string {
  try {
    const seq = (JSON.parse(text) as { seq?: unknown } | null)?.seq;
    if (typeof seq === 'number' && Number.isSafeInteger(seq) && seq >= 0) return `seq:${seq}`;
  } catch {
    // not JSON: identified by its text like any unnumbered event
  }
  return `sha:${createHash('sha1').update(text).digest('hex')}`;
}

/** The `payload` field of an entry's flat field list; an empty string (malformed on decoding) when missing. */
function payloadOf(fields: string[]): string {
  for (let index = 0; index + 1 < fields.length; index += 2) if (fields[index] === 'payload') return fields[index + 1] ?? '';
  return '';
}
