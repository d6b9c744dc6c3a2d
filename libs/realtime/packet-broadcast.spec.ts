import { createRequire } from 'node:module';
import type { Server, Socket as ServerSocket } from 'socket.io';
import type { WebSocket } from 'ws';
import { io, type Socket as ClientSocket } from 'socket.io-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SystemPayload } from '#libs/contracts';
import { listeningSocketIoServer } from '../../test/support/socket-io-server.js';
import { eventually } from '../../test/support/polling.js';
import type { GatewaySocket } from './gateway-socket.js';
import { broadcastEvent, broadcastInProgress, frameSenderOf, unmaskedTextFrame } from './packet-broadcast.js';
import { negotiatedDeflateOf, perMessageDeflateOptions } from './selective-deflate.ws-engine.js';

/** ws's own framing, which unmaskedTextFrame must match byte for byte (ws's CommonJS entry exports it). */
const { Sender } = createRequire(import.meta.url)('ws') as {
  Sender: { frame(data: Buffer, options: { fin: boolean; opcode: number; mask: boolean; readOnly: boolean; rsv1: boolean }): Buffer[] };
};

const NOTICE: SystemPayload = { type: 'notice', id: 'n-1', message: 'LSE feed degraded', severity: 'warning' };

describe('unmaskedTextFrame', () => {
  it.each([0, 5, 125, 126, 65_535, 65_536, 70_000])('frames %i bytes as ws does', (length) => {
    const payload = Buffer.alloc(length, 'x');
    const expected = Buffer.concat(Sender.frame(payload, { fin: true, opcode: 1, mask: false, readOnly: false, rsv1: false }));
    expect(unmaskedTextFrame(payload).equals(expected)).toBe(true);
  });
});

/** A real Socket.IO server with permessage-deflate as the gateway configures it, and socket.io-client. */
describe('broadcastEvent', () => {
  let server: Server;
  let url: string;
  const serverSockets = new Map<string, ServerSocket>();
  const clients: ClientSocket[] = [];

  beforeAll(async () => {
    ({ server, url } = await listeningSocketIoServer({ perMessageDeflate: perMessageDeflateOptions(1_000_000) }));
    for (const name of ['/market-data', '/orders']) server.of(name).on('connection', (socket) => serverSockets.set(socket.id, socket));
  });
  afterAll(async () => {
    await server.close();
  });
  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    await eventually(() => server.of('/market-data').sockets.size + server.of('/orders').sockets.size === 0);
    serverSockets.clear();
  });

  /** A connected client and the server's socket for it; `events` records what it receives, in order. */
  async function connect(namespace: string, transport: 'websocket' | 'polling'): Promise<{ client: ClientSocket; socket: GatewaySocket; events: [string, unknown][] }> {
    const client = io(`${url}${namespace}`, { transports: [transport], forceNew: true });
    clients.push(client);
    const events: [string, unknown][] = [];
    client.onAny((event: string, payload: unknown) => events.push([event, payload]));
    client.on('disconnect', (reason) => events.push(['disconnect', reason]));
    await new Promise<void>((resolve, reject) => {
      client.once('connect', resolve);
      client.once('connect_error', reject);
    });
    const id = client.id ?? '';
    await eventually(() => serverSockets.has(id));
    // The spec's server sockets carry no gateway data; broadcastEvent reads only the transport and the namespace.
    return { client, socket: serverSockets.get(id) as unknown as GatewaySocket, events };
  }

  it('writes the event as emit would to WebSocket (deflate negotiated) and polling clients of every namespace', async () => {
    const md = await connect('/market-data', 'websocket');
    const orders = await connect('/orders', 'websocket');
    const polling = await connect('/market-data', 'polling');
    const ws = (md.socket.conn.transport as unknown as { socket: WebSocket }).socket;
    expect(negotiatedDeflateOf(ws)).toBeDefined();
    expect(frameSenderOf(ws)).toBeDefined();

    const written = await broadcastEvent([md.socket, orders.socket, polling.socket], 'system', NOTICE);

    expect(written).toBe(3);
    for (const { events } of [md, orders, polling]) await eventually(() => events.length === 1);
    for (const { events } of [md, orders, polling]) expect(events).toEqual([['system', NOTICE]]);
  });

  it('leaves out sockets that disconnected and counts only those written to', async () => {
    const gone = await connect('/market-data', 'websocket');
    const staying = await connect('/market-data', 'websocket');
    gone.socket.disconnect();
    await eventually(() => gone.events.some(([event]) => event === 'disconnect'));

    expect(await broadcastEvent([gone.socket, staying.socket], 'system', NOTICE)).toBe(1);
    await eventually(() => staying.events.length === 1);
    expect(gone.events.filter(([event]) => event === 'system')).toEqual([]);
  });

  it('keeps each connection in order: after a compressed frame still being deflated, and before a later DISCONNECT', async () => {
    const { socket, events } = await connect('/market-data', 'websocket');
    // Over the 1 KB threshold, so ws deflates it on the thread pool and holds what follows in its queue meanwhile.
    const large = 'x'.repeat(64 * 1024);
    socket.emit('system', { type: 'notice', message: large });
    expect(frameSenderOf((socket.conn.transport as unknown as { socket: object }).socket)?._state).not.toBe(0);

    await broadcastEvent([socket], 'system', NOTICE);
    socket.disconnect();

    await eventually(() => events.length === 3);
    expect(events.map(([event, payload]) => (event === 'system' ? (payload as SystemPayload).message.length : event))).toEqual([large.length, NOTICE.message.length, 'disconnect']);
  });

  it('queues frames behind a client that stops reading, each whole and in order once it reads again', async () => {
    const { client, socket, events } = await connect('/market-data', 'websocket');
    // The client stops reading: the loopback's buffers fill, and the frames after that wait in Node's stream.
    const clientTcp = (client.io.engine.transport as unknown as { ws: { _socket: { pause(): void; resume(): void } } }).ws._socket;
    clientTcp.pause();
    const serverTcp = (socket.conn.transport as unknown as { socket: { _socket: { writableLength: number } } }).socket._socket;
    const notices = Array.from({ length: 64 }, (_, n): SystemPayload => ({ type: 'notice', id: `n-${n}`, message: `${n}:${'x'.repeat(256 * 1024)}`, severity: 'info' }));
    for (const notice of notices) await broadcastEvent([socket], 'system', notice);
    expect(serverTcp.writableLength).toBeGreaterThan(0);

    clientTcp.resume();
    await eventually(() => events.length === notices.length, 10_000);
    expect(events.map(([, payload]) => payload)).toEqual(notices);
  });

  it('reaches thousands of connections over several turns of the loop, each once', async () => {
    const many = await Promise.all(Array.from({ length: 40 }, () => connect('/orders', 'websocket')));
    // The same sockets listed many times over: more writes than one turn makes, each a separate frame on its connection.
    const repeated = Array.from({ length: 30 }, () => many.map(({ socket }) => socket)).flat();

    expect(broadcastInProgress()).toBe(false);
    const writing = broadcastEvent(repeated, 'system', NOTICE);
    // Until its last turn, background work that can wait (seat renewals) sees it under way.
    expect(broadcastInProgress()).toBe(true);
    expect(await writing).toBe(1_200);
    expect(broadcastInProgress()).toBe(false);
    await eventually(() => many.every(({ events }) => events.length === 30));
    expect(new Set(many.flatMap(({ events }) => events.map(([, payload]) => JSON.stringify(payload))))).toEqual(new Set([JSON.stringify(NOTICE)]));
  });
});
