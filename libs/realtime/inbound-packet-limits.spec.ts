import { describe, expect, it } from 'vitest';
import { Encoder, PacketType, type Packet } from 'socket.io-parser';
import { jsonNestingExceeds, limitedSocketParser, RefusedInboundEvent } from './inbound-packet-limits.js';

/** Encodes `packet` as a client would and feeds every part to a fresh limited decoder; returns what it decoded. */
function roundTrip(packet: Packet, maxFrameBytes = 1_000): Packet[] {
  const { Decoder } = limitedSocketParser({ maxFrameBytes });
  const decoder = new Decoder();
  const decoded: Packet[] = [];
  decoder.on('decoded', (p: Packet) => decoded.push(p));
  for (const part of new Encoder().encode(packet) as (string | Buffer)[]) decoder.add(part);
  return decoded;
}

describe('client events held to the limits as they are decoded', () => {
  it('passes events under the limits through unchanged, binary ones reconstructed', () => {
    expect(roundTrip({ type: PacketType.EVENT, nsp: '/orders', id: 7, data: ['subscribe', { accounts: ['A'] }] })).toEqual([{ type: PacketType.EVENT, nsp: '/orders', id: 7, data: ['subscribe', { accounts: ['A'] }] }]);
    const [binary] = roundTrip({ type: PacketType.EVENT, nsp: '/market-data', data: ['resync', { blob: Buffer.from('abc') }] });
    expect(binary?.data).toEqual(['resync', { blob: Buffer.from('abc') }]);
  });

  it('measures text and attachments together and keeps the event name and ack id of a refused event', () => {
    const [text] = roundTrip({ type: PacketType.EVENT, nsp: '/market-data', id: 3, data: ['ping', { pad: 'x'.repeat(2_000) }] });
    expect(text).toMatchObject({ type: PacketType.EVENT, nsp: '/market-data', id: 3, data: ['ping', expect.any(RefusedInboundEvent)] });
    const [binary] = roundTrip({ type: PacketType.EVENT, nsp: '/market-data', id: 4, data: ['subscribe', { a: Buffer.alloc(400), b: Buffer.alloc(400), c: Buffer.alloc(400) }] });
    expect(binary).toMatchObject({ id: 4, data: ['subscribe', expect.any(RefusedInboundEvent)] });
    const refusal = (binary?.data as unknown[])[1] as RefusedInboundEvent;
    expect(refusal.details).toEqual({ limit: 1_000 });
    expect(Number(/frame of (\d+) bytes/.exec(refusal.message)?.[1])).toBeGreaterThan(1_200);
  });

  it('refuses nesting deeper than 32 before parsing, and skips a refused binary event’s attachments', () => {
    const deep = JSON.stringify(['subscribe', JSON.parse('['.repeat(33) + ']'.repeat(33)) as unknown]);
    const { Decoder } = limitedSocketParser({ maxFrameBytes: 100_000 });
    const decoder = new Decoder();
    const decoded: Packet[] = [];
    decoder.on('decoded', (p: Packet) => decoded.push(p));
    decoder.add(`2/market-data,12${deep}`);
    decoder.add(`52-/market-data,["resync",${'['.repeat(5_000)}{"_placeholder":true,"num":0}${']'.repeat(5_000)}]`);
    decoder.add(Buffer.from('a'));
    expect(decoded).toHaveLength(1); // the binary event waits for its second attachment
    decoder.add(Buffer.from('b'));
    decoder.add('2/market-data,["ping",{}]');
    expect(decoded.map((p) => [p.id, (p.data as unknown[])[0], (p.data as unknown[])[1] instanceof RefusedInboundEvent])).toEqual([
      [12, 'subscribe', true],
      [undefined, 'resync', true],
      [undefined, 'ping', false],
    ]);
  });

  it('refuses more than 10 attachments as one request instead of closing the connection', () => {
    const blobs = Array.from({ length: 11 }, () => Buffer.from('x'));
    const [event] = roundTrip({ type: PacketType.EVENT, nsp: '/market-data', id: 9, data: ['subscribe', { blobs }] }, 100_000);
    expect(event).toMatchObject({ id: 9, data: ['subscribe', { message: 'more than 10 binary attachments' }] });
  });

  it('scans nesting without recursion, strings and escapes skipped', () => {
    expect(jsonNestingExceeds('[[1]]', 0, 2)).toBe(false);
    expect(jsonNestingExceeds('[[[1]]]', 0, 2)).toBe(true);
    expect(jsonNestingExceeds('["[[[[", "\\"[[[["]', 0, 2)).toBe(false);
    expect(jsonNestingExceeds('{"a":{"b":{"c":1}}}', 0, 2)).toBe(true);
    expect(jsonNestingExceeds('['.repeat(1_000_000), 0, 32)).toBe(true);
  });
});
