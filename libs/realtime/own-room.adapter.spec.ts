import type { Server, Socket as ServerSocket } from 'socket.io';
import { io, type Socket as ClientSocket } from 'socket.io-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { listeningSocketIoServer } from '../../test/support/socket-io-server.js';
import { OwnRoomAdapter } from './own-room.adapter.js';

/** A real Socket.IO server with OwnRoomAdapter and socket.io-client: rooms behave as with the in-memory adapter. */
describe('OwnRoomAdapter', () => {
  let server: Server;
  let url: string;
  const serverSockets: ServerSocket[] = [];
  const clients: ClientSocket[] = [];

  beforeAll(async () => {
    ({ server, url } = await listeningSocketIoServer({ transports: ['websocket'], adapter: OwnRoomAdapter }));
    server.of('/orders').on('connection', (socket) => serverSockets.push(socket));
  });
  afterAll(async () => {
    await server.close();
  });
  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    serverSockets.length = 0;
    await until(() => server.of('/orders').sockets.size === 0);
  });

  async function until(condition: () => boolean): Promise<void> {
    for (let i = 0; i < 200 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(condition()).toBe(true);
  }

  async function connectThree(): Promise<{ client: ClientSocket; socket: ServerSocket; got: string[] }[]> {
    const out: { client: ClientSocket; socket: ServerSocket; got: string[] }[] = [];
    for (let i = 0; i < 3; i++) {
      const client = io(`${url}/orders`, { transports: ['websocket'], forceNew: true });
      clients.push(client);
      const got: string[] = [];
      client.on('note', (text: string) => got.push(text));
      await new Promise<void>((resolve, reject) => {
        client.once('connect', resolve);
        client.once('connect_error', reject);
      });
      await until(() => serverSockets.length === i + 1);
      out.push({ client, socket: serverSockets[i], got });
    }
    return out;
  }

  /** Lets emitted notes arrive: a round trip on every client. */
  async function settle(): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }

  it('stores no room for a socket in its own only, and answers for it as the in-memory adapter does', async () => {
    const [a, b, c] = await connectThree();
    const nsp = server.of('/orders');
    const adapter = nsp.adapter;
    expect(adapter.rooms.size).toBe(0);
    expect(adapter.sids.size).toBe(3);
    expect(a.socket.rooms).toEqual(new Set([a.socket.id]));
    nsp.emit('note', 'everyone');
    nsp.to(b.socket.id).emit('note', 'b only');
    nsp.except(b.socket.id).emit('note', 'all but b');
    nsp.to([a.socket.id, c.socket.id]).except(c.socket.id).emit('note', 'a via rooms');
    await settle();
    expect(a.got).toEqual(['everyone', 'all but b', 'a via rooms']);
    expect(b.got).toEqual(['everyone', 'b only']);
    expect(c.got).toEqual(['everyone', 'all but b']);
    expect((await nsp.in(c.socket.id).fetchSockets()).map((s) => s.id)).toEqual([c.socket.id]);
    expect((await nsp.fetchSockets()).length).toBe(3);
    expect([...(await adapter.sockets(new Set([a.socket.id])))]).toEqual([a.socket.id]);
  });

  it('stores the rooms of a socket that joins another, and of one whose id becomes someone else’s room', async () => {
    const [a, b, c] = await connectThree();
    const nsp = server.of('/orders');
    await a.socket.join('desk');
    expect(a.socket.rooms).toEqual(new Set([a.socket.id, 'desk']));
    // The in-memory adapter's own layout from here on.
    expect(nsp.adapter.rooms.get(a.socket.id)).toEqual(new Set([a.socket.id]));
    await c.socket.join(b.socket.id);
    expect(nsp.adapter.rooms.get(b.socket.id)).toEqual(new Set([b.socket.id, c.socket.id]));
    nsp.to('desk').emit('note', 'desk');
    nsp.to(b.socket.id).emit('note', 'b and c');
    await settle();
    expect(a.got).toEqual(['desk']);
    expect(b.got).toEqual(['b and c']);
    expect(c.got).toEqual(['b and c']);
    nsp.in(b.socket.id).socketsLeave(b.socket.id);
    await c.socket.leave('nowhere');
    nsp.to(b.socket.id).emit('note', 'nobody');
    await settle();
    expect(b.got).toEqual(['b and c']);
    expect(c.got).toEqual(['b and c']);
    nsp.in(a.socket.id).socketsJoin('late');
    expect(a.socket.rooms.has('late')).toBe(true);
  });

  it('forgets a socket that leaves', async () => {
    const [a] = await connectThree();
    const nsp = server.of('/orders');
    await a.socket.join('desk');
    for (const client of clients) client.close();
    await until(() => nsp.sockets.size === 0);
    expect(nsp.adapter.sids.size).toBe(0);
    expect(nsp.adapter.rooms.size).toBe(0);
    expect(nsp.adapter.rooms.has(a.socket.id)).toBe(false);
  });
});
