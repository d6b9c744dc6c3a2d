import { randomBytes } from 'node:crypto';
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Server as SocketIoServer } from 'socket.io';

/**
 * Socket.IO sessions that stay on the worker that holds them, whichever worker the kernel gives a connection to.
 *
 * Every worker accepts connections on PORT itself. A polling client's requests, and its websocket upgrade, name their
 * session (`sid`), and only the worker that created it knows it: so a session id begins with its worker's slot
 * (`w2-…`), and a worker that receives a request for another worker's session relays it over loopback to that
 * worker's relay port, an HTTP request as an HTTP request, an upgrade as a byte pipe for the connection's life.
 * Everything else (a new session, websocket-only clients, the HTTP API) is served where it lands.
 */

type RequestListener = (request: IncomingMessage, response: ServerResponse) => void;
type UpgradeListener = (request: IncomingMessage, socket: Duplex, head: Buffer) => void;

/** Where a relayed request goes: the relay port of the worker in `slot`, if it is known and alive. */
export type RelayPorts = (slot: number) => number | undefined;

/** Counts what this worker relays, by kind. */
export type RelayCounter = (kind: 'request' | 'upgrade') => void;

/** Headers that describe one connection, not the request: never passed on between two connections. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer']);

/**
 * Makes `io` name its sessions after `slot` and sends every request and upgrade of another slot's session to that
 * worker. Call once Socket.IO is attached to `httpServer` (it took over the server's listeners then): the listeners
 * present now are those that serve what stays here.
 */
export function routeSessionsToTheirWorker(httpServer: HttpServer, io: SocketIoServer, slot: number, relayPorts: RelayPorts, relayed: RelayCounter): void {
  // engine.io's own ids are 20 URL-safe characters; the prefix names the worker.
  io.engine.generateId = () => `w${slot}-${randomBytes(15).toString('base64url')}`;
  const path = `${io.path().replace(/\/$/, '')}/`;
  const ownerPort = (request: IncomingMessage): number | undefined => {
    const owner = sessionSlotOf(request.url ?? '', path);
    return owner === undefined || owner === slot ? undefined : relayPorts(owner);
  };

  const serveHere = httpServer.listeners('request') as RequestListener[];
  httpServer.removeAllListeners('request');
  httpServer.on('request', (request: IncomingMessage, response: ServerResponse) => {
    const port = ownerPort(request);
    if (port === undefined) {
      for (const listener of serveHere) listener.call(httpServer, request, response);
      return;
    }
    relayed('request');
    relayRequest(request, response, port);
  });

  const upgradeHere = httpServer.listeners('upgrade') as UpgradeListener[];
  httpServer.removeAllListeners('upgrade');
  httpServer.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const port = ownerPort(request);
    if (port === undefined) {
      for (const listener of upgradeHere) listener.call(httpServer, request, socket, head);
      return;
    }
    relayed('upgrade');
    relayUpgrade(request, socket, head, port);
  });
}

/** The slot in a Socket.IO request's session id (`?sid=w2-…` under `path`); undefined for anything else. */
export function sessionSlotOf(url: string, path: string): number | undefined {
  if (!url.startsWith(path)) return undefined;
  const sid = new URLSearchParams(url.slice(url.indexOf('?') + 1)).get('sid');
  const match = sid === null ? null : /^w(\d+)-/.exec(sid);
  return match ? Number(match[1]) : undefined;
}

/** The request to the worker on `port` and its answer back, each streamed. */
function relayRequest(request: IncomingMessage, response: ServerResponse, port: number): void {
  const upstream = httpRequest({ host: '127.0.0.1', port, method: request.method, path: request.url, headers: endToEnd(request.headers) }, (answer) => {
    response.writeHead(answer.statusCode ?? 502, endToEnd(answer.headers));
    answer.on('error', () => response.destroy());
    answer.pipe(response);
  });
  upstream.on('error', () => {
    // The owner is gone (it died, it drains): the session is over; the client reconnects, to any worker.
    if (response.headersSent) return void response.destroy();
    response.writeHead(502, { 'content-type': 'text/plain; charset=utf-8' });
    response.end('the session is on a worker that is gone');
  });
  // A client that leaves (a long-poll it gave up on) does not keep the owner's answer waiting.
  response.once('close', () => {
    if (!response.writableFinished) upstream.destroy();
  });
  request.pipe(upstream);
}

/** The upgrade request to the worker on `port`, then the bytes of both sides, until either ends. */
function relayUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer, port: number): void {
  const upstream: Socket = connect(port, '127.0.0.1');
  const lines = [`${request.method ?? 'GET'} ${request.url ?? '/'} HTTP/${request.httpVersion}`];
  for (let index = 0; index < request.rawHeaders.length; index += 2) lines.push(`${request.rawHeaders[index]}: ${request.rawHeaders[index + 1]}`);
  upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
  if (head.length > 0) upstream.write(head);
  upstream.pipe(socket).pipe(upstream);
  upstream.on('error', () => socket.destroy());
  socket.on('error', () => upstream.destroy());
  upstream.on('close', () => socket.destroy());
  socket.on('close', () => upstream.destroy());
}

function endToEnd(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !HOP_BY_HOP.has(name)));
}
