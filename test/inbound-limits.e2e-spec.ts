import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Socket } from 'socket.io-client';
import { NAMESPACES, type AckResponse, type WireError } from '#libs/contracts';
import { connectClient, GatewayProcess, nextEvent, request, requestRaw, unchecked, type NamespaceSocket } from './support/gateway.js';
import { FULL_LICENCE, hsToken } from './support/tokens.js';

const LIMIT = 65_536;

function refusal(response: AckResponse<unknown>): WireError {
  if (response.ok) throw new Error(`expected a refusal, got ${JSON.stringify(response)}`);
  return response.error;
}

/** An array nested `levels` deep with `leaf` at the bottom: [[[…leaf…]]]. */
function nested(levels: number, leaf: unknown = 1): unknown {
  let value: unknown = leaf;
  for (let i = 0; i < levels; i++) value = [value];
  return value;
}

/**
 * Writes an EVENT packet as Socket.IO would (`2/ns,["event",json]`, or `5N-/ns,…` followed by N attachments) straight
 * to the connection: socket.io-client's own encoder recurses over the payload and cannot send what a hostile client
 * can. Sent without an ack id, so the answer is an `error` event.
 */
function emitRaw(socket: Socket, namespace: string, event: string, json: string, attachments: Buffer[] = []): void {
  const type = attachments.length > 0 ? `5${attachments.length}-` : '2';
  socket.io.engine.write(`${type}${namespace},${JSON.stringify([event]).slice(0, -1)},${json}]`);
  for (const attachment of attachments) socket.io.engine.write(attachment);
}

