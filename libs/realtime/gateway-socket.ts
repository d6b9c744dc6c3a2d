import type { Namespace, Socket } from 'socket.io';
import type { AuthenticatedUser } from '#libs/auth';
import type { Licence, ServerToClientEvents } from '#libs/contracts';

/** What the handshake stores on every accepted socket (`socket.data`). */
export interface GatewaySocketData {
  user: AuthenticatedUser;
  licence: Licence;
  connectionId: string;
  connectedAt: number;
}

// Client → server events are acknowledged requests whose payloads are validated by DTOs, so they stay untyped here.
export type GatewaySocket = Socket<Record<string, never>, ServerToClientEvents, Record<string, never>, GatewaySocketData>;
export type GatewayNamespace = Namespace<Record<string, never>, ServerToClientEvents, Record<string, never>, GatewaySocketData>;

/** The engine.io connection under a socket: its public `write` takes an already encoded Socket.IO packet. */
export interface EngineConnection {
  readyState: string;
  write(data: string): unknown;
  /** Packets queued on the connection and not yet handed to the transport (engine.io keeps them while it waits). */
  readonly writeBuffer: readonly unknown[];
}

export function engineConnectionOf(socket: GatewaySocket): EngineConnection {
  // engine.io declares writeBuffer private; it is the only measure of a client's backlog it offers.
  return socket.conn as unknown as EngineConnection;
}
