import { createHash, randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { constants, inflateRawSync } from 'node:zlib';
import type { BenchClient, ClientOptions } from './bench-client.js';
import { socketIoSession } from './socketio-lean.client.js';

/** RFC 6455 §1.3: what the server hashes with the client's key to prove it speaks WebSocket. */
const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const OPCODE_TEXT = 0x1;
const OPCODE_CLOSE = 0x8;
const OPCODE_PING = 0x9;
/** RFC 7692 §7.2.2: the tail a sender strips from each deflated message, put back before inflating. */
const DEFLATE_TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);
const HANDSHAKE_TIMEOUT_MS = 20_000;
const SHARED_READ_BUFFER = Buffer.alloc(64 * 1024);

/**
 * The lean client's Socket.IO session over a WebSocket client written here on a plain TCP socket, for runs where the load
 * generators' own cost decides the result: 100,000 connections on the 2 cores the server uses too. There, `ws`'s client
 * (a stream-based receiver, an object graph per connection) cost about 35 µs of CPU per received message at 16,700
 * connections per process, a plain socket about 10 µs (bench/RESULTS.md). The server cannot tell it from a browser:
 * it offers permessage-deflate the same way, and inflates what the server compresses (the server takes no context
 * over, so every message inflates alone). What it leaves out, as no gateway frame needs it: fragmented messages and
 * binary frames (it closes the connection on either), and compressing its own messages.
 */
export function openSocketIoTcpClient(options: ClientOptions): BenchClient {
  const url = new URL(options.baseUrl);
  const key = randomBytes(16).toString('base64');
  const accept = createHash('sha1').update(key + WEBSOCKET_GUID).digest('base64');
  const socket = (options.createConnection ?? connect)({
    host: url.hostname,
    port: Number(url.port),
    localAddress: options.localAddress,
    // Read into one buffer shared by every socket of the process, handed over synchronously (Node's `onread`): no
    // allocation per read and no stream machinery. Whatever is kept past the callback is copied (`partial`).
    onread: {
      buffer: SHARED_READ_BUFFER,
      callback: (length) => {
        onData(SHARED_READ_BUFFER, length);
        return true;
      },
    },
  });
  socket.setNoDelay(true);
  let upgraded = false;
  let deflate = false;
  let closed = false;
  /** Bytes received that do not make a whole frame (or the whole upgrade response) yet. */
  let partial: Buffer | undefined;

  const session = socketIoSession(options, {
    send: (text) => {
      if (!closed) socket.write(maskedTextFrame(text));
    },
    close: () => end(),
  });
  const handshakeTimer = setTimeout(() => fail('handshake timed out'), HANDSHAKE_TIMEOUT_MS);

  socket.on('connect', () => {
    socket.write(
      `GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n` +
        (options.offerDeflate ? 'Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n' : '') +
        '\r\n',
    );
  });
  /** Takes `chunk[0, end)`: the shared read buffer as it is, with no Buffer made per read unless bytes are kept. */
  function onData(chunk: Buffer, end: number): void {
    let data = chunk;
    if (partial) {
      data = Buffer.concat([partial, chunk.subarray(0, end)]);
      end = data.length;
      partial = undefined;
    }
    let offset = 0;
    if (!upgraded) {
      const headEnd = data.subarray(0, end).indexOf('\r\n\r\n');
      if (headEnd < 0) {
        partial = Buffer.from(data.subarray(0, end));
        return;
      }
      const head = data.toString('latin1', 0, headEnd);
      if (!head.startsWith('HTTP/1.1 101') || !head.includes(accept)) {
        fail(`WebSocket upgrade refused: ${head.split('\r\n', 1)[0]}`);
        return;
      }
      clearTimeout(handshakeTimer);
      upgraded = true;
      deflate = /^sec-websocket-extensions:.*permessage-deflate/im.test(head);
      offset = headEnd + 4;
    }
    while (!closed && end - offset >= 2) {
      const first = data[offset];
      let length = data[offset + 1] & 0x7f;
      let payloadAt = offset + 2;
      if (length === 126) {
        if (end - offset < 4) break;
        length = data.readUInt16BE(offset + 2);
        payloadAt += 2;
      } else if (length === 127) {
        if (end - offset < 10) break;
        length = Number(data.readBigUInt64BE(offset + 2));
        payloadAt += 8;
      }
      if (end < payloadAt + length) break;
      onFrame(first, data, payloadAt, payloadAt + length);
      offset = payloadAt + length;
    }
    if (offset < end) partial = Buffer.from(data.subarray(offset, end));
  }
  socket.on('close', () => {
    clearTimeout(handshakeTimer);
    closed = true;
    session.close('transport close');
  });
  socket.on('error', (error) => fail(error.message));

  /** The frame whose payload is `data[from, to)`. */
  function onFrame(first: number, data: Buffer, from: number, to: number): void {
    const fin = (first & 0x80) !== 0;
    const compressed = (first & 0x40) !== 0;
    const opcode = first & 0x0f;
    if (opcode === OPCODE_TEXT && fin) {
      if (!(compressed && deflate)) {
        session.onMessage(data.toString('utf8', from, to));
        return;
      }
      let message: Buffer;
      try {
        message = inflateRawSync(Buffer.concat([data.subarray(from, to), DEFLATE_TAIL]), { finishFlush: constants.Z_SYNC_FLUSH });
      } catch (error) {
        fail(`could not inflate a frame: ${error instanceof Error ? error.message : String(error)}`);
        return;
      }
      session.onMessage(message.toString('utf8'));
    } else if (opcode === OPCODE_CLOSE) {
      end();
    } else if (opcode === OPCODE_PING) {
      socket.write(maskedFrame(0xa, Buffer.from(data.subarray(from, to))));
    } else if (opcode !== 0xa) {
      fail(`unexpected WebSocket frame (opcode ${opcode}, fin ${fin})`);
    }
  }

  function end(): void {
    if (closed) return;
    closed = true;
    socket.end(maskedFrame(OPCODE_CLOSE, Buffer.alloc(0)));
  }

  function fail(reason: string): void {
    clearTimeout(handshakeTimer);
    closed = true;
    session.close(reason);
    socket.destroy();
  }

  return session.client;
}

function maskedTextFrame(text: string): Buffer {
  return maskedFrame(OPCODE_TEXT, Buffer.from(text));
}

/** A final client frame (RFC 6455 §5.3: every client frame is masked with a fresh key). */
function maskedFrame(opcode: number, payload: Buffer): Buffer {
  const length = payload.length;
  const lengthBytes = length < 126 ? 0 : length < 0x10000 ? 2 : 8;
  const frame = Buffer.allocUnsafe(2 + lengthBytes + 4 + length);
  frame[0] = 0x80 | opcode;
  if (lengthBytes === 0) {
    frame[1] = 0x80 | length;
  } else if (lengthBytes === 2) {
    frame[1] = 0x80 | 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 0x80 | 127;
    frame.writeBigUInt64BE(BigInt(length), 2);
  }
  const maskAt = 2 + lengthBytes;
  randomBytes(4).copy(frame, maskAt);
  for (let i = 0; i < length; i++) frame[maskAt + 4 + i] = payload[i] ^ frame[maskAt + (i & 3)];
  return frame;
}
