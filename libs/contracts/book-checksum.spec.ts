import { crc32 as zlibCrc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { BookState } from '#libs/client';
import { bookChecksum, crc32, type BookLevel } from '#libs/contracts';

/**
 * The book checksum's test vectors, run against the contract's `bookChecksum` (which the gateway signs books with)
 * and against the client SDK's book (which verifies them): both sides of the wire agree on the same vectors.
 */
const KRAKEN_V2_EXAMPLE = {
  // Kraken's published WebSocket v2 book checksum example (BTC/USD snapshot).
  asks: [
    ['45285.2', '0.00100000'], ['45286.4', '1.54571953'], ['45286.6', '1.54571109'], ['45289.6', '1.54560911'], ['45290.2', '0.15890660'],
    ['45291.8', '1.54553491'], ['45294.7', '0.04454749'], ['45296.1', '0.35380000'], ['45297.5', '0.09945542'], ['45299.5', '0.18772827'],
  ] as BookLevel[],
  bids: [
    ['45283.5', '0.10000000'], ['45283.4', '1.54582015'], ['45282.1', '0.10000000'], ['45281.0', '0.10000000'], ['45280.3', '1.54592586'],
    ['45279.0', '0.07990000'], ['45277.6', '0.03310103'], ['45277.5', '0.30000000'], ['45277.3', '1.54602737'], ['45276.6', '0.15445238'],
  ] as BookLevel[],
  checksum: 3310070434,
};

/** docs/protocol.md §5.8: a snapshot, then an update that adds a best bid and removes the best ask. */
const PROTOCOL_EXAMPLE = {
  snapshot: { bids: [['189.50', '500'], ['189.49', '1500'], ['189.47', '250']] as BookLevel[], asks: [['189.52', '300'], ['189.53', '1200'], ['189.55', '800']] as BookLevel[] },
  update: { bids: [['189.51', '100']] as BookLevel[], asks: [['189.52', '0']] as BookLevel[] },
  after: {
    asks: [['189.53', '1200'], ['189.55', '800']] as BookLevel[],
    bids: [['189.51', '100'], ['189.50', '500'], ['189.49', '1500'], ['189.47', '250']] as BookLevel[],
    text: '18953120018955800189511001895050018949150018947250',
    checksum: 2521589819,
  },
};

describe('book checksum (Kraken v2), shared by the gateway and the client SDK', () => {
  it('computes CRC32 as zlib does', () => {
    for (const text of ['', 'a', PROTOCOL_EXAMPLE.after.text, 'x'.repeat(1000)]) expect(crc32(text)).toBe(zlibCrc32(text));
  });

  it("matches Kraken's published v2 example (BTC/USD snapshot, checksum 3310070434)", () => {
    expect(bookChecksum(KRAKEN_V2_EXAMPLE.asks, KRAKEN_V2_EXAMPLE.bids)).toBe(KRAKEN_V2_EXAMPLE.checksum);
  });

  it("the SDK verifies Kraken's example, whatever order the levels arrive in", () => {
    const book = new BookState(10);
    book.applySnapshot({ bids: [...KRAKEN_V2_EXAMPLE.bids].reverse(), asks: [...KRAKEN_V2_EXAMPLE.asks].reverse() });
    expect(book.bids).toEqual(KRAKEN_V2_EXAMPLE.bids);
    expect(book.asks).toEqual(KRAKEN_V2_EXAMPLE.asks);
    expect(book.check(KRAKEN_V2_EXAMPLE.checksum)).toEqual({ result: 'verified', computed: KRAKEN_V2_EXAMPLE.checksum });
  });

  it('matches the worked example of docs/protocol.md', () => {
    expect(bookChecksum(PROTOCOL_EXAMPLE.after.asks, PROTOCOL_EXAMPLE.after.bids)).toBe(PROTOCOL_EXAMPLE.after.checksum);
    expect(crc32(PROTOCOL_EXAMPLE.after.text)).toBe(PROTOCOL_EXAMPLE.after.checksum);
  });

  it("the SDK applies the protocol example's snapshot and update and verifies the result", () => {
    const book = new BookState(10);
    book.applySnapshot(PROTOCOL_EXAMPLE.snapshot);
    book.applyUpdate(PROTOCOL_EXAMPLE.update);
    expect(book.asks).toEqual(PROTOCOL_EXAMPLE.after.asks);
    expect(book.bids).toEqual(PROTOCOL_EXAMPLE.after.bids);
    expect(book.check(PROTOCOL_EXAMPLE.after.checksum).result).toBe('verified');
    // A wrong level (one size off) is a mismatch the SDK resyncs on.
    book.applyUpdate({ bids: [['189.49', '1400']], asks: [] });
    expect(book.check(PROTOCOL_EXAMPLE.after.checksum).result).toBe('mismatch');
  });

  it('strips the point and leading zeros from each price and size', () => {
    expect(bookChecksum([['0.00150000', '0.5']], [])).toBe(crc32('1500005'));
  });

  it('covers only the top levels asked for', () => {
    const asks = Array.from({ length: 12 }, (_, i) => [`${100 + i}.00`, '1'] as BookLevel);
    expect(bookChecksum(asks, [], 10)).toBe(bookChecksum(asks.slice(0, 10), [], 10));
    expect(bookChecksum(asks, [], 10)).not.toBe(bookChecksum(asks, [], 12));
    // The SDK keeps 12 levels at depth 12 but checks the top 10, as the gateway signs them.
    const book = new BookState(12);
    book.applySnapshot({ bids: [], asks });
    expect(book.check(bookChecksum(asks, [], 10)).result).toBe('verified');
  });
});
