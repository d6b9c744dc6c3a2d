import { createServer, connect as connectTcp, type Server, type Socket } from 'node:net';

/**
 * What to do with one server → client WebSocket text message: keep it (return it as it is), change it (return the
 * new text) or drop it (null).
 */
export type TextFrameRewrite = (text: string) => string | null;

const HEADER_END = Buffer.from('\r\n\r\n');

/**
 * A TCP proxy between a client and a gateway that can change or drop WebSocket messages on their way to the client.
 *
 * A gateway never sends a book update that skips a `seq` or disagrees with its checksum: it keeps the book and
 * computes both itself from whatever the engine publishes. The only way such a frame reaches a client is damage on
 * the way, which is what this proxy does, one whole unfragmented, uncompressed text frame at a time (run the gateway
 * with WS_COMPRESSION=off). Client → server bytes and everything before the upgrade pass untouched.
 */
export class FrameTamperProxy {
  rewrite: TextFrameRewrite = (text) => text;
  readonly connections = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  static async start(upstreamPort: number): Promise<FrameTamperProxy> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (typeof address !== 'object' || !address) throw new Error('proxy has no address');
    const proxy = new FrameTamperProxy(server, address.port);
    server.on('connection', (downstream: Socket) => proxy.pipe(downstream, upstreamPort));
    return proxy;
  }

  async stop(): Promise<void> {
    for (const socket of this.connections) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private pipe(downstream: Socket, upstreamPort: number): void {
    const upstream = connectTcp(upstreamPort, '127.0.0.1');
    this.connections.add(downstream).add(upstream);
    const close = () => {
      downstream.destroy();
      upstream.destroy();
      this.connections.delete(downstream);
      this.connections.delete(upstream);
    };
    downstream.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
    downstream.pipe(upstream);

    // The first answer decides: a 101 starts WebSocket framing; anything else (long polling, health) is HTTP, and the
    // connection goes through untouched (a WebSocket upgrade always comes on a connection of its own).
    let mode: 'head' | 'websocket' | 'passthrough' = 'head';
    let pending: Buffer = Buffer.alloc(0);
    upstream.on('data', (chunk: Buffer) => {
      if (mode === 'passthrough') {
        downstream.write(chunk);
        return;
      }
      pending = Buffer.concat([pending, chunk]);
      if (mode === 'head') {
        const end = pending.indexOf(HEADER_END);
        if (end < 0) return;
        const head = pending.subarray(0, end + HEADER_END.length);
        mode = /^HTTP\/1\.1 101 /.test(head.toString('latin1')) ? 'websocket' : 'passthrough';
        downstream.write(head);
        pending = pending.subarray(head.length);
        if (mode === 'passthrough') {
          downstream.write(pending);
          return;
        }
      }
      pending = this.forwardFrames(pending, downstream);
    });
  }

  /** Writes every complete frame of `buffer` to `downstream` (rewritten where asked); returns what is left. */
  private forwardFrames(buffer: Buffer, downstream: Socket): Buffer {
    let offset = 0;
    while (buffer.length - offset >= 2) {
      const first = buffer[offset] ?? 0;
      const second = buffer[offset + 1] ?? 0;
      let length = second & 0x7f;
      let headerLength = 2;
      if (length === 126) {
        if (buffer.length - offset < 4) break;
        length = buffer.readUInt16BE(offset + 2);
        headerLength = 4;
      } else if (length === 127) {
        if (buffer.length - offset < 10) break;
        length = Number(buffer.readBigUInt64BE(offset + 2));
        headerLength = 10;
      }
      if (second & 0x80) headerLength += 4; // a masked frame (never from a server, but do not misread one)
      if (buffer.length - offset < headerLength + length) break;
      const frame = buffer.subarray(offset, offset + headerLength + length);
      offset += headerLength + length;
      const isWholeUncompressedText = first === 0x81 && !(second & 0x80);
      if (!isWholeUncompressedText) {
        downstream.write(frame);
        continue;
      }
      const text = frame.subarray(headerLength).toString('utf8');
      const rewritten = this.rewrite(text);
      if (rewritten === null) continue;
      downstream.write(rewritten === text ? frame : encodeTextFrame(rewritten));
    }
    return buffer.subarray(offset);
  }
}

function encodeTextFrame(text: string): Buffer {
  const payload = Buffer.from(text, 'utf8');
  let header: Buffer;
  if (payload.length < 126) {
    header = Buffer.from([0x81, payload.length]);
  } else if (payload.length < 65_536) {
    header = Buffer.alloc(4);
    header[0] = 0x81;
    header[1] = 126;
    header.writeUInt16BE(payload.length, 2);
  } else {
    header = Buffer.alloc(10);
    header[0] = 0x81;
    header[1] = 127;
    header.writeBigUInt64BE(BigInt(payload.length), 2);
  }
  return Buffer.concat([header, payload]);
}
