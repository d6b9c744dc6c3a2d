import { Redis, type RedisOptions } from 'ioredis';

/**
 * One of this replica's Redis connections, named `tradewire-<node>-<purpose>` so that `CLIENT LIST` tells them apart.
 * Each purpose says how it fails (retries, timeouts, offline queue): a handshake, an order and the Socket.IO adapter
 * each want something else. Auto-pipelining sends the commands of one tick in one write (a rate-limit store's
 * per-user refreshes, account-log appends).
 */
export function redisConnection(url: string, nodeId: string, purpose: string, options: RedisOptions = {}): Redis {
  return new Redis(url, { connectionName: `tradewire-${nodeId}-${purpose}`, enableAutoPipelining: true, ...options });
}
