import { SERVER_EVENTS, wireError } from '#libs/contracts';
import type { EngineConnection, GatewaySocket } from './gateway-socket.js';

const WS_OPEN = 1;
/** The engine.io packet type of a message; engine.io prefixes it to every Socket.IO packet it sends. */
const ENGINE_IO_MESSAGE = '4';
/** A failed write means the connection is closing; engine.io sees the same error and closes the socket. */
const ignoreWriteError = (): void => undefined;

/** ws send options of a frame: whether permessage-deflate (when negotiated) may compress it. */
export const DEFLATED = { compress: true } as const;
export const NOT_DEFLATED = { compress: false } as const;
export type PacketSendOptions = typeof DEFLATED | typeof NOT_DEFLATED;

/** How much may wait on one client connection before the streams stop writing to it (see SlowClientPolicy). */
export interface ConnectionQueueLimits {
  /** Packets queued in engine.io. */
  maxQueuedFrames: number;
  /** Bytes the WebSocket has not handed to the network yet. */
  maxQueuedBytes: number;
}

/**
 * Whether the connection may be written to now: below both limits. Shared by every stream of every namespace, so a
 * client is judged behind the same way whatever it watches (market data, orders, positions, portfolio).
 */
export function connectionHasRoom(connection: EngineConnection, limits: ConnectionQueueLimits): boolean {
  return connection.writeBuffer.length < limits.maxQueuedFrames && (connection.transport.socket?.bufferedAmount ?? 0) < limits.maxQueuedBytes;
}

/**
 * Writes a Socket.IO packet. Over WebSocket with nothing queued in engine.io, straight to the ws socket as an
 * engine.io message packet: engine.io's own path (packet object, encode, flush and drain events per packet) cost
 * about as much as the write itself at trading-floor rates. Order is kept: anything engine.io holds goes first,
 * because then this packet waits behind it in engine.io too. The direct write says whether to deflate; engine.io
 * cannot, so a packet that waits in it is recognised by the SelectiveDeflateWsEngine instead.
 */
export function writePacket(connection: EngineConnection, packet: string, options: PacketSendOptions): void {
  const ws = connection.transport.socket;
  if (connection.transport.name === 'websocket' && ws && ws.readyState === WS_OPEN && connection.writeBuffer.length === 0) {
    ws.send(ENGINE_IO_MESSAGE + packet, options, ignoreWriteError);
  } else {
    connection.write(packet);
  }
}

declare const ENGINE_MESSAGE: unique symbol;
/**
 * An engine.io message packet: the packet type `4` and then a Socket.IO packet, the text a WebSocket frame carries. An
 * account event is written to each of its watchers and kept for replays: built once as a message, no write has to
 * prefix it again (`writePacket` makes a new string per write, which ws then flattens into another copy).
 */
export type EngineMessage = string & { readonly [ENGINE_MESSAGE]: true };

export function engineMessage(packet: string): EngineMessage {
  return (ENGINE_IO_MESSAGE + packet) as EngineMessage;
}

/** The length of the Socket.IO packet in a message (what the delivery metrics count, as for `writePacket`). */
export function packetLengthOf(message: EngineMessage): number {
  return message.length - ENGINE_IO_MESSAGE.length;
}

/** `writePacket` for a packet built as an engine.io message. */
export function writeMessage(connection: EngineConnection, message: EngineMessage, options: PacketSendOptions): void {
  const ws = connection.transport.socket;
  if (connection.transport.name === 'websocket' && ws && ws.readyState === WS_OPEN && connection.writeBuffer.length === 0) {
    ws.send(message, options, ignoreWriteError);
  } else {
    connection.write(message.slice(ENGINE_IO_MESSAGE.length));
  }
}

/** Tells a client it could not keep up (`SLOW_CLIENT`, saying how) and closes its connection, every namespace of it. */
export function disconnectSlowClient(socket: GatewaySocket, message: string): void {
  socket.emit(SERVER_EVENTS.error, wireError('SLOW_CLIENT', message));
  // The audit trail's disconnect record says why the gateway closed it.
  socket.data.closedBecause = 'SLOW_CLIENT';
  socket.disconnect(true);
}
