import type { Namespace, Socket } from 'socket.io';
import type { AuthenticatedUser } from '#libs/auth';
import type { ClientToServer, Licence, Namespace as NamespaceName, ServerToClientEvents } from '#libs/contracts';

/** What the handshake stores on every accepted socket (`socket.data`). */
export interface GatewaySocketData {
  user: AuthenticatedUser;
  licence: Licence;
  connectionId: string;
  connectedAt: number;
  /**
   * The client's address as rate limits and the audit trail read it (the `X-Forwarded-For` chain past
   * `TRUSTED_PROXIES`), worked out once at the handshake.
   */
  address: string;
  /** Why the gateway closed the connection, when it did: a contract error code or `shutdown` (for the audit trail). */
  closedBecause?: string;
}

/**
 * A gateway's socket: what it listens to is namespace N's requests (the contract's map, libs/contracts
 * `NamespaceRequests`; Nest's handlers are typed by it through `requestHandlerOf`), what it emits the server's events.
 * Without N, the requests every namespace serves.
 */
export type GatewaySocket<N extends NamespaceName = NamespaceName> = Socket<ClientToServer<N>, ServerToClientEvents, Record<string, never>, GatewaySocketData>;
export type GatewayNamespace<N extends NamespaceName = NamespaceName> = Namespace<ClientToServer<N>, ServerToClientEvents, Record<string, never>, GatewaySocketData>;

/** The ws socket under engine.io's websocket transport: `send` takes an encoded engine.io packet. */
export interface RawWebSocket {
  readonly readyState: number;
  /** Bytes handed to the socket and not yet accepted by the kernel: the client's backlog once the link is full. */
  readonly bufferedAmount: number;
  send(data: string, options: { compress: boolean }, callback: (error?: Error) => void): void;
}

/** The engine.io connection under a socket: its public `write` takes an already encoded Socket.IO packet. */
export interface EngineConnection {
  readyState: string;
  write(data: string): unknown;
  /** Packets queued on the connection and not yet handed to the transport (engine.io keeps them while it waits). */
  readonly writeBuffer: readonly unknown[];
  readonly transport: { readonly name: string; readonly socket?: RawWebSocket };
}

export function engineConnectionOf(socket: GatewaySocket): EngineConnection {
  // engine.io declares writeBuffer private; it is the only measure of a client's backlog it offers.
  return socket.conn as unknown as EngineConnection;
}

const connectionKeys = new WeakMap<object, string>();
let nextConnectionKey = 0;

/**
 * A process-unique key for the engine.io connection under a socket, the same for every namespace it carries (engine.io
 * keeps its own id private): what a seat is counted by.
 */
export function connectionKeyOf(socket: GatewaySocket): string {
  return connectionKeyOfConnection(socket.conn);
}

/** {@link connectionKeyOf} from the engine.io connection itself. */
export function connectionKeyOfConnection(conn: object): string {
  let key = connectionKeys.get(conn);
  if (key === undefined) {
    key = (nextConnectionKey++).toString(36);
    connectionKeys.set(conn, key);
  }
  return key;
}
