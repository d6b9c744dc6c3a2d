import { EventEmitter } from 'node:events';
import type { Server, Socket as ServerSocket } from 'socket.io';
import { io, type Socket as ClientSocket } from 'socket.io-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { listeningSocketIoServer } from '../../test/support/socket-io-server.js';
import { compactIdleConnection, compactListenerTable } from './idle-connection.js';
import { negotiatedDeflateOf, perMessageDeflateOptions, SelectiveDeflateWsEngine } from './selective-deflate.ws-engine.js';

type Internals = Record<string, unknown>;
const internals = (value: unknown) => value as Internals;
const eventsOf = (emitter: unknown) => internals(emitter)._events as Record<string | symbol, unknown>;

describe('compactListenerTable', () => {
  it('keeps every listener, in order, and EventEmitter works on as before', () => {
    const emitter = new EventEmitter();
    const calls: string[] = [];
    const first = () => calls.push('first');
    emitter.on('close', first);
    emitter.on('close', () => calls.push('second'));
    emitter.on('close', () => calls.push('third'));
    emitter.once('error', () => calls.push('error once'));
    const kSymbol = Symbol('k');
    emitter.on(kSymbol, () => calls.push('symbol'));
    const names = emitter.eventNames();
    compactListenerTable(emitter);
    expect(emitter.eventNames()).toEqual(names);
    // No inherited properties: an event nobody listens to finds nothing, whatever its name.
    for (const name of ['constructor', 'toString', 'hasOwnProperty', '__proto__']) expect(emitter.listenerCount(name)).toBe(0);
    expect(Object.getPrototypeOf(Object.getPrototypeOf(eventsOf(emitter)))).toBeNull();
    emitter.emit('close');
    emitter.emit('error', new Error('x'));
    // The once listener went with its first call: an unheard error throws, as ever.
    expect(() => emitter.emit('error', new Error('y'))).toThrow('y');
    emitter.emit(kSymbol);
    expect(calls).toEqual(['first', 'second', 'third', 'error once', 'symbol']);
    emitter.off('close', first);
    emitter.on('close', () => calls.push('fourth'));
    calls.length = 0;
    emitter.emit('close');
    expect(calls).toEqual(['second', 'third', 'fourth']);
    emitter.removeAllListeners('close');
    expect(emitter.listenerCount('close')).toBe(0);
  });

  it('leaves an emitter without a table alone', () => {
    expect(() => compactListenerTable(undefined)).not.toThrow();
    expect(() => compactListenerTable({})).not.toThrow();
  });
});

/**
 * Against a real Socket.IO server with the gateway's permessage-deflate and a client that, like a browser, compresses
 * what it sends: the fields compactIdleConnection rewrites are where it expects them (a library upgrade that moves
 * them fails here), and the connection behaves as before afterwards.
 */
