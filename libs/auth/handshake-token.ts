import type { IncomingHttpHeaders } from 'node:http';

/** What a Socket.IO handshake offers: `auth`, headers and query, as socket.io's `Handshake` carries them. */
export interface HandshakeLike {
  auth?: Record<string, unknown>;
  headers: IncomingHttpHeaders;
  query: Record<string, unknown>;
}

/**
 * The token of a handshake, from (in this order) `auth.token`, an `Authorization: Bearer` header, or `?token=`.
 * Browsers cannot set headers on a WebSocket, and some proxies strip them, hence the three places.
 */
export function tokenFromHandshake(handshake: HandshakeLike): string | null {
  const fromAuth = handshake.auth?.token;
  if (typeof fromAuth === 'string' && fromAuth.length > 0) return fromAuth;
  const header = handshake.headers.authorization;
  if (typeof header === 'string') {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (match?.[1]) return match[1];
  }
  const fromQuery = handshake.query.token;
  if (typeof fromQuery === 'string' && fromQuery.length > 0) return fromQuery;
  return null;
}
