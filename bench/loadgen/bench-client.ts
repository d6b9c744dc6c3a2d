import type { AccountEvent, AckResponse, MdMessage, SystemPayload } from '#libs/contracts';
import type { createConnection } from 'node:net';
import type { RawData } from 'ws';

/**
 * How a load-generator client talks to a target:
 * - `socket.io-client`: the real client library, exactly what a dashboard runs;
 * - `lean`: the same Socket.IO wire protocol (engine.io v4 over WebSocket) spoken directly on `ws`, so that one
 *   load-generator core can keep up with tens of thousands of sockets without the library's per-packet overhead
 *   deciding the result;
 * - `lean-tcp`: the lean client's protocol on a WebSocket client over a plain TCP socket (socketio-tcp.client.ts), a
 *   third of `ws`'s CPU per received message at tens of thousands of sockets per process;
 * - `raw-ws`: the raw-ws baseline's own minimal framing.
 */
export type ClientKind = 'socket.io-client' | 'lean' | 'lean-tcp' | 'raw-ws';

export interface ClientSettings {
  kind: ClientKind;
  /**
   * Offer permessage-deflate in the WebSocket handshake, as browsers and socket.io-client do. Whether frames are then
   * compressed is the server's choice; the cost lands on both sides, so it must be what real dashboards would get.
   */
  offerDeflate: boolean;
  /**
   * Once deflate is negotiated, compress every message the client sends, as browsers do (Chrome and Firefox compress
   * whatever the size); otherwise ws's default, messages of 1 KB and more. The server then inflates the client's
   * requests, pongs included.
   */
  compressAll: boolean;
}

export interface ClientHandlers {
  /** An `md` frame already decoded (socket.io-client). */
  onMd(messages: MdMessage[]): void;
  /** An `md` frame as text: its array of messages spans `text[from, end)` (the hand-written clients; see md-frame-scan.ts). */
  onMdText(text: string, from: number, end: number): void;
  onOrder(event: AccountEvent<'order'>): void;
  /** The client numbered `slot` (ClientOptions.slot) is closed, by either side. */
  onClose(slot: number, reason: string): void;
  /** A `system` event already decoded (socket.io-client), from the client numbered `slot`. */
  onSystem(slot: number, payload: SystemPayload): void;
  /** A `system` event as text, its payload object starting at `text[from]` (the lean client; see system-notice.ts). */
  onSystemText(slot: number, text: string, from: number): void;
}

export interface ClientOptions {
  /** e.g. http://127.0.0.1:3000 */
  baseUrl: string;
  /** e.g. /market-data */
  namespace: string;
  token: string;
  /**
   * The client's number in its load-generator process, handed back with what it receives once per client (a `system`
   * notice), so that the process can keep per-client state in a typed array instead of an object per client.
   */
  slot: number;
  /** Bind to this local address (to spread connections over several 127.0.0.x when ports run short). */
  localAddress?: string;
  offerDeflate: boolean;
  compressAll: boolean;
  handlers: ClientHandlers;
  /** Opens the TCP connection under the WebSocket (ws's `createConnection`), for a caller that must hold the socket. */
  createConnection?: typeof createConnection;
}

export interface BenchClient {
  /** Resolves when the server's `welcome` arrives; rejects with the refusal's code (or the transport error). */
  readonly welcomed: Promise<void>;
  request<T>(event: string, payload: unknown, timeoutMs: number): Promise<AckResponse<T>>;
  close(): void;
}

export class RequestTimeoutError extends Error {
  constructor(event: string) {
    super(`TIMEOUT:${event}`);
  }
}

/** Pending acknowledgements keyed by request id, with a timeout each; shared by the two hand-written clients. */
export class PendingAcks {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void; timer: NodeJS.Timeout }>();

  add<T>(event: string, timeoutMs: number): { id: number; promise: Promise<AckResponse<T>> } {
    const id = this.nextId++;
    const promise = new Promise<AckResponse<T>>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new RequestTimeoutError(event));
      }, timeoutMs);
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject, timer });
    });
    return { id, promise };
  }

  settle(id: number, response: unknown): void {
    const entry = this.pending.get(id);
    if (!entry) return;
    clearTimeout(entry.timer);
    this.pending.delete(id);
    entry.resolve(response);
  }

  failAll(reason: string): void {
    for (const entry of this.pending.values()) {
      clearTimeout(entry.timer);
      entry.reject(new Error(reason));
    }
    this.pending.clear();
  }
}

/** A promise with its settle functions outside, for the `welcome` of the hand-written clients. */
export function deferred(): { promise: Promise<void>; resolve: () => void; reject: (error: Error) => void } {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // A connection that is refused after the caller stopped waiting must not become an unhandled rejection.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

/** A WebSocket text message as a string; `ws` hands over a Buffer unless told otherwise. */
export function messageText(raw: RawData): string {
  if (Buffer.isBuffer(raw)) return raw.toString('utf8');
  return Array.isArray(raw) ? Buffer.concat(raw).toString('utf8') : Buffer.from(raw).toString('utf8');
}

/** An md event's packet data up to its array of messages: `["md",[...]]`. */
export const MD_EVENT_PREFIX = '["md",';

/** What both hand-written clients keep while connected: the welcome, pending acks, and a close that settles both once. */
export function clientLifecycle(options: ClientOptions): { welcome: ReturnType<typeof deferred>; acks: PendingAcks; close: (reason: string) => void } {
  const welcome = deferred();
  const acks = new PendingAcks();
  let closed = false;
  const close = (reason: string): void => {
    if (closed) return;
    closed = true;
    welcome.reject(new Error(reason));
    acks.failAll(reason);
    options.handlers.onClose(options.slot, reason);
  };
  return { welcome, acks, close };
}
