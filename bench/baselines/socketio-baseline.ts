import { randomUUID } from 'node:crypto';
import { type Namespace as IoNamespace, Server, type Socket } from 'socket.io';
import { type AccountEvent, type AckResponse, GatewayError, type MdMessage, NAMESPACES, type ServerToClientEvents, type TokenClaims } from '#libs/contracts';
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

export interface BaselineSocketData {
  claims: TokenClaims;
  streams: Set<string>;
  accounts: Set<string>;
}

interface ClientToServerEvents {
  subscribe: (payload: unknown, ack?: (response: AckResponse<unknown>) => void) => void;
}

export type BaselineSocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, BaselineSocketData>;
export type BaselineNamespace = IoNamespace<ClientToServerEvents, ServerToClientEvents, Record<string, never>, BaselineSocketData>;

/** What differs between the Socket.IO baselines: how a subscription is remembered and how an event finds its sockets. */
export interface SocketIoDelivery {
  addStreams(socket: BaselineSocket, streams: string[]): void;
  addAccounts(socket: BaselineSocket, accounts: string[]): void;
  deliverQuote(namespace: BaselineNamespace, message: MdMessage): void;
  deliverOrder(namespace: BaselineNamespace, event: AccountEvent<'order'>): void;
}

/**
 * A plain Socket.IO server speaking the bench's subset of the protocol (JWT handshake, `welcome`, `subscribe` with an
 * ack, `md` arrays, `order` events), with everything the gateway adds — licences, conflation, batching, slow-client
 * policy, durable account logs — left out on purpose: it is the yardstick.
 */
export async function runSocketIoBaseline(delivery: SocketIoDelivery): Promise<void> {
  const env = readBaselineEnv();
  exitWithHarness();
  const counters = { engineEvents: 0, connections: 0 };
  let ready = false;
  const http = createBaselineHttpServer(counters, () => ready);
  const io = new Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, BaselineSocketData>(http, {
    transports: ['websocket'],
    serveClient: false,
  });
  const lastQuotes = new Map<string, MdMessage>();
  const marketData = io.of(NAMESPACES.marketData);
  const orders = io.of(NAMESPACES.orders);

  for (const namespace of [marketData, orders]) {
    namespace.use((socket, next) => {
      const token = (socket.handshake.auth as { token?: unknown }).token;
      void verifyToken(env.jwtSecret, token).then(
        (claims) => {
          socket.data = { claims, streams: new Set(), accounts: new Set() };
          next();
        },
        () => next(new GatewayError('UNAUTHORIZED', 'invalid or missing token')),
      );
    });
    namespace.on('connection', (socket) => {
      counters.connections++;
      socket.once('disconnect', () => counters.connections--);
      socket.emit('welcome', welcomePayload(namespace.name as typeof NAMESPACES.marketData, randomUUID(), socket.data.claims, env.nodeId));
    });
  }

  marketData.on('connection', (socket) => {
    socket.on('subscribe', (payload, ack) => {
      const streams = requestedQuoteStreams(payload);
      delivery.addStreams(socket, streams);
      ack?.({ ok: true, data: mdSubscribeResponse(streams, lastQuotes) });
      const snapshots = snapshotsFor(streams, lastQuotes);
      if (snapshots.length) socket.emit('md', snapshots);
    });
  });

  orders.on('connection', (socket) => {
    socket.on('subscribe', (_payload, ack) => {
      const accounts = tokenAccounts(socket.data.claims);
      delivery.addAccounts(socket, accounts);
      ack?.({ ok: true, data: accountSubscribeResponse(accounts) });
    });
  });

  await connectEngineFeed(env.natsUrl, counters, {
    onQuote: (message) => {
      lastQuotes.set(message.stream, message);
      delivery.deliverQuote(marketData, message);
    },
    onOrder: (event) => delivery.deliverOrder(orders, event),
  });
  http.listen(env.port, '127.0.0.1', () => {
    ready = true;
  });
}