describe('compactIdleConnection', () => {
  let server: Server;
  let url: string;
  const serverSockets: ServerSocket[] = [];
  const clients: ClientSocket[] = [];
  const admitted: string[] = [];

  beforeAll(async () => {
    ({ server, url } = await listeningSocketIoServer({ transports: ['websocket', 'polling'], maxHttpBufferSize: 1_000_000, perMessageDeflate: perMessageDeflateOptions(1_000_000), wsEngine: SelectiveDeflateWsEngine }));
    server.of('/orders').on('connection', (socket) => {
      socket.use((packet, next) => {
        admitted.push(String(packet[0]));
        next();
      });
      socket.on('echo', (payload: unknown, ack: (value: unknown) => void) => ack(payload));
      serverSockets.push(socket);
      compactIdleConnection(socket);
    });
  });
  afterAll(async () => {
    await server.close();
  });
  afterEach(() => {
    for (const client of clients.splice(0)) client.close();
    serverSockets.length = 0;
    admitted.length = 0;
  });

  async function connect(transports: ('websocket' | 'polling')[] = ['websocket']): Promise<{ client: ClientSocket; socket: ServerSocket }> {
    const client = io(`${url}/orders`, { transports, forceNew: true, perMessageDeflate: { threshold: 0 } });
    clients.push(client);
    await new Promise<void>((resolve, reject) => {
      client.once('connect', resolve);
      client.once('connect_error', reject);
    });
    for (let i = 0; i < 100 && serverSockets.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    return { client, socket: serverSockets[serverSockets.length - 1] };
  }

  it('finds the fields it compacts where Socket.IO, engine.io and ws keep them', async () => {
    const { socket } = await connect();
    const conn = internals(socket.conn);
    const transport = internals(conn.transport);
    const ws = internals(transport.socket);
    expect(Array.isArray(internals(socket).fns)).toBe(true);
    expect(internals(socket).fns).toHaveLength(1);
    expect(Array.isArray(conn.cleanupFn)).toBe(true);
    expect(Array.isArray(conn.sentCallbackFn)).toBe(true);
    expect(Array.isArray(internals(ws._receiver)._buffers)).toBe(true);
    for (const emitter of [socket, socket.conn, transport, ws]) expect(Object.getPrototypeOf(eventsOf(emitter))).not.toBeNull();
    const deflate = negotiatedDeflateOf(transport.socket as never) as unknown as Internals;
    expect(deflate.params).toMatchObject({ server_no_context_takeover: true, client_no_context_takeover: true });
    expect(Object.isFrozen(deflate.params)).toBe(true);
    expect(Object.isFrozen(deflate._options)).toBe(true);
    expect(deflate._options).toMatchObject({ threshold: 1024, isServer: true, maxPayload: 1_000_000 });
  });

  it('shares one copy of the negotiated deflate parameters and options between connections', async () => {
    const a = await connect();
    const b = await connect();
    const deflateOf = (socket: ServerSocket) => negotiatedDeflateOf(internals(internals(socket.conn).transport).socket as never) as unknown as Internals;
    expect(deflateOf(a.socket).params).toBe(deflateOf(b.socket).params);
    expect(deflateOf(a.socket)._options).toBe(deflateOf(b.socket)._options);
  });

  it('leaves each handshake its own time (a shared string only where the text is equal)', async () => {
    const a = await connect();
    const b = await connect();
    for (const { socket } of [a, b]) {
      // Socket.IO's text of the time it stamped as `issued` (the same millisecond, or the one before).
      expect(Math.abs(new Date(socket.handshake.time).getTime() - Math.floor(socket.handshake.issued / 1000) * 1000)).toBeLessThanOrEqual(1000);
    }
  });

  it('serves requests, middlewares, compressed messages both ways and the disconnect as before', async () => {
    const { client, socket } = await connect();
    // 16 KB from a client compressing everything: the server inflates it with the shared parameters.
    const bulky = { note: 'x'.repeat(16_384) };
    await expect(client.timeout(2_000).emitWithAck('echo', bulky)).resolves.toEqual(bulky);
    expect(admitted).toEqual(['echo']);
    const closed = new Promise<string>((resolve) => socket.once('disconnect', resolve));
    const large = { note: 'y'.repeat(8_192) };
    const received = new Promise<unknown>((resolve) => client.once('snapshot', resolve));
    socket.emit('snapshot', large);
    await expect(received).resolves.toEqual(large);
    client.close();
    await expect(closed).resolves.toBe('client namespace disconnect');
  });

  it('leaves a long-polling connection working, and its upgrade to WebSocket', async () => {
    const { client, socket } = await connect(['polling', 'websocket']);
    await expect(client.timeout(2_000).emitWithAck('echo', { n: 1 })).resolves.toEqual({ n: 1 });
    for (let i = 0; i < 200 && socket.conn.transport.name !== 'websocket'; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(socket.conn.transport.name).toBe('websocket');
    await expect(client.timeout(2_000).emitWithAck('echo', { n: 2 })).resolves.toEqual({ n: 2 });
  });
});
