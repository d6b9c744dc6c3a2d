import { Logger, type INestApplicationContext } from '@nestjs/common';
import { IoAdapter } from '@nestjs/platform-socket.io';
import type { MessageMappingProperties } from '@nestjs/websockets';
import { WebSocketsController } from '@nestjs/websockets/web-sockets-controller.js';
import { from, mergeAll, type Observable, type Subject } from 'rxjs';
import type { Server, ServerOptions, Socket } from 'socket.io';
import { limitedSocketParser } from './inbound-packet-limits.js';
import { errorSummary } from '#libs/observability';
import { keepOnlyHandshakeRequest } from './handshake-request.js';
import { compactIdleConnection } from './idle-connection.js';
import { OwnRoomAdapter } from './own-room.adapter.js';
import { perMessageDeflateOptions, SelectiveDeflateWsEngine } from './selective-deflate.ws-engine.js';

/** A gateway's request handler as Nest makes it: (socket, payload, ack) → the result, with the gateway as `this`. */
type NestRequestHandler = (this: object, client: Socket, data: unknown, ack: unknown) => unknown;
/** What Nest's disconnect subject carries (web-sockets-controller: `disconnect.next({ client, reason })`). */
interface NestDisconnect {
  client: Socket;
  reason: string;
}
type DisconnectListener = (this: Socket, reason: string) => void;
/** An event listener EventEmitter calls with the socket as `this`. */
type RequestListener = (this: Socket, ...args: unknown[]) => void;

export interface SocketServerSettings {
  corsOrigins: string[] | true;
  /** Hard cap on one inbound engine.io packet; a larger one closes that connection only. */
  transportMaxBytes: number;
  /**
   * The largest client event served, attachments included: a larger one (or one nested too deeply) reaches its
   * namespace as a refused event, answered INVALID_REQUEST, and the connection goes on.
   */
  maxFrameBytes: number;
  /** Negotiate permessage-deflate for frames of 1 KB and more. */
  compression: boolean;
  /** Deflate market-data `md` frames too (they are compressed once per receiving client). */
  compressMarketData: boolean;
  /**
   * The transport heartbeat (`WS_PING_INTERVAL_MS`, `WS_PING_TIMEOUT_MS`; 25 s and 20 s by default): a ping to every
   * connection per interval, and a connection whose pong does not arrive within the timeout is closed.
   */
  pingIntervalMs: number;
  pingTimeoutMs: number;
}

/**
 * One Socket.IO server for all four namespaces, with the gateway's transport settings: websocket and long-polling,
 * CORS, permessage-deflate above 1 KB, the heartbeat (ping 25 s / timeout 20 s by default), an inbound frame cap, and
 * client events held to the frame limit and the nesting limit as they are decoded.
 */
export class GatewayIoAdapter extends IoAdapter {
  private server: Server | null = null;
  /** By Nest's handler (one per gateway and event): the listener every socket of the namespace shares. */
  private readonly listeners = new Map<NestRequestHandler, RequestListener>();
  /** By Nest's disconnect subject (one per gateway): the `disconnect` listener every socket of the namespace shares. */
  private readonly disconnectListeners = new Map<Subject<NestDisconnect>, DisconnectListener>();

  constructor(
    app: INestApplicationContext,
    private readonly settings: SocketServerSettings,
  ) {
    super(app);
    installSharedSocketBinding();
  }

  override createIOServer(port: number, options?: ServerOptions): Server {
    if (this.server) return this.server;
    const merged: Partial<ServerOptions> = {
      ...options,
      transports: ['websocket', 'polling'],
      cors: { origin: this.settings.corsOrigins, credentials: true },
      pingInterval: this.settings.pingIntervalMs,
      pingTimeout: this.settings.pingTimeoutMs,
      maxHttpBufferSize: this.settings.transportMaxBytes,
      parser: limitedSocketParser({ maxFrameBytes: this.settings.maxFrameBytes }),
      perMessageDeflate: this.settings.compression ? perMessageDeflateOptions(this.settings.transportMaxBytes) : false,
      httpCompression: { threshold: 1024 },
      serveClient: true,
      // The gateway joins no rooms: a socket's own room is not stored (own-room.adapter.ts).
      adapter: OwnRoomAdapter,
      ...(this.settings.compression && !this.settings.compressMarketData ? { wsEngine: SelectiveDeflateWsEngine } : {}),
    };
    const server = super.createIOServer(port, merged as ServerOptions);
    keepOnlyHandshakeRequest(server.engine);
    this.server = server;
    return server;
  }

  /**
   * Wires an accepted socket to its gateway, in place of Nest's per-socket wiring (see
   * {@link installSharedSocketBinding}): each request event gets the listener every socket of the namespace shares
   * (EventEmitter calls it with the socket as `this`), which calls Nest's handler with the socket as Nest's bound
   * copy would; `disconnect` reaches Nest (and so the gateway's handleDisconnect) through one shared listener too.
   * Nest's default builds an RxJS pipeline per handler per socket, kept for the socket's lifetime, and binds every
   * handler and a disconnect closure to each socket: with those, a socket kept several KB, then about 550 bytes
   * (bench heap snapshots); here it keeps nothing of its own. Behaviour is the same: the payload and ack are mapped as
   * Nest maps them, a `{ event, data }` result is emitted, anything else is the ack. Last, with the socket and its
   * connection wired as they stay while idle, what they keep is compacted (idle-connection.ts).
   */
  bindSocket(socket: Socket, gateway: object, subscribers: readonly MessageMappingProperties[], disconnect: Subject<NestDisconnect>, transform: (data: unknown) => Observable<unknown>): void {
    for (const subscriber of subscribers) socket.on(subscriber.message as string, this.sharedListener(gateway, subscriber, transform));
    socket.on('disconnect', this.sharedDisconnect(disconnect));
    compactIdleConnection(socket);
  }

