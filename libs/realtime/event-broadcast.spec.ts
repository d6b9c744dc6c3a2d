import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { io, type Socket as ClientSocket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SystemPayload } from '#libs/contracts';
import { writeEvent, writeEventToAll } from './event-broadcast.js';
import type { GatewayNamespace, GatewaySocket } from './gateway-socket.js';

/** A real Socket.IO server and socket.io-client, over WebSocket and long-polling: the frames are Socket.IO's own. */
describe('writeEvent', () => {
  let http: HttpServer;
  let server: Server;
  let url: string;
  const clients: ClientSocket[] = [];

  beforeAll(async () => {
    http = createServer();
    server = new Server(http);
    server.of('/portfolio');
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    for (const client of clients) client.close();
    await server.close();
  });

  const namespace = (): GatewayNamespace => server.of('/portfolio') as unknown as GatewayNamespace;

  async function connect(transport: 'websocket' | 'polling'): Promise<{ client: ClientSocket; got: SystemPayload[] }> {
    const client = io(`${url}/portfolio`, { transports: [transport], forceNew: true });
    clients.push(client);
    const got: SystemPayload[] = [];
    client.on('system', (payload: SystemPayload) => got.push(payload));
    await new Promise<void>((resolve, reject) => {
      client.once('connect', resolve);
      client.once('connect_error', reject);
    });
    return { client, got };
  }

  async function until(condition: () => boolean): Promise<void> {
    for (let i = 0; i < 400 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(condition()).toBe(true);
  }

  it('delivers the event to every connected socket, WebSocket and long-polling alike, as socket.emit would', async () => {
    const ws = await connect('websocket');
    const polling = await connect('polling');
    const notice: SystemPayload = { type: 'notice', id: 'n-1', message: 'LSE feed degraded — «ünïcode»', severity: 'warning' };
    expect(writeEventToAll(namespace(), 'system', notice)).toBe(2);
    await until(() => ws.got.length === 1 && polling.got.length === 1);
    expect(ws.got).toEqual([notice]);
    expect(polling.got).toEqual([notice]);
  });

  it('writes only to the sockets it is given, and skips one that has disconnected', async () => {
    const first = await connect('websocket');
    const second = await connect('websocket');
    await until(() => namespace().sockets.size >= 4);
    const byClient = (client: ClientSocket): GatewaySocket => {
      const socket = namespace().sockets.get(client.id ?? '');
      if (!socket) throw new Error('no server socket');
      return socket;
    };
    const firstSocket = byClient(first.client);
    const secondSocket = byClient(second.client);
    second.client.close();
    await until(() => !secondSocket.connected);
    const notice: SystemPayload = { type: 'notice', id: 'n-2', message: 'maintenance at 22:00' };
    expect(writeEvent('/portfolio', [firstSocket, secondSocket], 'system', notice)).toBe(1);
    await until(() => first.got.length === 1);
    expect(first.got).toEqual([notice]);
    expect(second.got).toEqual([]);
  });
});
