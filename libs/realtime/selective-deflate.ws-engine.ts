import WebSocket, { WebSocketServer, type ServerOptions } from 'ws';
import { eventPacketPrefix } from './socket-packet.js';
import { NAMESPACES, SERVER_EVENTS } from '#libs/contracts';

/** Engine.IO message packets ('4') carrying a Socket.IO `md` event of /market-data. */
const MARKET_DATA_FRAME_PREFIX = `4${eventPacketPrefix(NAMESPACES.marketData, SERVER_EVENTS.md)}`;
const UNCOMPRESSED = { compress: false };

type SendCallback = (error?: Error) => void;
type SendOptions = Parameters<WebSocket['send']>[1] & object;

/**
 * A ws socket that never deflates market-data frames. Engine.IO's websocket transport sends every packet with ws's
 * default `compress: true` and offers no per-packet switch, so with permessage-deflate negotiated each `md` frame of
 * 1 KB or more would be deflated once per receiving client, at the fan-out's full rate: the bench measured that as
 * the gateway's largest cost by far. Everything else (snapshots of account streams, replays, acks) keeps the 1 KB
 * threshold.
 *
 * The fan-out writes its frames to ws itself and says `compress: false` there (the options form below, no check). Only
 * what engine.io sends goes through the prefix check: its own packets, and an `md` frame that had to queue behind them.
 */
class SelectiveDeflateWebSocket extends WebSocket {
  override send(data: string | Buffer, optionsOrCallback?: SendOptions | SendCallback, callback?: SendCallback): void {
    if (typeof optionsOrCallback === 'function') {
      if (typeof data === 'string' && data.startsWith(MARKET_DATA_FRAME_PREFIX)) super.send(data, UNCOMPRESSED, optionsOrCallback);
      else super.send(data, optionsOrCallback);
      return;
    }
    super.send(data, optionsOrCallback ?? {}, callback);
  }
}

/** Engine.IO `wsEngine`: a ws server whose sockets are SelectiveDeflateWebSocket. */
export class SelectiveDeflateWsEngine extends WebSocketServer {
  constructor(options: ServerOptions) {
    super({ ...options, WebSocket: SelectiveDeflateWebSocket });
  }
}