  /**
   * A socket's `disconnect` reaches Nest through a plain listener (Socket.IO emits it once per socket, so Nest's
   * `once` wrapper would only add a few hundred bytes to every connection). Only for a socket Nest wires itself
   * ({@link bindSocket} is the gateway's way).
   */
  override bindClientDisconnect(client: Socket, callback: (reason: string) => void): void {
    client.on('disconnect', callback);
    compactIdleConnection(client);
  }

  /** The namespace's one `disconnect` listener: tells Nest which socket left, as Nest's own closure per socket does. */
  private sharedDisconnect(disconnect: Subject<NestDisconnect>): DisconnectListener {
    let listener = this.disconnectListeners.get(disconnect);
    if (!listener) {
      listener = function (this: Socket, reason: string) {
        disconnect.next({ client: this, reason });
      };
      this.disconnectListeners.set(disconnect, listener);
    }
    return listener;
  }

  /**
   * The one listener of a gateway's request event, made with the first socket that binds it: Nest's handler, whether
   * it answers its ack itself and Nest's `transform` (stateless) are the same for every socket of the namespace.
   */
  private sharedListener(gateway: object, subscriber: MessageMappingProperties, transform: (data: unknown) => Observable<unknown>): RequestListener {
    const handler = subscriber.callback as NestRequestHandler;
    const known = this.listeners.get(handler);
    if (known) return known;
    const { isAckHandledManually } = subscriber;
    const answer = (socket: Socket, args: unknown[]): void => {
      const mapped: { data?: unknown; ack?: unknown } = this.mapPayload(args.length === 1 ? args[0] : args);
      const { data, ack } = mapped;
      let result$: Observable<unknown>;
      try {
        // As Nest's `callback.bind(instance, client)` calls it.
        result$ = transform(handler.call(gateway, socket, data, ack));
      } catch (error) {
        this.requestLogger.error({ msg: 'client request failed', err: errorSummary(error) });
        return;
      }
      result$.subscribe({
        next: (response) => {
          if (response === null || response === undefined) return;
          const event = (response as { event?: unknown }).event;
          if (typeof event === 'string') socket.emit(event, (response as { data?: unknown }).data);
          else if (!isAckHandledManually && typeof ack === 'function') (ack as (value: unknown) => void)(response);
        },
        error: (error: unknown) => this.requestLogger.error({ msg: 'client request failed', err: errorSummary(error) }),
      });
    };
    const listener: RequestListener = function (this: Socket, ...args: unknown[]) {
      answer(this, args);
    };
    this.listeners.set(handler, listener);
    return listener;
  }

  private readonly requestLogger = new Logger('GatewayIoAdapter');

  get ioServer(): Server | null {
    return this.server;
  }
}

/** The part of Nest's (12.x) WebSocketsController that {@link installSharedSocketBinding} replaces and uses. */
interface NestWebSocketsController {
  config: { getIoAdapter(): unknown };
  pickResult(deferred: Promise<unknown>): Promise<Observable<unknown>>;
  getConnectionHandler(context: unknown, instance: object, subscribersMap: MessageMappingProperties[], disconnect: Subject<NestDisconnect>, connection: Subject<unknown[]>): (...args: unknown[]) => void;
}

let nestConnectionHandler: NestWebSocketsController['getConnectionHandler'] | null = null;

/**
 * Nest wires every accepted socket in `WebSocketsController#getConnectionHandler`: it tells the gateway
 * (`connection.next`, handleConnection), then binds each request handler to the socket (`callback.bind(instance,
 * client)`, through the adapter's `bindMessageHandlers`) and a closure for its disconnect: five or more functions kept
 * per socket whatever the adapter does with them. For a {@link GatewayIoAdapter} the handler made here tells the
 * gateway the same way, then hands the socket to {@link GatewayIoAdapter.bindSocket}, which binds nothing per
 * socket; any other adapter gets Nest's own. gateway-io.adapter.spec.ts checks that Nest's function still reads as
 * this replaces it (a Nest upgrade that changes it fails there), and the e2e tests run every request through it.
 */
export function installSharedSocketBinding(): void {
  if (nestConnectionHandler) return;
  const controller = WebSocketsController.prototype as unknown as NestWebSocketsController;
  const nest = controller.getConnectionHandler;
  if (typeof nest !== 'function' || typeof controller.pickResult !== 'function') throw new Error('@nestjs/websockets no longer has WebSocketsController#getConnectionHandler: review installSharedSocketBinding');
  nestConnectionHandler = nest;
  controller.getConnectionHandler = function (this: NestWebSocketsController, context, instance, subscribersMap, disconnect, connection) {
    const adapter = this.config.getIoAdapter();
    if (!(adapter instanceof GatewayIoAdapter)) return nest.call(this, context, instance, subscribersMap, disconnect, connection);
    // Nest's transform of a handler's result (a value, a promise or an observable) into an observable.
    const transform = (result: unknown): Observable<unknown> => from(this.pickResult(result as Promise<unknown>)).pipe(mergeAll());
    return (...args: unknown[]) => {
      connection.next(args);
      adapter.bindSocket(args[0] as Socket, instance, subscribersMap, disconnect, transform);
    };
  };
}

/** Nest's own getConnectionHandler, as found before {@link installSharedSocketBinding} replaced it (for its spec). */
export function nestGetConnectionHandler(): ((...args: unknown[]) => unknown) | null {
  return nestConnectionHandler as ((...args: unknown[]) => unknown) | null;
}
