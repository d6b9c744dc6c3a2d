import { bookChecksum, type BookLevel } from '#libs/contracts';

function isZero(size: string): boolean {
  return /^0*(\.0*)?$/.test(size);
}

/** One side of a book: price → absolute size, with the sorted view cached until the next change. */
class BookSide {
  private readonly levels = new Map<string, string>();
  private sorted: BookLevel[] | null = null;

  constructor(private readonly descending: boolean) {}

  clear(): void {
    this.levels.clear();
    this.sorted = null;
  }

  apply(levels: readonly BookLevel[]): void {
    for (const [price, size] of levels) {
      if (isZero(size)) this.levels.delete(price);
      else this.levels.set(price, size);
    }
    this.sorted = null;
  }

  top(depth: number): BookLevel[] {
    if (!this.sorted) {
      const desc = this.descending;
      this.sorted = [...this.levels.entries()].sort((a, b) => (desc ? Number(b[0]) - Number(a[0]) : Number(a[0]) - Number(b[0])));
    }
    return this.sorted.slice(0, depth);
  }
}

export interface BookView {
  bids: BookLevel[];
  asks: BookLevel[];
  checksum: number;
}

/** An instrument's order book, kept from the engine's snapshots and absolute-size deltas. */
export class OrderBook {
  private readonly bids = new BookSide(true);
  private readonly asks = new BookSide(false);
  hasSnapshot = false;

  applySnapshot(bids: readonly BookLevel[], asks: readonly BookLevel[]): void {
    this.bids.clear();
    this.asks.clear();
    this.bids.apply(bids);
    this.asks.apply(asks);
    this.hasSnapshot = true;
  }

  applyDelta(bids: readonly BookLevel[], asks: readonly BookLevel[]): void {
    this.bids.apply(bids);
    this.asks.apply(asks);
  }

  /** The top `depth` levels; the checksum, as Kraken's, always covers the top 10 whatever the depth. */
  view(depth: number): BookView {
    const bids = this.bids.top(depth);
    const asks = this.asks.top(depth);
    const checksum = depth >= 10 ? bookChecksum(asks, bids) : bookChecksum(this.asks.top(10), this.bids.top(10));
    return { bids, asks, checksum };
  }
}

/** The levels of `after` that differ from `before` (size "0" for a level that left the view). */
export function diffLevels(before: readonly BookLevel[], after: readonly BookLevel[]): BookLevel[] {
  const previous = new Map(before);
  const current = new Map(after);
  const changes: BookLevel[] = [];
  for (const [price, size] of after) if (previous.get(price) !== size) changes.push([price, size]);
  for (const [price] of before) if (!current.has(price)) changes.push([price, '0']);
  return changes;
}
