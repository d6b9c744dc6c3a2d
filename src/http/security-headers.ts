import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import helmet, { strictTransportSecurity } from 'helmet';
import type { TrustedProxies } from '#libs/rate-limit';

/** A Host header the CSP may name: a host name or IP literal and an optional port, nothing else. */
const HOST_PATTERN = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

export type HttpMiddleware = (request: IncomingMessage, response: ServerResponse, next: (error?: unknown) => void) => void;

/**
 * The security headers of every HTTP answer (the dashboard, health, metrics, admin, and Socket.IO's own answers),
 * set by helmet. The Content-Security-Policy fits the dashboard served at `/`: its scripts and styles come from the
 * gateway itself and nothing runs inline; it talks to the gateway over Socket.IO (XHR and WebSocket to the same
 * host). No page may frame it, and no referrer leaves it (its URL may carry `?token=`). HSTS only where the client
 * reached us over TLS: directly, or through a trusted proxy that says so in `X-Forwarded-Proto`.
 */
export function securityHeaders(trustedProxies: TrustedProxies): HttpMiddleware {
  const sameHostWebSocket = (scheme: 'ws' | 'wss') => (request: IncomingMessage) => {
    const host = request.headers.host;
    return host && HOST_PATTERN.test(host) ? `${scheme}://${host}` : "'self'";
  };
  const headers = helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        baseUri: ["'self'"],
        scriptSrc: ["'self'"],
        scriptSrcAttr: ["'none'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        fontSrc: ["'self'"],
        // 'self' covers ws:/wss: of the same host in CSP Level 3 browsers only; older ones need them named.
        connectSrc: ["'self'", sameHostWebSocket('ws'), sameHostWebSocket('wss')],
        objectSrc: ["'none'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
      },
    },
    xFrameOptions: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
    strictTransportSecurity: false,
  });
  const hsts = strictTransportSecurity({ maxAge: 31_536_000, includeSubDomains: true });
  return (request, response, next) => {
    headers(request, response, (error?: unknown) => {
      if (error) return next(error);
      if (reachedOverTls(request, trustedProxies)) return hsts(request, response, next);
      next();
    });
  };
}

/** TLS to this process, or a trusted proxy's word that the client's leg was TLS (the nearest proxy's value). */
function reachedOverTls(request: IncomingMessage, trustedProxies: TrustedProxies): boolean {
  if ((request.socket as Partial<TLSSocket>).encrypted === true) return true;
  const forwarded = request.headers['x-forwarded-proto'];
  if (forwarded === undefined || !trustedProxies.has(request.socket.remoteAddress ?? '')) return false;
  const values = (Array.isArray(forwarded) ? forwarded.join(',') : forwarded).split(',');
  return values[values.length - 1]?.trim().toLowerCase() === 'https';
}
