import { type IncomingMessage } from 'node:http';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Server, Socket as ServerSocket } from 'socket.io';
import { Manager } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listeningSocketIoServer } from '../../test/support/socket-io-server.js';
import { keepOnlyHandshakeRequest } from './handshake-request.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** A real Socket.IO server with the gateway's handshake-request trimming, and socket.io-client. */
describe('keepOnlyHandshakeRequest', () => {
  let server: Server;
  let url: string;
  const connected = new Map<string, ServerSocket[]>();
  /** Handshake requests opened so far, and those the garbage collector has taken since. */
  let opened = 0;
  const collected = new Set<number>();
  const collection = new FinalizationRegistry<number>((n) => collected.add(n));

  beforeAll(async () => {
    ({ server, url } = await listeningSocketIoServer());
    keepOnlyHandshakeRequest(server.engine);
    server.engine.on('initial_headers', (_headers: unknown, request: IncomingMessage) => collection.register(request, ++opened));
    server.engine.on('headers', (_headers: unknown, request: IncomingMessage & { _query: Record<string, string> }) => {
      if (request._query.sid !== undefined && request.headers.upgrade === 'websocket') collection.register(request, ++opened);
    });
    for (const name of ['/first', '/later']) {
      connected.set(name, []);
      server.of(name).on('connection', (socket) => connected.get(name)?.push(socket));
    }
  });
  afterAll(async () => {
    await server.close();
  });

  for (const transport of ['websocket', 'polling'] as const) {
    it(`gives a namespace opened later on the same ${transport} connection the handshake's headers and query`, async () => {
      for (const list of connected.values()) list.length = 0;
      const manager = new Manager(url, {
        transports: [transport],
        forceNew: true,
        query: { token: 'from-the-query' },
        extraHeaders: { authorization: 'Bearer from-a-header', 'x-forwarded-for': '203.0.113.7', 'user-agent': 'dashboard/1.0' },
      });
      try {
        const first = manager.socket('/first');
        await new Promise<void>((resolve) => first.once('connect', resolve));
        await new Promise((resolve) => setTimeout(resolve, 50));
        const later = manager.socket('/later');
        await new Promise<void>((resolve) => later.once('connect', resolve));
        const [a] = connected.get('/first') ?? [];
        const [b] = connected.get('/later') ?? [];
        expect(a?.conn).toBe(b?.conn);
        for (const socket of [a, b]) {
          expect(socket?.handshake.headers).toMatchObject({ authorization: 'Bearer from-a-header', 'x-forwarded-for': '203.0.113.7', 'user-agent': 'dashboard/1.0' });
          // The WebSocket upgrade's own headers are spent once the connection is open (polling kept its request's).
          if (transport === 'websocket') for (const spent of ['connection', 'upgrade', 'sec-websocket-key', 'sec-websocket-version', 'sec-websocket-extensions']) expect(socket?.handshake.headers).not.toHaveProperty(spent);
          expect(socket?.handshake.headers.host).toMatch(/^127\.0\.0\.1:/);
          expect(socket?.handshake.query).toMatchObject({ token: 'from-the-query', transport });
          expect(socket?.handshake.secure).toBe(false);
          expect(socket?.handshake.url).toMatch(/^\/socket\.io\/\?/);
        }
        // Neither the connection nor engine.io's upgrade response holds the HTTP request any more.
        expect(await collectedInTime(opened)).toBe(true);
      } finally {
        manager.engine.close();
      }
    });
  }

  it('lets go of the request that moved a polling connection to WebSocket', async () => {
    const manager = new Manager(url, { transports: ['polling', 'websocket'], forceNew: true });
    try {
      const before = opened;
      const upgraded = new Promise<void>((resolve) => manager.engine.once('upgrade', () => resolve()));
      manager.socket('/first');
      await upgraded;
      // The polling handshake, then the upgrade.
      expect(opened).toBe(before + 2);
      expect(await collectedInTime(opened)).toBe(true);
    } finally {
      manager.engine.close();
    }
  });

  async function collectedInTime(request: number): Promise<boolean> {
    for (let i = 0; i < 20 && !collected.has(request); i++) {
      gc();
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return collected.has(request);
  }
});
