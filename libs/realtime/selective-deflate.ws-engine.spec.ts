import type { Server, Socket as ServerSocket } from 'socket.io';
import { io, type Socket as ClientSocket } from 'socket.io-client';
import type WebSocket from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { listeningSocketIoServer } from '../../test/support/socket-io-server.js';
import { eventually } from '../../test/support/polling.js';
import { negotiatedDeflateOf, perMessageDeflateOptions, SelectiveDeflateWsEngine } from './selective-deflate.ws-engine.js';

/** 16 KB of JSON that deflates to a few hundred bytes: what crosses the wire tells whether it was compressed. */
const bulky = (n: number) => ({ n, note: 'x'.repeat(16_384) });

/**
 * The gateway's permessage-deflate (WS_COMPRESSION=bulk) against a real Socket.IO server and socket.io-client that,
 * like a browser, compresses every message it sends.
 */
describe('SelectiveDeflateWsEngine', () => {
  let server: Server;
  let url: string;
  const serverSockets: ServerSocket[] = [];
  const clients: ClientSocket[] = [];

  beforeAll(async () => {
    ({ server, url } = await listeningSocketIoServer({ transports: ['websocket'], maxHttpBufferSize: 1_000_000, perMessageDeflate: perMessageDeflateOptions(1_000_000), wsEngine: SelectiveDeflateWsEngine }));
    server.of('/market-data').on('connection', (socket) => serverSockets.push(socket));
  });
  afterAll(async () => {
    await server.close();
  });
  afterEach(() => {
    for (const client of clients.splice(0)) client.close();
    serverSockets.length = 0;
  });

  async function connect(): Promise<{ client: ClientSocket; server: ServerSocket; ws: WebSocket; tcp: { bytesRead: number } }> {
    const client = io(`${url}/market-data`, { transports: ['websocket'], forceNew: true, perMessageDeflate: { threshold: 0 } });
    clients.push(client);
    await new Promise<void>((resolve, reject) => {
      client.once('connect', resolve);
      client.once('connect_error', reject);
    });
    await eventually(() => serverSockets.length > 0);
    const socket = serverSockets[0];
    const ws = (socket.conn.transport as unknown as { socket: WebSocket }).socket;
    // engine.io-client's websocket transport holds ws; ws holds the TCP socket.
    const tcp = (client.io.engine.transport as unknown as { ws: { _socket: { bytesRead: number } } }).ws._socket;
    return { client, server: socket, ws, tcp };
  }

  it('compresses frames of 1 KB and more, and keeps no compressor once they are sent', async () => {
    const { client, server, ws, tcp } = await connect();
    expect(negotiatedDeflateOf(ws)).toBeDefined();
    const received: { n: number }[] = [];
    client.on('snapshot', (payload: { n: number }) => received.push(payload));
    for (const n of [1, 2]) {
      const before = tcp.bytesRead;
      server.emit('snapshot', bulky(n));
      await eventually(() => received.length === n);
      expect(tcp.bytesRead - before).toBeLessThan(2_048);
      await eventually(() => negotiatedDeflateOf(ws)?._deflate === null);
    }
    expect(received.map((payload) => payload.n)).toEqual([1, 2]);
  });

  it('sends md events uncompressed whatever their size', async () => {
    const { client, server, tcp } = await connect();
    let received = 0;
    client.on('md', () => received++);
    const before = tcp.bytesRead;
    server.emit('md', [bulky(1)]);
    await eventually(() => received === 1);
    expect(tcp.bytesRead - before).toBeGreaterThan(16_384);
  });

  it('reads compressed client messages, and keeps no decompressor once each is read', async () => {
    const { client, server, ws } = await connect();
    const received: { n: number }[] = [];
    server.on('bulky', (payload: { n: number }) => received.push(payload));
    for (const n of [1, 2]) {
      client.emit('bulky', bulky(n));
      await eventually(() => received.length === n);
      expect(received[n - 1]).toEqual(bulky(n));
      expect(negotiatedDeflateOf(ws)?._inflate).toBeNull();
    }
  });
});
