import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { type RawData, WebSocket, WebSocketServer } from 'ws';
import { type MdMessage, NAMESPACES, type Namespace, type TokenClaims } from '#libs/contracts';
import { exitWithHarness, readBaselineEnv } from './baseline-env.js';
import { createBaselineHttpServer } from './baseline-http.js';
import {
  accountSubscribeResponse,
  mdSubscribeResponse,
  requestedQuoteStreams,
  snapshotsFor,
  tokenAccounts,
  verifyToken,
  welcomePayload,
} from './baseline-protocol.js';
import { connectEngineFeed } from './engine-feed.js';

/**
 * Baseline (a): the practical limit. A bare `ws` server, token in the query string, one map from stream (or account)
 * to its sockets, and each engine event serialised once into a frame buffer that is written to every subscriber.
 *
 * Its framing is the bench's own minimal one, shared with the load generator's raw-ws client:
 *   client → server  {"id":1,"event":"subscribe","data":{...}}
 *   server → client  ["welcome",{...}]  ["ack",1,{ok,data}]  ["md",[message,...]]  ["order",{...}]
 */
const env = readBaselineEnv();
exitWithHarness();

const counters = { engineEvents: 0, connections: 0 };
let ready = false;
const http = createBaselineHttpServer(counters, () => ready);
const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, clientTracking: false });
const streamSockets = new Map<string, Set<WebSocket>>();
const accountSockets = new Map<string, Set<WebSocket>>();
const lastQuotes = new Map<string, MdMessage>();

http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const namespace = url.pathname as Namespace;
  if (namespace !== NAMESPACES.marketData && namespace !== NAMESPACES.orders) {
    socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\n\r\n');
    return;
  }
  void verifyToken(env.jwtSecret, url.searchParams.get('token')).then(
    (claims) => wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws, namespace, claims)),
    () => socket.end('HTTP/1.1 401 Unauthorized\r\nconnection: close\r\n\r\n'),
  );
});

function onConnection(ws: WebSocket, namespace: Namespace, claims: TokenClaims): void {
  counters.connections++;
  const joined: { map: Map<string, Set<WebSocket>>; key: string }[] = [];
  const join = (map: Map<string, Set<WebSocket>>, key: string): void => {
    let sockets = map.get(key);
    if (!sockets) map.set(key, (sockets = new Set()));
    if (!sockets.has(ws)) {
      sockets.add(ws);
      joined.push({ map, key });
    }
  };

  ws.on('message', (raw: RawData) => {
    let request: { id?: number; event?: string; data?: unknown };
    try {
      request = JSON.parse(rawText(raw)) as typeof request;
    } catch {
      return;
    }
    if (request.event !== 'subscribe') return;
    if (namespace === NAMESPACES.marketData) {
      const streams = requestedQuoteStreams(request.data);
      streams.forEach((stream) => join(streamSockets, stream));
      ws.send(JSON.stringify(['ack', request.id, { ok: true, data: mdSubscribeResponse(streams, lastQuotes) }]));
      const snapshots = snapshotsFor(streams, lastQuotes);
      if (snapshots.length) ws.send(JSON.stringify(['md', snapshots]));
    } else {
      const accounts = tokenAccounts(claims);
      accounts.forEach((account) => join(accountSockets, account));
      ws.send(JSON.stringify(['ack', request.id, { ok: true, data: accountSubscribeResponse(accounts) }]));
    }
  });

  ws.once('close', () => {
    counters.connections--;
    for (const { map, key } of joined) map.get(key)?.delete(ws);
  });
  ws.on('error', () => ws.terminate());
  ws.send(JSON.stringify(['welcome', welcomePayload(namespace, randomUUID(), claims, env.nodeId)]));
}

/** Serialises an event once, into one buffer, and writes that same text frame to every open subscriber. */
function broadcast(sockets: Set<WebSocket> | undefined, frame: () => string): void {
  if (!sockets?.size) return;
  const buffer = Buffer.from(frame());
  for (const ws of sockets) {
    if (ws.readyState === WebSocket.OPEN) ws.send(buffer, { binary: false });
  }
}

function rawText(raw: RawData): string {
  if (Array.isArray(raw)) return Buffer.concat(raw).toString('utf8');
  return Buffer.isBuffer(raw) ? raw.toString('utf8') : Buffer.from(raw).toString('utf8');
}

await connectEngineFeed(env.natsUrl, counters, {
  onQuote: (message) => {
    lastQuotes.set(message.stream, message);
    broadcast(streamSockets.get(message.stream), () => `["md",[${JSON.stringify(message)}]]`);
  },
  onOrder: (event) => broadcast(accountSockets.get(event.account), () => `["order",${JSON.stringify(event)}]`),
});
http.listen(env.port, '127.0.0.1', () => {
  ready = true;
});
