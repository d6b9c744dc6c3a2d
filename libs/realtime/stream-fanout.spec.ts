import type { Server, Socket as ServerSocket } from 'socket.io';
import { io, type Socket as ClientSocket } from 'socket.io-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { listeningSocketIoServer } from '../../test/support/socket-io-server.js';
import { eventually, sleep } from '../../test/support/polling.js';
import type { GatewaySocket } from './gateway-socket.js';
import { DEFAULT_SLOW_CLIENT_POLICY, STREAM_KINDS, StreamFanout, type FanoutMetrics } from './stream-fanout.js';

interface Message {
  stream: string;
  seq: number;
}

/**
 * The fan-out core against a real Socket.IO server and the real socket.io-client, without Nest: frames go through
 * engine.io and ws exactly as in the gateway.
 */
describe('StreamFanout', () => {
  let server: Server;
  let url: string;
  const serverSockets = new Map<string, ServerSocket>();
  const clients: ClientSocket[] = [];
  const slowActions: string[] = [];
  const resnapshots: string[] = [];
  let fanout: StreamFanout;

  /** What the fan-out recorded through its delivery recorder, and how often it asked for one. */
  const delivered = { recorders: 0, frames: 0, messages: 0, latencies: 0 };
  const metrics: FanoutMetrics = {
    subscriptionsChanged: () => undefined,
    deliveryRecorder: () => {
      delivered.recorders++;
      return {
        sent: (_bytes, messages) => {
          delivered.frames++;
          delivered.messages += messages;
        },
        latency: () => void delivered.latencies++,
      };
    },
    slowClient: (_namespace, action) => void slowActions.push(action),
  };

  const message = (stream: string, seq: number) => JSON.stringify({ stream, type: 'update', seq, ts: Date.now(), data: { n: seq } });

  async function connect(): Promise<{ socket: GatewaySocket; frames: Message[][] }> {
    const client = io(`${url}/market-data`, { transports: ['websocket'], forceNew: true });
    clients.push(client);
    const frames: Message[][] = [];
    client.on('md', (batch: Message[]) => frames.push(batch));
    await new Promise<void>((resolve, reject) => {
      client.once('connect', resolve);
      client.once('connect_error', reject);
    });
    await eventually(() => serverSockets.has(client.id ?? ''));
    return { socket: serverSockets.get(client.id ?? '') as unknown as GatewaySocket, frames };
  }

  beforeAll(async () => {
    ({ server, url } = await listeningSocketIoServer());
    server.of('/market-data').on('connection', (socket) => serverSockets.set(socket.id, socket));
  });
  afterAll(async () => {
    await server.close();
  });
  afterEach(() => {
    for (const client of clients.splice(0)) client.close();
    slowActions.length = 0;
    resnapshots.length = 0;
    Object.assign(delivered, { recorders: 0, frames: 0, messages: 0, latencies: 0 });
  });

  function makeFanout(maxPendingPerStream = DEFAULT_SLOW_CLIENT_POLICY.maxPendingPerStream): StreamFanout {
    fanout = new StreamFanout({
      namespace: '/market-data',
      event: 'md',
      metrics,
      slowClients: { ...DEFAULT_SLOW_CLIENT_POLICY, maxPendingPerStream },
      resnapshot: (_socket, stream) => void resnapshots.push(stream),
    });
    return fanout;
  }

  it('with throttleMs 0 sends every update, in order, what arrived in one turn sharing one frame', async () => {
    makeFanout();
    const { socket, frames } = await connect();
    fanout.subscribe(socket, 'quote:A', 0, STREAM_KINDS.state);
    fanout.subscribe(socket, 'trade:A', 0, STREAM_KINDS.events);
    for (let seq = 1; seq <= 5; seq++) {
      fanout.publish('quote:A', message('quote:A', seq), Date.now());
      fanout.publish('trade:A', message('trade:A', seq), Date.now());
    }
    await eventually(() => frames.flat().length === 10);
    expect(frames).toHaveLength(1);
    expect(frames[0]?.filter((m) => m.stream === 'quote:A').map((m) => m.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(frames[0]?.filter((m) => m.stream === 'trade:A').map((m) => m.seq)).toEqual([1, 2, 3, 4, 5]);
  });

  it('wakes an idle client on an update of any of its streams, also after it left another stream', async () => {
    makeFanout();
    const { socket, frames } = await connect();
    const other = await connect(); // keeps quote:B alive after the first client leaves it
    fanout.subscribe(other.socket, 'quote:B', 0, STREAM_KINDS.state);
    for (const stream of ['quote:A', 'quote:B', 'quote:C']) fanout.subscribe(socket, stream, 0, STREAM_KINDS.state);
    fanout.publish('quote:A', message('quote:A', 1), Date.now());
    await eventually(() => frames.length === 1);
    // Idle again (parked on A, B and C). It leaves B; an update of B must not consume its wake-up.
    await sleep(20);
    fanout.unsubscribe(socket, 'quote:B');
    fanout.publish('quote:B', message('quote:B', 1), Date.now());
    await eventually(() => other.frames.length === 1);
    fanout.publish('quote:C', message('quote:C', 1), Date.now());
    await eventually(() => frames.length === 2);
    expect(frames[1]).toEqual([expect.objectContaining({ stream: 'quote:C', seq: 1 })]);
    // And again, later, from the first stream.
    await sleep(20);
    fanout.publish('quote:A', message('quote:A', 2), Date.now());
    await eventually(() => frames.length === 3);
    expect(frames[2]).toEqual([expect.objectContaining({ stream: 'quote:A', seq: 2 })]);
  });

  it('flushes a throttled client at most once per interval, with the latest quote and every trade', async () => {
    makeFanout();
    const { socket, frames } = await connect();
    const throttleMs = 150;
    fanout.subscribe(socket, 'quote:A', throttleMs, STREAM_KINDS.state);
    fanout.subscribe(socket, 'trade:A', throttleMs, STREAM_KINDS.events);
    const started = Date.now();
    for (let seq = 1; seq <= 30; seq++) {
      fanout.publish('quote:A', message('quote:A', seq), Date.now());
      fanout.publish('trade:A', message('trade:A', seq), Date.now());
      await sleep(10);
    }
    await eventually(() => frames.flat().some((m) => m.stream === 'quote:A' && m.seq === 30));
    const elapsed = Date.now() - started;
    const trades = frames.flat().filter((m) => m.stream === 'trade:A');
    expect(trades.map((m) => m.seq)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    const quotes = frames.flat().filter((m) => m.stream === 'quote:A');
    expect(quotes.length).toBeLessThanOrEqual(Math.ceil(elapsed / throttleMs) + 1);
    expect(quotes.map((m) => m.seq)).toEqual([...quotes.map((m) => m.seq)].sort((a, b) => a - b));
    for (const frame of frames) expect(frame.filter((m) => m.stream === 'quote:A').length).toBeLessThanOrEqual(1);
    // Idle now: it parks, and the next update (after the interval) still reaches it.
    await sleep(throttleMs * 2);
    const before = frames.length;
    fanout.publish('quote:A', message('quote:A', 31), Date.now());
    await eventually(() => frames.length > before);
    expect(frames.at(-1)).toEqual([expect.objectContaining({ stream: 'quote:A', seq: 31 })]);
  });

  it('sends a snapshot first, in place of the updates it covers, whatever the throttle', async () => {
    makeFanout();
    const { socket, frames } = await connect();
    fanout.subscribe(socket, 'trade:A', 1_000, STREAM_KINDS.events);
    fanout.publish('trade:A', message('trade:A', 1), Date.now());
    await eventually(() => frames.length === 1); // the first flush is due at once
    fanout.publish('trade:A', message('trade:A', 2), Date.now()); // waits for the interval
    fanout.sendSnapshot(socket, 'trade:A', JSON.stringify({ stream: 'trade:A', type: 'snapshot', seq: 2 }), Date.now());
    await eventually(() => frames.length === 2);
    expect(frames[1]).toEqual([expect.objectContaining({ stream: 'trade:A', type: 'snapshot', seq: 2 })]);
  });

  it('past what a stream keeps, skips the oldest trades (a seq gap) and sends books a fresh snapshot instead', async () => {
    makeFanout(8);
    const { socket, frames } = await connect();
    fanout.subscribe(socket, 'trade:A', 300, STREAM_KINDS.events);
    fanout.subscribe(socket, 'book:A', 300, STREAM_KINDS.deltas);
    fanout.publish('trade:A', message('trade:A', 1), Date.now());
    fanout.publish('book:A', message('book:A', 1), Date.now());
    await eventually(() => frames.length === 1);
    for (let seq = 2; seq <= 21; seq++) {
      fanout.publish('trade:A', message('trade:A', seq), Date.now());
      fanout.publish('book:A', message('book:A', seq), Date.now());
    }
    await eventually(() => resnapshots.length === 1 && frames.length === 2);
    expect(frames[1]?.map((m) => `${m.stream}#${m.seq}`)).toEqual(Array.from({ length: 8 }, (_, i) => `trade:A#${14 + i}`));
    expect(resnapshots).toEqual(['book:A']);
    expect(slowActions).toEqual(expect.arrayContaining(['dropped', 'resync']));
  });

  it('serializes a lazy update once, when a client is first sent it, and only the latest of a throttled quote stream', async () => {
    makeFanout();
    const a = await connect();
    const b = await connect();
    const serialized: number[] = [];
    const lazy = (stream: string, seq: number) => () => {
      serialized.push(seq);
      return message(stream, seq);
    };
    fanout.subscribe(a.socket, 'quote:A', 0, STREAM_KINDS.state);
    fanout.subscribe(b.socket, 'quote:A', 0, STREAM_KINDS.state);
    fanout.publish('quote:A', lazy('quote:A', 1), Date.now());
    await eventually(() => a.frames.length === 1 && b.frames.length === 1);
    expect(serialized).toEqual([1]); // two clients, one serialization
    expect(a.frames[0]).toEqual([expect.objectContaining({ stream: 'quote:A', seq: 1 })]);

    // Throttled: the quotes that arrive within one interval conflate, and only the one sent is ever serialized.
    serialized.length = 0;
    const c = await connect();
    fanout.subscribe(c.socket, 'quote:T', 200, STREAM_KINDS.state);
    fanout.publish('quote:T', lazy('quote:T', 1), Date.now());
    await eventually(() => c.frames.length === 1);
    for (let seq = 2; seq <= 20; seq++) fanout.publish('quote:T', lazy('quote:T', seq), Date.now());
    await eventually(() => c.frames.length === 2);
    expect(c.frames[1]).toEqual([expect.objectContaining({ stream: 'quote:T', seq: 20 })]);
    expect(serialized).toEqual([1, 20]);
  });

  it('resolves its delivery recorder once and records every frame it writes through it', async () => {
    makeFanout();
    expect(delivered.recorders).toBe(1);
    const a = await connect();
    const b = await connect();
    fanout.subscribe(a.socket, 'quote:A', 0, STREAM_KINDS.state);
    fanout.subscribe(b.socket, 'trade:A', 0, STREAM_KINDS.events);
    fanout.subscribe(b.socket, 'quote:A', 0, STREAM_KINDS.state);
    fanout.publish('quote:A', message('quote:A', 1), Date.now());
    fanout.publish('trade:A', message('trade:A', 1), Date.now());
    await eventually(() => a.frames.length === 1 && b.frames.length === 1);
    expect(delivered).toEqual({ recorders: 1, frames: 2, messages: 2, latencies: 2 });
  });
});

describe('StreamFanout over permessage-deflate', () => {
  /** A 16 KB frame that deflates to a few hundred bytes: what crosses the wire tells whether it was compressed. */
  const bulky = (seq: number) => JSON.stringify({ stream: 'quote:Z', type: 'update', seq, ts: Date.now(), data: { note: 'x'.repeat(16_384) } });

  async function bytesReadForOneFrame(deflate: boolean): Promise<number> {
    const { server, url } = await listeningSocketIoServer({ perMessageDeflate: { threshold: 0 } });
    const connected = new Promise<ServerSocket>((resolve) => server.of('/market-data').on('connection', resolve));
    const client = io(`${url}/market-data`, { transports: ['websocket'], forceNew: true });
    try {
      const socket = (await connected) as unknown as GatewaySocket;
      const received: unknown[] = [];
      client.on('md', (batch: unknown[]) => received.push(...batch));
      const metrics: FanoutMetrics = {
        subscriptionsChanged: () => undefined,
        deliveryRecorder: () => ({ sent: () => undefined, latency: () => undefined }),
        slowClient: () => undefined,
      };
      const fanout = new StreamFanout({ namespace: '/market-data', event: 'md', metrics, deflate });
      fanout.subscribe(socket, 'quote:Z', 0, STREAM_KINDS.state);
      // engine.io-client's websocket transport holds ws; ws holds the TCP socket.
      const tcp = (client.io.engine.transport as unknown as { ws: { _socket: { bytesRead: number } } }).ws._socket;
      const before = tcp.bytesRead;
      fanout.publish('quote:Z', bulky(1), Date.now());
      await eventually(() => received.length === 1);
      return tcp.bytesRead - before;
    } finally {
      client.close();
      await server.close();
    }
  }

  it('sends md frames uncompressed unless told to deflate them, where the client negotiated permessage-deflate', async () => {
    const plain = await bytesReadForOneFrame(false);
    const deflated = await bytesReadForOneFrame(true);
    expect(plain).toBeGreaterThan(16_384);
    expect(deflated).toBeLessThan(2_048);
  });
});
