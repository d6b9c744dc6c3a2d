import WebSocket, { WebSocketServer, type ServerOptions } from 'ws';
import { eventPacketPrefix } from './socket-packet.js';
import { NAMESPACES, SERVER_EVENTS } from '#libs/contracts';

/** Engine.IO message packets ('4') carrying a Socket.IO `md` event of /market-data. */
const MARKET_DATA_FRAME_PREFIX = `4${eventPacketPrefix(NAMESPACES.marketData, SERVER_EVENTS.md)}`;
const UNCOMPRESSED = { compress: false };

type SendCallback = (error?: Error) => void;
type SendOptions = Parameters<WebSocket['send']>[1] & object;

/**
 * permessage-deflate as a fan-out server can afford it. Without `server_no_context_takeover`, ws ignores the threshold
 * and compresses every message, keeping a full zlib context per connection: measured at about 235 KB of RSS per
 * socket and a 10x slower handshake. With it, frames under 1 KB go out as they are; a 1 KB window and a small
 * memLevel keep each compression cheap, and the sockets of {@link SelectiveDeflateWsEngine} keep no zlib context
 * between messages.
 *
 * `isServer` and `maxPayload` are what ws adds to its per-socket copy of these options (`{ ...options, isServer,
 * maxPayload }`). Present here already, they are overwritten rather than added: V8 (Node 20) gives every object made
 * by a spread followed by new properties a hidden class of its own once the code is optimised, about 340 bytes per
 * connection.
 *
 * `concurrencyLimit` bounds the deflates in flight across all sockets (they run on libuv's thread pool and each one's
 * completion takes a loop turn), and ws keeps a socket's frames in order, so everything a socket sends after a
 * compressed frame waits for that frame's deflate. At ws's default of 10, a resubscribe storm's 1,000 subscribe acks
 * (about 1.7 KB each) went through ten per loop turn, and every client's market data queued behind its own ack: 0.5–1 s
 * of delay over the storm's first seconds with the gateway's core not even busy (bench storm scenario). 256 clears
 * such a storm in a few turns. What it bounds is transient: each deflate in flight holds a compressor (about 90 KB
 * with Node 20's zlib) until its message is out, so at most about 23 MB during a storm.
 */
export function perMessageDeflateOptions(maxPayload: number) {
  return {
    threshold: 1024,
    serverNoContextTakeover: true,
    clientNoContextTakeover: true,
    serverMaxWindowBits: 10,
    clientMaxWindowBits: 10,
    zlibDeflateOptions: { level: 1, memLevel: 4 },
    zlibInflateOptions: { windowBits: 10 },
    concurrencyLimit: 256,
    isServer: true,
    maxPayload,
  };
}

/** A zlib stream as ws holds it for a socket's permessage-deflate. */
interface ZlibStream {
  close(): void;
}

/**
 * The part of ws's (8.x) negotiated permessage-deflate that {@link releaseZlibContexts} touches: the compressor and the
 * decompressor, which ws makes on a socket's first compressed message and keeps, reset, until the socket closes. The
 * selective-deflate tests check that these fields are still where this expects them.
 */
interface NegotiatedDeflate {
  _deflate: ZlibStream | null;
  _inflate: ZlibStream | null;
}

/** The negotiated permessage-deflate of a ws socket, when the client accepted it. */
export function negotiatedDeflateOf(socket: WebSocket): NegotiatedDeflate | undefined {
  return (socket as unknown as { _extensions?: Record<string, NegotiatedDeflate | undefined> })._extensions?.['permessage-deflate'];
}

/**
 * Frees a socket's idle zlib compressor or decompressor. Without context takeover (negotiated above), nothing in
 * them is needed for the next message, yet ws keeps each for the socket's life once used, and Node's zlib gives a
 * compressor a hash table of at least 64 KB whatever the memLevel: measured at about 90 KB of RSS per compressor and
 * 14-18 KB per decompressor. ws makes a new one for the next compressed message.
 */
function releaseZlibContext(socket: WebSocket, which: '_deflate' | '_inflate'): void {
  const negotiated = negotiatedDeflateOf(socket);
  const stream = negotiated?.[which];
  if (!negotiated || !stream) return;
  stream.close();
  negotiated[which] = null;
}

/**
 * A ws socket that never deflates market-data frames and keeps no zlib context between messages.
 *
 * Engine.IO's websocket transport sends every packet with ws's default `compress: true` and offers no per-packet
 * switch, so with permessage-deflate negotiated each `md` frame of 1 KB or more would be deflated once per receiving
 * client, at the fan-out's full rate: the bench measured that as the gateway's largest cost by far. Everything else
 * (snapshots of account streams, replays, acks, a large `welcome`) keeps the 1 KB threshold. The fan-out writes its
 * frames to ws itself and says `compress: false` there (the options form below, no check). Only what engine.io sends
 * goes through the prefix check: its own packets, and an `md` frame that had to queue behind them.
 *
 * The compressor is freed once no compressible frame is in flight (each send's callback has come back: ws calls it
 * once the frame, compressed or not, is written or failed), the decompressor once a whole message was read.
 */
class SelectiveDeflateWebSocket extends WebSocket {
  /** Frames sent that ws may compress and whose send has not called back yet: the compressor may be in use. */
  private compressibleInFlight = 0;

  override send(data: string | Buffer, optionsOrCallback?: SendOptions | SendCallback, callback?: SendCallback): void {
    if (typeof optionsOrCallback === 'function') {
      if (typeof data === 'string' && data.startsWith(MARKET_DATA_FRAME_PREFIX)) super.send(data, UNCOMPRESSED, optionsOrCallback);
      else this.sendCompressible(data, {}, optionsOrCallback);
      return;
    }
    const options = optionsOrCallback ?? {};
    if (options.compress === false) super.send(data, options, callback);
    else this.sendCompressible(data, options, callback);
  }

  override emit(event: string | symbol, ...args: unknown[]): boolean {
    const listened = super.emit(event, ...args);
    // A whole message was read (inflated, when it was compressed) and handed on; ws reads the next only afterwards.
    if (event === 'message') releaseZlibContext(this, '_inflate');
    return listened;
  }

  private sendCompressible(data: string | Buffer, options: SendOptions, callback: SendCallback | undefined): void {
    this.compressibleInFlight++;
    super.send(data, options, (error) => {
      if (--this.compressibleInFlight === 0) releaseZlibContext(this, '_deflate');
      callback?.(error);
    });
  }
}

/** Engine.IO `wsEngine`: a ws server whose sockets are SelectiveDeflateWebSocket. */
export class SelectiveDeflateWsEngine extends WebSocketServer {
  constructor(options: ServerOptions) {
    super({ ...options, WebSocket: SelectiveDeflateWebSocket });
  }
}
