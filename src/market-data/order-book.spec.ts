import { describe, expect, it } from 'vitest';
import { bookChecksum } from '#libs/contracts';
import { diffLevels, OrderBook } from './order-book.js';

describe('order book', () => {
  it("gives Kraken's published checksum from the same levels, whatever order they arrive in", () => {
    const asks: [string, string][] = [
      ['45285.2', '0.00100000'], ['45286.4', '1.54571953'], ['45286.6', '1.54571109'], ['45289.6', '1.54560911'], ['45290.2', '0.15890660'],
      ['45291.8', '1.54553491'], ['45294.7', '0.04454749'], ['45296.1', '0.35380000'], ['45297.5', '0.09945542'], ['45299.5', '0.18772827'],
    ];
    const bids: [string, string][] = [
      ['45283.5', '0.10000000'], ['45283.4', '1.54582015'], ['45282.1', '0.10000000'], ['45281.0', '0.10000000'], ['45280.3', '1.54592586'],
      ['45279.0', '0.07990000'], ['45277.6', '0.03310103'], ['45277.5', '0.30000000'], ['45277.3', '1.54602737'], ['45276.6', '0.15445238'],
    ];
    const book = new OrderBook();
    book.applySnapshot([...bids].reverse(), [...asks].reverse());
    expect(book.view(10).checksum).toBe(3310070434);
    expect(book.view(5).checksum).toBe(3310070434);
  });

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
