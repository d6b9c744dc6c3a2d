import { describe, expect, it } from 'vitest';
import type { MdMessage, QuoteData } from '#libs/contracts';
import { mdMessageJson, SnapshotJsonCache, valueUpdateJson, valueUpdatePrefix } from './md-serializer.js';

const quote: QuoteData = { bid: '189.10', ask: '189.12', bidSize: '300', askSize: '200', last: '189.11', lastSize: '5', volume: '1200' };

describe('md serializer', () => {
  it('serializes an update around the stream prefix exactly as JSON.stringify of its MdMessage', () => {
    const stream = 'quote:NASDAQ:AAPL';
    const message: MdMessage<'quote'> = { stream, type: 'update', seq: 42, ts: 1_764_000_000_123, data: quote };
    const json = valueUpdateJson(valueUpdatePrefix(stream), message.seq, message.ts, quote);
    expect(json).toBe(JSON.stringify(message));
    expect(JSON.parse(json)).toEqual(message);
  });

  it('escapes what a stream name may hold', () => {
    const stream = 'quote:LSE:"ODD"\\NAME';
    const json = valueUpdateJson(valueUpdatePrefix(stream), 1, 5, quote);
    expect((JSON.parse(json) as MdMessage).stream).toBe(stream);
  });

  it('round-trips every kind of md message', () => {
    const messages: MdMessage[] = [
      { stream: 'quote:LSE:VOD', type: 'snapshot', seq: 1, ts: 10, data: quote },
      { stream: 'book:LSE:VOD', type: 'update', seq: 3, prevSeq: 2, ts: 11, data: { bids: [['71.10', '500']], asks: [], checksum: 12345 } },
      { stream: 'quote:LSE:VOD', type: 'snapshot', seq: 7, ts: 12, data: quote, delayed: true },
    ];
    for (const message of messages) expect(JSON.parse(mdMessageJson(message))).toEqual(message);
  });
});

describe('SnapshotJsonCache', () => {
  it('serializes a snapshot once per seq, whatever the number of clients asking', () => {
    const cache = new SnapshotJsonCache();
    let builds = 0;
    const snapshot = (seq: number) => () => {
      builds++;
      return { stream: 'quote:LSE:VOD', type: 'snapshot', seq, ts: seq, data: quote } satisfies MdMessage;
    };
    const first = cache.get(1, snapshot(1));
    for (let client = 0; client < 999; client++) expect(cache.get(1, snapshot(1))).toBe(first);
    expect(builds).toBe(1);
    const next = cache.get(2, snapshot(2));
    expect(builds).toBe(2);
    expect(JSON.parse(next)).toMatchObject({ seq: 2 });
  });
});
