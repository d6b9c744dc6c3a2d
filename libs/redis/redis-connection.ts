import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';

/** What an outage report needs of a client: ioredis's connection events (Nest's Redis transport clients too). */
export interface RedisConnectionEvents {
  on(event: 'error', listener: (error: unknown) => void): unknown;
  on(event: 'ready' | 'reconnecting', listener: () => void): unknown;
}

/**
 * One of this replica's Redis connections, named `tradewire-<node>-<purpose>` so that `CLIENT LIST` tells them apart,
 * with its outages reported (see `reportRedisOutages`). Each purpose says how it fails (retries, timeouts, offline
 * queue): a handshake, an order and the Socket.IO adapter each want something else. Auto-pipelining sends the
 * commands of one tick in one write (a rate-limit store's per-user refreshes, account-log appends).
 */
export function redisConnection(url: string, nodeId: string, purpose: string, logger: Logger, options: RedisOptions = {}): Redis {
  const client = new Redis(url, { connectionName: `tradewire-${nodeId}-${purpose}`, enableAutoPipelining: true, ...options });
  reportRedisOutages(client, purpose, logger);
  return client;
}

/**
 * ioredis emits `error` on every failed reconnect attempt, and without a listener prints each one as a stack trace to
 * stderr. This listener writes one structured line when a connection is lost (at its first error, which says why) and
 * one when it is ready again, with how long it was away and how many attempts failed: one pair per outage, not a
 * line per retry. A connection that dropped and came straight back without an error gets one line. A deliberate
 * `quit()` is no outage (ioredis does not reconnect then). Failed commands are their callers' to report.
 */
export function reportRedisOutages(client: RedisConnectionEvents, connection: string, logger: Logger): void {
  let outage: { since: number; errors: number; logged: boolean } | undefined;
  client.on('reconnecting', () => {
    outage ??= { since: Date.now(), errors: 0, logged: false };
  });
  client.on('error', (error: unknown) => {
    outage ??= { since: Date.now(), errors: 0, logged: false };
    outage.errors++;
    if (outage.logged) return;
    outage.logged = true;
    logger.warn({ redis: connection, ...describeError(error) }, 'Redis connection lost; reconnecting');
  });
  client.on('ready', () => {
    if (!outage) return;
    const downMs = Date.now() - outage.since;
    if (outage.logged) logger.warn({ redis: connection, downMs, errors: outage.errors }, 'Redis connection is back');
    else logger.warn({ redis: connection, downMs }, 'Redis connection dropped and was re-established at once');
    outage = undefined;
  });
}

/** The message and code only: a connection error's stack says nothing an operator can use, once per outage or not. */
function describeError(error: unknown): { reason: string; code?: string } {
  if (!(error instanceof Error)) return { reason: String(error) };
  const code = (error as Error & { code?: unknown }).code;
  // A refused connection to a host with several addresses is an AggregateError whose own message is empty.
  const message = error.message || (error instanceof AggregateError ? error.errors.map((inner: unknown) => (inner instanceof Error ? inner.message : String(inner))).join('; ') : error.name);
  return typeof code === 'string' ? { reason: message, code } : { reason: message };
}
