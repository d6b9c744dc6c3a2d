import { crc32 as zlibCrc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { bookChecksum, crc32 } from './book-checksum.js';
import { diffLevels, OrderBook } from './order-book.js';

describe('book checksum (Kraken v2 style)', () => {
  it('computes CRC32 as zlib does', () => {
    for (const text of ['', 'a', '18953120018955800189511001895050018949150018947250', 'x'.repeat(1000)]) expect(crc32(text)).toBe(zlibCrc32(text));
  });

  it('matches the worked example of docs/protocol.md', () => {
    const asks: [string, string][] = [['189.53', '1200'], ['189.55', '800']];
    const bids: [string, string][] = [['189.51', '100'], ['189.50', '500'], ['189.49', '1500'], ['189.47', '250']];
    expect(bookChecksum(asks, bids)).toBe(2521589819);
  });

  it('strips the point and leading zeros from each price and size', () => {
    expect(bookChecksum([['0.00150000', '0.5']], [])).toBe(crc32('1500005'));
  });

  it('covers only the top levels asked for', () => {
    const asks = Array.from({ length: 12 }, (_, i) => [`${100 + i}.00`, '1'] as [string, string]);
    expect(bookChecksum(asks, [], 10)).toBe(bookChecksum(asks.slice(0, 10), [], 10));
    expect(bookChecksum(asks, [], 10)).not.toBe(bookChecksum(asks, [], 12));
  });
});

describe('order book', () => {
  it('applies snapshots and absolute-size deltas, sorted best first', () => {
    const book = new OrderBook();
    book.applySnapshot([['10.0', '5'], ['9.5', '1']], [['10.5', '2'], ['11.0', '3']]);
    book.applyDelta([['10.0', '0'], ['9.8', '4']], [['10.5', '7']]);
    const view = book.view(10);
    expect(view.bids).toEqual([['9.8', '4'], ['9.5', '1']]);
    expect(view.asks).toEqual([['10.5', '7'], ['11.0', '3']]);
    expect(view.checksum).toBe(bookChecksum(view.asks, view.bids));
  });

  it('diffs two views into the levels a client must change', () => {
    expect(diffLevels([['10', '1'], ['9', '2']], [['10', '3'], ['8', '1']])).toEqual([['10', '3'], ['8', '1'], ['9', '0']]);
  });
});
