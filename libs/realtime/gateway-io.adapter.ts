import { Logger, type INestApplicationContext } from '@nestjs/common';
import { IoAdapter } from '@nestjs/platform-socket.io';
import type { MessageMappingProperties } from '@nestjs/websockets';
import type { Observable } from 'rxjs';
import type { Server, ServerOptions, Socket } from 'socket.io';
import { limitedSocketParser } from './inbound-packet-limits.js';
import { errorSummary } from '#libs/observability';
import { keepOnlyHandshakeRequest } from './handshake-request.js';
import { perMessageDeflateOptions, SelectiveDeflateWsEngine } from './selective-deflate.ws-engine.js';

/** A gateway handler as Nest binds it to one socket: (payload, ack) → the handler's result. */
type BoundRequestHandler = (data: unknown, ack: unknown) => unknown;
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
  /** Each socket's request handlers, as Nest bound them to it, in the order of the namespace's shared listeners. */
  private readonly requestHandlers = new WeakMap<Socket, BoundRequestHandler[]>();
  /** By namespace and event: the listener every socket of the namespace shares. */
  private readonly listeners = new Map<string, RequestListener>();

  constructor(
    app: INestApplicationContext,
    private readonly settings: SocketServerSettings,
  ) {
    super(app);
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
      ...(this.settings.compression && !this.settings.compressMarketData ? { wsEngine: SelectiveDeflateWsEngine } : {}),
    };
    const server = super.createIOServer(port, merged as ServerOptions);
    keepOnlyHandshakeRequest(server.engine);
    this.server = server;
    return server;
  }

  /**
   * Binds the gateways' request handlers. Nest's default builds an RxJS pipeline per handler per socket, kept for the
   * socket's lifetime: several KB of heap for every connection, and setup work on every handshake. Here a pipeline
   * exists only while a request is being answered, and the listener of each event is one function shared by every
   * socket of the namespace (EventEmitter calls it with the socket as `this`); what a socket keeps is the array of
   * Nest's callbacks bound to it. Behaviour is the same: the payload and ack are mapped as Nest maps them, a
   * `{ event, data }` result is emitted, anything else is the ack.
   */
  override bindMessageHandlers(socket: Socket, handlers: MessageMappingProperties[], transform: (data: unknown) => Observable<unknown>): void {
    for (const [index, { message, isAckHandledManually }] of handlers.entries()) {
      socket.on(message as string, this.sharedListener(socket.nsp.name, message as string, index, isAckHandledManually, transform));
    }
    // Sized once (an array grown by push from empty reserves room for 17).
    this.requestHandlers.set(socket, handlers.map(({ callback }) => callback as BoundRequestHandler));
  }

  /**
   * A socket's `disconnect` reaches Nest (and so the gateway's handleDisconnect) through a plain listener: Socket.IO
   * emits it once per socket, so Nest's `once` wrapper would only add a few hundred bytes to every connection.
   */
  override bindClientDisconnect(client: Socket, callback: (reason: string) => void): void {
    client.on('disconnect', callback);
  }

  /**
   * The one listener of `message` on `namespace`, made with the first socket that binds it: the handler's place in
   * the namespace's list, whether it answers its ack itself and Nest's `transform` (stateless) are the same for every
   * socket of the namespace.
   */
  private sharedListener(namespace: string, message: string, index: number, isAckHandledManually: boolean, transform: (data: unknown) => Observable<unknown>): RequestListener {
    const key = `${namespace}\u0000${message}`;
    const known = this.listeners.get(key);
    if (known) return known;
    const requestHandlers = this.requestHandlers;
    const answer = (socket: Socket, args: unknown[]): void => {
      const callback = requestHandlers.get(socket)?.[index];
      if (!callback) return;
      const mapped: { data?: unknown; ack?: unknown } = this.mapPayload(args.length === 1 ? args[0] : args);
      const { data, ack } = mapped;
      let result$: Observable<unknown>;
      try {
        result$ = transform(callback(data, ack));
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
    this.listeners.set(key, listener);
    return listener;
  }

  private readonly requestLogger = new Logger('GatewayIoAdapter');

  get ioServer(): Server | null {
    return this.server;
  }
}
