import type { AuthenticatedUser } from '#libs/auth';
import type { GatewayRuntime } from './gateway-runtime.js';
import type { GatewaySocket } from './gateway-socket.js';
import { auditedEvents, connectionOf, requestAudit } from './request-audit.js';

/** What the handshake learnt before it was refused: the user, once the token was verified. */
export interface HandshakeAttempt {
  user?: AuthenticatedUser;
}

/** The client's address as rate limits read it (the `X-Forwarded-For` chain past `TRUSTED_PROXIES`). */
function addressOf(runtime: GatewayRuntime, socket: GatewaySocket): string {
  return runtime.rateLimiter.clientAddress(socket.handshake.address, socket.handshake.headers['x-forwarded-for']);
}

/** A refused handshake: its code, and who it was once the token was verified (never the token). */
export function auditRefusedHandshake(runtime: GatewayRuntime, socket: GatewaySocket, code: string, attempt: HandshakeAttempt): void {
  const { audit } = runtime;
  if (!audit.enabled) return;
  const user = attempt.user;
  audit.handshake({
    namespace: socket.nsp.name,
    address: addressOf(runtime, socket),
    outcome: 'rejected',
    code,
    ...(user ? { user: user.userId, tenant: user.tenant } : {}),
    ...transportOf(socket),
  });
}

/**
 * An accepted connection: its handshake is recorded, its audited requests (`served` ∩ the audited events) are
 * recorded with their answers from now on, and so is its disconnect with the reason. Called before any other
 * middleware is added to the socket, so that every answer passes through the audit.
 */
export function auditConnection(runtime: GatewayRuntime, socket: GatewaySocket, served: ReadonlySet<string>, accountStreams: boolean): void {
  const { audit } = runtime;
  if (!audit.enabled) return;
  const address = addressOf(runtime, socket);
  const who = connectionOf(socket, address);
  audit.handshake({ ...who, address, outcome: 'accepted', ...transportOf(socket) });
  const events = auditedEvents(served, accountStreams);
  if (events.size > 0) socket.use(requestAudit(audit, socket, events, address));
  socket.once('disconnect', (reason: string) => {
    const closedBecause = socket.data.closedBecause;
    audit.disconnect({ ...connectionOf(socket, address), reason, ...(closedBecause !== undefined ? { code: closedBecause } : {}), durationMs: Date.now() - socket.data.connectedAt });
  });
}

function transportOf(socket: GatewaySocket): { transport: string; userAgent?: string } {
  const userAgent = socket.handshake.headers['user-agent'];
  return { transport: socket.conn.transport.name, ...(typeof userAgent === 'string' ? { userAgent: userAgent.slice(0, 256) } : {}) };
}
