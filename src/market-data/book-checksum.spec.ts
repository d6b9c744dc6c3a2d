import { crc32 as zlibCrc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { bookChecksum, crc32 } from './book-checksum.js';
import { diffLevels, OrderBook } from './order-book.js';

describe('book checksum (Kraken v2 style)', () => {
  it('computes CRC32 as zlib does', () => {
    for (const text of ['', 'a', '18953120018955800189511001895050018949150018947250', 'x'.repeat(1000)]) expect(crc32(text)).toBe(zlibCrc32(text));
  });

  it("matches Kraken's published v2 example (BTC/USD snapshot, checksum 3310070434)", () => {
    const asks: [string, string][] = [
      ['45285.2', '0.00100000'], ['45286.4', '1.54571953'], ['45286.6', '1.54571109'], ['45289.6', '1.54560911'], ['45290.2', '0.15890660'],
      ['45291.8', '1.54553491'], ['45294.7', '0.04454749'], ['45296.1', '0.35380000'], ['45297.5', '0.09945542'], ['45299.5', '0.18772827'],
    ];
    const bids: [string, string][] = [
      ['45283.5', '0.10000000'], ['45283.4', '1.54582015'], ['45282.1', '0.10000000'], ['45281.0', '0.10000000'], ['45280.3', '1.54592586'],
      ['45279.0', '0.07990000'], ['45277.6', '0.03310103'], ['45277.5', '0.30000000'], ['45277.3', '1.54602737'], ['45276.6', '0.15445238'],
    ];
    expect(bookChecksum(asks, bids)).toBe(3310070434);
    // The gateway's book gives the same checksum from the same levels, whatever order they arrive in.
    const book = new OrderBook();
    book.applySnapshot([...bids].reverse(), [...asks].reverse());
    expect(book.view(10).checksum).toBe(3310070434);
    expect(book.view(5).checksum).toBe(3310070434);
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