/** What the gateway answers to client input it cannot serve: a contract error, the connection kept, no crash. */
describe('client events held to the frame and nesting limits', () => {
  let gateway: GatewayProcess;
  let socket: NamespaceSocket<'/market-data'>;

  beforeAll(async () => {
    // Request limits out of the way: these tests send more requests per second than a dashboard would.
    gateway = await GatewayProcess.start({ ENGINE_TRANSPORT: 'simulator', RATE_LIMIT_REQUESTS: 'off', RATE_LIMIT_REQUEST_BURST: 'off', RATE_LIMIT_EVENTS: 'subscribe=off' });
    ({ socket } = await connectClient(gateway.url, NAMESPACES.marketData, { auth: { token: await hsToken({ sub: 'limits', lic: FULL_LICENCE }) } }));
  });
  afterAll(async () => {
    socket.close();
    await gateway.stop();
  });

  it('measures a binary event as a whole: one 256 KB attachment, or ten of 50 KB, is over the limit', async () => {
    const one = refusal(await requestRaw(socket, 'subscribe', { instruments: ['NASDAQ:AAPL'], channels: ['quote'], blob: Buffer.alloc(256 * 1024, 7) }));
    expect(one).toMatchObject({ code: 'INVALID_REQUEST', status: 400, details: { limit: LIMIT } });
    expect(one.message).toMatch(/^frame of \d+ bytes exceeds the limit of 65536 bytes$/);
    expect(Number(/frame of (\d+)/.exec(one.message)?.[1])).toBeGreaterThan(256 * 1024);

    const blobs = Array.from({ length: 10 }, () => Buffer.alloc(50 * 1024, 1));
    const ten = refusal(await requestRaw(socket, 'subscribe', { instruments: ['NASDAQ:AAPL'], channels: ['quote'], blobs }));
    expect(ten).toMatchObject({ code: 'INVALID_REQUEST', details: { limit: LIMIT } });
    expect(Number(/frame of (\d+)/.exec(ten.message)?.[1])).toBeGreaterThan(500 * 1024);

    // Without an ack the refusal is an `error` event; the connection goes on either way.
    const error = nextEvent<WireError>(socket, 'error');
    unchecked(socket).emit('ping', { blob: Buffer.alloc(100 * 1024) });
    expect(await error).toMatchObject({ code: 'INVALID_REQUEST', details: { limit: LIMIT } });
    expect(socket.connected).toBe(true);
    expect((await request(socket, 'ping', {})).ok).toBe(true);
  });

  it('serves a binary event under the limit as any other request (validation answers it)', async () => {
    const small = refusal(await requestRaw(socket, 'subscribe', { instruments: ['NASDAQ:AAPL'], channels: ['quote'], blob: Buffer.alloc(1024) }));
    expect(small.code).toBe('INVALID_REQUEST');
    expect(small.message).not.toMatch(/exceeds the limit/);
    expect(small.message).toMatch(/blob/);
  });

  it('refuses payloads nested deeper than 32 levels before validation, text or binary, and never answers INTERNAL', async () => {
    // 20,000 levels in 40 KB, as a hostile client sends it.
    let error = nextEvent<WireError>(socket, 'error');
    emitRaw(socket, NAMESPACES.marketData, 'subscribe', `{"instruments":${'['.repeat(20_000)}1${']'.repeat(20_000)},"channels":["quote"]}`);
    expect(await error).toMatchObject({ code: 'INVALID_REQUEST', status: 400, message: 'payload nests deeper than 32 levels', details: { maxDepth: 32 } });
    // The boundary: the payload object is level 1, so 31 arrays inside it are 32 levels and reach validation.
    expect(refusal(await requestRaw(socket, 'subscribe', { instruments: nested(31), channels: ['quote'] })).message).not.toMatch(/nests deeper/);
    expect(refusal(await requestRaw(socket, 'subscribe', { instruments: nested(32), channels: ['quote'] })).message).toBe('payload nests deeper than 32 levels');
    // Binary: the attachment placeholder sits at the bottom of the nesting, where Socket.IO's reconstruction recurses.
    error = nextEvent<WireError>(socket, 'error');
    emitRaw(socket, NAMESPACES.marketData, 'resync', `{"stream":${'['.repeat(20_000)}{"_placeholder":true,"num":0}${']'.repeat(20_000)}}`, [Buffer.from('x')]);
    expect(await error).toMatchObject({ code: 'INVALID_REQUEST', message: 'payload nests deeper than 32 levels' });
    expect(refusal(await requestRaw(socket, 'resync', { stream: nested(40, Buffer.from('x')) }))).toMatchObject({ code: 'INVALID_REQUEST', message: 'payload nests deeper than 32 levels' });
    // Objects nest as deep as arrays; brackets inside strings do not count.
    let object: unknown = 1;
    for (let i = 0; i < 2_000; i++) object = { a: object };
    expect(refusal(await requestRaw(socket, 'unsubscribe', object))).toMatchObject({ code: 'INVALID_REQUEST', message: 'payload nests deeper than 32 levels' });
    expect(refusal(await requestRaw(socket, 'unsubscribe', { instruments: ['[['.repeat(1_000)] })).message).not.toMatch(/nests deeper/);
    expect(socket.connected).toBe(true);
    expect((await request(socket, 'ping', {})).ok).toBe(true);
    expect(gateway.process.output).not.toMatch(/"level":"error"/);
  });

  it('answers an event the namespace does not serve with INVALID_REQUEST instead of leaving the ack waiting', async () => {
    expect(refusal(await requestRaw(socket, 'order:submit', {}))).toMatchObject({ code: 'INVALID_REQUEST', message: 'unknown event "order:submit" on /market-data' });
    expect(refusal(await requestRaw(socket, 'no-such-event', { a: 1 }))).toMatchObject({ code: 'INVALID_REQUEST' });
    const error = nextEvent<WireError>(socket, 'error');
    unchecked(socket).emit('constructor', { __proto__: { polluted: true } });
    expect(await error).toMatchObject({ code: 'INVALID_REQUEST', message: 'unknown event "constructor" on /market-data' });
    expect((await request(socket, 'ping', {})).ok).toBe(true);
    expect(await gateway.metric('tradewire_client_requests_total', { namespace: '/market-data', event: 'unknown', outcome: 'INVALID_REQUEST' })).toBeGreaterThanOrEqual(3);
  });

  it('keeps the gateway output JSON lines', () => {
    for (const line of gateway.process.output.split('\n').filter((l) => l.trim() !== '')) expect(() => JSON.parse(line) as unknown, line.slice(0, 200)).not.toThrow();
  });
});
