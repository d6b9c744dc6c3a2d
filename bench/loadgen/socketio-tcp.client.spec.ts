import type { Server, Socket as ServerSocket } from 'socket.io';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listeningSocketIoServer } from '../../test/support/socket-io-server.js';
import { eventually, sleep } from '../../test/support/polling.js';
import type { ClientHandlers } from './bench-client.js';
import { openSocketIoTcpClient } from './socketio-tcp.client.js';

/** permessage-deflate as the gateway negotiates it (libs/realtime, selective-deflate.ws-engine.ts). */
const GATEWAY_DEFLATE = { threshold: 1024, serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 10, clientMaxWindowBits: 10 };

/**
 * The TCP load-generator client against a real Socket.IO server set up as the gateway sets up its own: WebSocket only,
 * permessage-deflate offered and negotiated (frames from 1 KB compressed), a short heartbeat.
 */
describe('Socket.IO client over a plain TCP socket (bench lean-tcp)', () => {
  let server: Server;
  let url: string;
  const connected: ServerSocket[] = [];

  beforeAll(async () => {
    ({ server, url } = await listeningSocketIoServer({ transports: ['websocket'], perMessageDeflate: GATEWAY_DEFLATE, pingInterval: 50, pingTimeout: 200 }));
    server.of('/market-data').use((socket, next) => (socket.handshake.auth.token === 'good' ? next() : next(new Error('AUTH_INVALID'))));
    server.of('/market-data').on('connection', (socket) => {
      connected.push(socket);
      socket.emit('welcome', { node: 'spec' });
      socket.on('ping', (_request: unknown, ack: (response: unknown) => void) => ack({ ok: true, data: { pong: 1 } }));
    });
  });
  afterAll(async () => {
    await server.close();
  });

  function open(token: string) {
    const system: string[] = [];
    const closes: string[] = [];
    const handlers: ClientHandlers = {
      onMd: () => undefined,
      onMdText: () => undefined,
      onOrder: () => undefined,
      onClose: (_slot, reason) => closes.push(reason),
      onSystem: () => undefined,
      onSystemText: (_slot, text, from) => system.push(text.slice(from, -1)),
    };
    const client = openSocketIoTcpClient({ baseUrl: url, namespace: '/market-data', token, slot: 0, offerDeflate: true, compressAll: false, handlers });
    return { client, system, closes };
  }

  it('is welcomed, answers requests, keeps up the heartbeat and reads compressed and plain frames', async () => {
    const { client, system, closes } = await (async () => {
      const opened = open('good');
      await opened.client.welcomed;
      return opened;
    })();
    const socket = connected.at(-1);
    expect((socket?.conn.transport as unknown as { socket: { _extensions: Record<string, unknown> } }).socket._extensions['permessage-deflate']).toBeDefined();

    expect(await client.request('ping', {}, 1_000)).toEqual({ ok: true, data: { pong: 1 } });
    // Several heartbeats (every 50 ms, 200 ms to answer) go by without the server closing it.
    await sleep(400);
    expect(closes).toEqual([]);

    const large = { type: 'notice', message: 'y'.repeat(70_000) };
    socket?.emit('system', { type: 'notice', message: 'short' });
    socket?.emit('system', large);
    await eventually(() => system.length === 2);
    expect(system.map((payload) => JSON.parse(payload) as unknown)).toEqual([{ type: 'notice', message: 'short' }, large]);

    socket?.disconnect();
    await eventually(() => closes.length === 1);
  });

  it('rejects the welcome with the server refusal', async () => {
    const { client, closes } = open('bad');
    await expect(client.welcomed).rejects.toThrow('AUTH_INVALID');
    await eventually(() => closes.length === 1);
  });
});
