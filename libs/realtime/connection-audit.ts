import type { AuthenticatedUser } from '#libs/auth';
import type { GatewayRuntime } from './gateway-runtime.js';
import type { GatewaySocket } from './gateway-socket.js';
import { connectionOf } from './request-audit.js';

/** What the handshake learnt before it was refused: the user, once the token was verified. */
export interface HandshakeAttempt {
  user?: AuthenticatedUser;
}

/** The client's address as rate limits read it (the `X-Forwarded-For` chain past `TRUSTED_PROXIES`). */
function clientAddressOf(runtime: GatewayRuntime, socket: GatewaySocket): string {
  return runtime.rateLimiter.clientAddress(socket.handshake.address, socket.handshake.headers['x-forwarded-for']);
}

/** A refused handshake: its code, and who it was once the token was verified (never the token). */
export function auditRefusedHandshake(runtime: GatewayRuntime, socket: GatewaySocket, code: string, attempt: HandshakeAttempt): void {
  const { audit } = runtime;
  if (!audit.enabled) return;
  const user = attempt.user;
  audit.handshake({
    namespace: socket.nsp.name,
    address: clientAddressOf(runtime, socket),
    outcome: 'rejected',
    code,
    ...(user ? { user: user.userId, tenant: user.tenant } : {}),
    ...transportOf(socket),
  });
}

/** An accepted connection's handshake. Its audited requests are recorded by its middleware (`auditRequest`). */
export function auditAcceptedHandshake(runtime: GatewayRuntime, socket: GatewaySocket): void {
  const { audit } = runtime;
  if (!audit.enabled) return;
  audit.handshake({ ...connectionOf(socket), address: socket.data.address, outcome: 'accepted', ...transportOf(socket) });
}

/** An accepted connection left: the reason Socket.IO gives, and the gateway's own when it closed it. */
export function auditDisconnect(runtime: GatewayRuntime, socket: GatewaySocket, reason: string): void {
  const { audit } = runtime;
  if (!audit.enabled) return;
  const closedBecause = socket.data.closedBecause;
  audit.disconnect({ ...connectionOf(socket), reason, ...(closedBecause !== undefined ? { code: closedBecause } : {}), durationMs: Date.now() - socket.data.connectedAt });
}

function transportOf(socket: GatewaySocket): { transport: string; userAgent?: string } {
  const userAgent = socket.handshake.headers['user-agent'];
  return { transport: socket.conn.transport.name, ...(typeof userAgent === 'string' ? { userAgent: userAgent.slice(0, 256) } : {}) };
}
