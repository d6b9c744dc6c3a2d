import { ServerResponse, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import type { Server } from 'socket.io';
import { compactListenerTable } from './idle-connection.js';

type EngineServer = Server['engine'];

/** An engine.io connection, as far as the request it keeps goes. */
interface EngineConnection {
  request: IncomingMessage & { _query?: Record<string, string> };
}

/**
 * What Socket.IO reads from a connection's HTTP request when a namespace is opened on it (`Socket#buildHandshake`:
 * `headers`, `url`, `_query`, `connection.encrypted`), and nothing else.
 */
interface HandshakeRequest {
  readonly headers: IncomingHttpHeaders;
  readonly url: string | undefined;
  readonly _query: Record<string, string>;
  readonly connection: { readonly encrypted: boolean };
}

/**
 * Headers of the WebSocket upgrade itself (RFC 6455 §4.1), spent once the connection is open: nothing reads them in a
 * namespace's handshake, and a long-polling connection's handshake never had them. About 200 bytes per connection.
 */
const UPGRADE_MECHANICS: ReadonlySet<string> = new Set(['connection', 'upgrade', 'sec-websocket-key', 'sec-websocket-version', 'sec-websocket-extensions']);

/** The request's headers without {@link UPGRADE_MECHANICS}, in their order, or the headers as they are when it had none. */
function handshakeHeaders(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  if (headers.upgrade === undefined) return headers;
  const kept: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) if (!UPGRADE_MECHANICS.has(name)) kept[name] = value;
  return kept;
}

const ENCRYPTED = Object.freeze({ encrypted: true });
const PLAIN = Object.freeze({ encrypted: false });

/**
 * Engine.IO keeps the HTTP request that opened a connection for the connection's whole life: on its socket
 * (`request`) and, for a WebSocket upgrade, on the stand-in response it hands middlewares (engine.io 6.6
 * `WebSocketResponse.req`). With its raw and parsed headers and its stream state that is about 1.3 KB per idle
 * connection. Socket.IO's memory guide drops the socket's reference (`rawSocket.request = null`), but a dashboard opens
 * further namespaces on the same connection later, and each namespace's handshake (its token in an Authorization
 * header or the query, X-Forwarded-For, the user agent) is read from that request. So the connection keeps only what
 * a handshake reads from it (the headers less those of the WebSocket upgrade itself), and the upgrade's response lets go
 * of the request once the connection is open.
 */
export function keepOnlyHandshakeRequest(engine: EngineServer): void {
  const upgradeResponses = new WeakMap<IncomingMessage, object>();
  // Engine.IO middleware runs for every handshake request; for a WebSocket upgrade `res` is engine.io's stand-in.
  engine.use((req: IncomingMessage, res: unknown, next: () => void) => {
    if (typeof res === 'object' && res !== null && !(res instanceof ServerResponse)) upgradeResponses.set(req, res);
    next();
  });
  // The upgrade's response headers are being written (a new connection's, or a polling one's moving to WebSocket):
  // middlewares are done with the stand-in, and nothing reads the request through it any more.
  engine.on('headers', (_headers: unknown, req: IncomingMessage) => {
    const response = upgradeResponses.get(req);
    if (response && 'req' in response) response.req = null;
    // engine.io keeps the stand-in for the connection's life (its TCP socket's `close` re-emits on it): its empty
    // listener table need not be a 160-byte hash table (idle-connection.ts).
    if (response) compactListenerTable(response);
  });
  engine.on('connection', (conn: EngineConnection) => {
    const request = conn.request;
    const handshakeRequest: HandshakeRequest = {
      headers: handshakeHeaders(request.headers),
      url: request.url,
      _query: request._query ?? {},
      connection: (request.socket as { encrypted?: boolean } | null)?.encrypted ? ENCRYPTED : PLAIN,
    };
    // Socket.IO types this as the full IncomingMessage; it reads only the fields above.
    conn.request = handshakeRequest as unknown as EngineConnection['request'];
  });
}
