import { bookChecksum, type BookData, type BookLevel } from '#libs/contracts';

/** Levels the contract's checksum covers, whatever the subscribed depth. */
export const CHECKSUM_LEVELS = 10;

const isZeroSize = (size: string) => /^0*(\.0*)?$/.test(size);

/**
 * One side of a book, best first, as the server's strings. Prices are compared as numbers to find a level's place
 * and as strings to match a level (the server keeps a level's price string as it was first sent).
 */
function upsertLevel(side: BookLevel[], price: string, size: string, descending: boolean): void {
  const key = Number(price);
  let low = 0;
  let high = side.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    const other = Number(side[mid][0]);
    if (descending ? other > key : other < key) low = mid + 1;
    else high = mid;
  }
  const exists = low < side.length && Number(side[low][0]) === key;
  if (isZeroSize(size)) {
    if (exists) side.splice(low, 1);
  } else if (exists) side[low] = [side[low][0], size];
  else side.splice(low, 0, [price, size]);
}

export type BookCheck = 'verified' | 'mismatch' | 'unverifiable';

/** The SDK's copy of one order book: a snapshot, absolute-size updates on top, trimmed to the subscribed depth. */
export class BookState {
  bids: BookLevel[] = [];
  asks: BookLevel[] = [];

  constructor(readonly depth: number) {}

  applySnapshot(data: Pick<BookData, 'bids' | 'asks'>): void {
    this.bids = [];
    this.asks = [];
    // A snapshot is sent sorted, but sorting it through the same insert keeps one code path for both kinds.
    for (const [price, size] of data.bids) upsertLevel(this.bids, price, size, true);
    for (const [price, size] of data.asks) upsertLevel(this.asks, price, size, false);
    this.trim();
  }

  applyUpdate(data: Pick<BookData, 'bids' | 'asks'>): void {
    for (const [price, size] of data.bids) upsertLevel(this.bids, price, size, true);
    for (const [price, size] of data.asks) upsertLevel(this.asks, price, size, false);
    this.trim();
  }

  /** The contract's CRC32 of this copy's top 10 levels. */
  checksum(): number {
    return bookChecksum(this.asks.slice(0, CHECKSUM_LEVELS), this.bids.slice(0, CHECKSUM_LEVELS));
  }

  /**
   * Compares with the server's checksum. With a depth under 10, a full side may hide levels the checksum covers:
   * such a book cannot be verified (and a mismatch there means nothing).
   */
  check(serverChecksum: number): { result: BookCheck; computed: number } {
    const computed = this.checksum();
    const complete = this.depth >= CHECKSUM_LEVELS || (this.bids.length < this.depth && this.asks.length < this.depth);
    if (computed === serverChecksum) return { result: 'verified', computed };
    return { result: complete ? 'mismatch' : 'unverifiable', computed };
  }

  private trim(): void {
    if (this.bids.length > this.depth) this.bids.length = this.depth;
    if (this.asks.length > this.depth) this.asks.length = this.depth;
  }
}
