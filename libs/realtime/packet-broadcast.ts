import { engineMessage, NOT_DEFLATED, writeMessage, type EngineMessage } from './connection-backpressure.js';
import type { ServerToClientEvents } from '#libs/contracts';
import { engineConnectionOf, type EngineConnection, type GatewaySocket } from './gateway-socket.js';
import { eventPacket, eventPacketPrefix } from './socket-packet.js';

const WS_OPEN = 1;
/** ws's Sender state when no frame is being compressed or read from a Blob (ws 8 `lib/sender.js`: `DEFAULT`). */
const SENDER_IDLE = 0;
/**
 * Connections written to per turn of the event loop. Each write leaves a few objects (the write request, its
 * completion tick) alive until the turn ends: a whole namespace in one turn kept all of them through the young
 * generation's collections (a sixth of the time of a notice to 19,000 connections was the garbage collector), and
 * held off every other read and timer of the process meanwhile.
 */
const CONNECTIONS_PER_TURN = 512;

/**
 * ws's frame sender, as Socket.IO's own broadcast uses it for frames it has framed once (socket.io-adapter
 * `wsPreEncodedFrame`, engine.io's websocket transport). ws keeps frames in order itself while a compressed one is being
 * deflated (`_state`, `_queue`); a frame written past it only while it is idle keeps that order.
 */
interface WsFrameSender {
  readonly _state: number;
  readonly _queue: readonly unknown[];
  sendFrame(list: readonly Buffer[], callback?: (error?: Error) => void): void;
}

/** The frame sender of a ws socket (ws 8 keeps it as `_sender`; packet-broadcast.spec pins it). */
export function frameSenderOf(socket: object): WsFrameSender | undefined {
  const sender = (socket as { _sender?: Partial<WsFrameSender> })._sender;
  return sender && typeof sender.sendFrame === 'function' && typeof sender._state === 'number' && Array.isArray(sender._queue) ? (sender as WsFrameSender) : undefined;
}

/**
 * One Socket.IO packet for many connections, framed once: the engine.io message, and the WebSocket frame that carries
 * it uncompressed (a server frame is not masked, so the same bytes serve every connection). Under permessage-deflate an
 * uncompressed frame is valid too (RFC 7692 §6: RSV1 unset), and a notice is far below the deflate threshold.
 */
export class FramedPacket {
  readonly message: EngineMessage;
  readonly frame: Buffer;

  constructor(readonly packet: string) {
    this.message = engineMessage(packet);
    this.frame = unmaskedTextFrame(Buffer.from(this.message));
  }
}

/**
 * A final, unmasked text frame (RFC 6455 §5.2): FIN + opcode 1, then the payload length in 7, 7+16 or 7+64 bits. Written
 * here because ws's own `Sender.frame` is not part of its typed interface nor of its ES module's default export.
 */
export function unmaskedTextFrame(payload: Buffer): Buffer {
  const length = payload.length;
  const headerLength = length < 126 ? 2 : length < 0x10000 ? 4 : 10;
  const frame = Buffer.allocUnsafe(headerLength + length);
  frame[0] = 0x81;
  if (length < 126) {
    frame[1] = length;
  } else if (length < 0x10000) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeBigUInt64BE(BigInt(length), 2);
  }
  payload.copy(frame, headerLength);
  return frame;
}

/**
 * Writes a framed packet to one connection: over an idle WebSocket with nothing queued before it, the frame itself in
 * one write (no per-connection encoding, framing or copy); otherwise the way every other packet goes, behind what
 * waits (`writeMessage`: ws's queue, or engine.io's buffer and polling).
 */
export function writeFramedPacket(connection: EngineConnection, framed: FramedPacket): void {
  const ws = connection.transport.socket;
  if (connection.transport.name === 'websocket' && ws && ws.readyState === WS_OPEN && connection.writeBuffer.length === 0) {
    const sender = frameSenderOf(ws);
    if (sender && sender._state === SENDER_IDLE && sender._queue.length === 0) {
      sender.sendFrame([framed.frame]);
      return;
    }
  }
  writeMessage(connection, framed.message, NOT_DEFLATED);
}

/** Broadcasts of this process still being written. */
let broadcastsWriting = 0;

/** Whether a broadcast is being written now: background work that can wait (seat renewals) lets it go first. */
export function broadcastInProgress(): boolean {
  return broadcastsWriting > 0;
}

/**
 * Emits one event to every socket given, as Socket.IO's `emit` would, framed once per namespace (FramedPacket) and
 * written `CONNECTIONS_PER_TURN` sockets per turn of the event loop. Sockets that have disconnected by their turn are
 * left out. Resolves with how many were written to once all have been: a socket's later writes (its DISCONNECT packet,
 * say) follow this event if they are made after that.
 */
export function broadcastEvent<E extends keyof ServerToClientEvents>(sockets: readonly GatewaySocket[], event: E, payload: Parameters<ServerToClientEvents[E]>[0]): Promise<number> {
  const argumentJson = JSON.stringify(payload);
  const packets = new Map<string, FramedPacket>();
  const packetFor = (namespace: string): FramedPacket => {
    let framed = packets.get(namespace);
    if (!framed) {
      framed = new FramedPacket(eventPacket(eventPacketPrefix(namespace, event), argumentJson));
      packets.set(namespace, framed);
    }
    return framed;
  };
  broadcastsWriting++;
  return new Promise((resolve) => {
    let next = 0;
    let written = 0;
    const writeSome = (): void => {
      const end = Math.min(next + CONNECTIONS_PER_TURN, sockets.length);
      try {
        for (; next < end; next++) {
          const socket = sockets[next];
          if (!socket.connected) continue;
          writeFramedPacket(engineConnectionOf(socket), packetFor(socket.nsp.name));
          written++;
        }
      } catch (error) {
        // Not under way any more: renewals must not keep waiting for a broadcast that failed.
        broadcastsWriting--;
        throw error;
      }
      if (next < sockets.length) {
        setImmediate(writeSome);
      } else {
        broadcastsWriting--;
        resolve(written);
      }
    };
    writeSome();
  });
}
