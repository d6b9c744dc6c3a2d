import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/**
 * Appending to a Redis Streams log (the account log, the control log) once however many writers append the same event:
 * every gateway replica appends each event it receives, and a publisher may append its own events before it publishes
 * them. The gateway and `@tradewire/publisher` use this one script and identity, so their appends of one event dedupe.
 *
 * One append, atomic in Redis (a script runs alone). KEYS: the dedup marker, the stream. ARGV: dedup window (ms), max
 * entries, max age (ms), payload. The marker is set after the XADD: Redis does not roll a script back, and a marker
 * left by a failed XADD would make every writer drop the event. The age cut uses the server's clock, which also makes
 * the stream's entry ids, so the two agree.
 */
export const STREAM_LOG_APPEND_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[2], '*', 'payload', ARGV[4])
redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
local now = redis.call('TIME')
local minId = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) - tonumber(ARGV[3])
if minId > 0 then redis.call('XTRIM', KEYS[2], 'MINID', minId) end
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return 1
`;

/** How long an append is remembered, so that the other writers' appends of the same event are dropped (10 minutes). */
export const STREAM_LOG_DEDUP_WINDOW_MS = 600_000;

export interface StreamLogCommands {
  tradewireAccountLogAppend(dedupKey: string, streamKey: string, windowMs: number, maxLen: number, maxAgeMs: number, payload: string): Promise<number>;
}

/** Registers the append script on a client (ioredis sends it once per connection, then by its digest). */
export function withStreamLogAppend(redis: Redis): Redis & StreamLogCommands {
  if (!('tradewireAccountLogAppend' in redis)) redis.defineCommand('tradewireAccountLogAppend', { numberOfKeys: 2, lua: STREAM_LOG_APPEND_SCRIPT });
  return redis as Redis & StreamLogCommands;
}

/** The event's identity across writers: the engine's `seq` when it sends a valid one, else the payload's digest. */
export function streamLogIdentity(text: string): string {
  try {
    const seq = (JSON.parse(text) as { seq?: unknown } | null)?.seq;
    if (typeof seq === 'number' && Number.isSafeInteger(seq) && seq >= 0) return `seq:${seq}`;
  } catch {
    // not JSON: identified by its text like any unnumbered event
  }
  return `sha:${createHash('sha1').update(text).digest('hex')}`;
}

/** The account log's stream of one account and kind, and the dedup marker of one event in it. */
export const accountLogKeys = (prefix: string, account: string, kind: string, text: string) => ({
  stream: `${prefix}:${account}:${kind}`,
  dedup: `${prefix}:seen:${account}:${kind}:${streamLogIdentity(text)}`,
});

/** The control log's stream of one control subject (`licence.changed`, `compliance.screen`), and an event's marker. */
export const controlLogKeys = (prefix: string, subject: string, text: string) => ({
  stream: `${prefix}:${subject}`,
  dedup: `${prefix}:seen:${subject}:${streamLogIdentity(text)}`,
});
