import type { Server } from 'node:http';

/**
 * The listeners that accept connections for an HTTP server besides the server's own: a cluster worker takes its share
 * of PORT through a listener it opens and closes as the workers' loads require (src/cluster/accept-gate.ts), and hands
 * each connection to the server. Stopping to accept must close them all at once: the graceful drain calls
 * `stopAccepting`, never `server.close()` alone.
 */
const otherListeners = new WeakMap<Server, Set<() => void>>();

/** `close` stops a listener that hands its connections to `server`; it is called by `stopAccepting(server)`. */
export function addListenerOf(server: Server, close: () => void): void {
  const listeners = otherListeners.get(server) ?? new Set<() => void>();
  listeners.add(close);
  otherListeners.set(server, listeners);
}

/** Closes `server`'s own listening socket and every other listener that hands it connections. */
export function stopAccepting(server: Server): void {
  server.close();
  const listeners = otherListeners.get(server);
  otherListeners.delete(server);
  for (const close of listeners ?? []) close();
}
