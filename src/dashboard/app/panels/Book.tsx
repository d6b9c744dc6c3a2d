import { memo } from 'react';
import { decimalsOf, formatDecimal, toNumber } from '../format.js';

export type Level = readonly [price: string, size: string];

export interface BookView {
  bids: readonly Level[];
  asks: readonly Level[];
}

/** The chip next to the title: how far the book can be trusted. */
export interface BookStatus {
  text: string;
  level?: 'ok' | 'bad';
}

const BOOK_DEPTH = 10;

/** A size bar behind the number, as wide as its share of the largest level shown (a CSS variable, set through CSSOM). */
function sizeBar(size: string, maxSize: number) {
  const width = `${Math.max(2, Math.round(((toNumber(size) || 0) / maxSize) * 100))}%`;
  return (element: HTMLTableCellElement | null) => element?.style.setProperty('--w', width);
}

export const BookPanel = memo(function BookPanel({ instrument, book, status, stale }: { instrument: string | null; book: BookView | null; status: BookStatus; stale: boolean }) {
  const asks = book ? book.asks.slice(0, BOOK_DEPTH) : [];
  const bids = book ? book.bids.slice(0, BOOK_DEPTH) : [];
  const maxSize = Math.max(1, ...asks.map((l) => toNumber(l[1]) || 0), ...bids.map((l) => toNumber(l[1]) || 0));
  let spread: string | null = null;
  if (asks.length > 0 && bids.length > 0) {
    const [bestAsk] = asks[0];
    const [bestBid] = bids[0];
    const places = Math.max(decimalsOf(bestAsk), decimalsOf(bestBid));
    const value = toNumber(bestAsk) - toNumber(bestBid);
    const mid = (toNumber(bestAsk) + toNumber(bestBid)) / 2;
    const bps = mid > 0 ? (value / mid) * 10_000 : Number.NaN;
    spread = `spread ${value.toFixed(places)}${Number.isFinite(bps) ? ` · ${bps.toFixed(bps < 1 ? 3 : 1)} bps` : ''}`;
  }
  return (
    <section className={`panel book${stale ? ' stale' : ''}`}>
      <div className="panel-head">
        <h2>
          Book <span className="sub" id="bookTitle">{instrument ?? '—'}</span>
        </h2>
        <span className={`chip${status.level ? ` ${status.level}` : ''}`} id="bookStatus">
          {status.text}
        </span>
      </div>
      <div className="scroll">
        <table className="ladder" id="ladder">
          <thead>
            <tr>
              <th>Bid size</th>
              <th>Price</th>
              <th>Ask size</th>
            </tr>
          </thead>
          <tbody>
            {instrument === null
              ? null
              : [
                  ...asks
                    .slice()
                    .reverse()
                    .map(([price, size]) => (
                      <tr className="ask" key={`a${price}`}>
                        <td className="bs"></td>
                        <td className="px">{formatDecimal(price)}</td>
                        <td className="as" ref={sizeBar(size, maxSize)}>
                          {formatDecimal(size)}
                        </td>
                      </tr>
                    )),
                  spread !== null || (asks.length === 0 && bids.length === 0) ? (
                    <tr className="spread" key="spread">
                      <td colSpan={3}>{spread ?? (book ? 'empty book' : 'waiting for snapshot…')}</td>
                    </tr>
                  ) : null,
                  ...bids.map(([price, size]) => (
                    <tr className="bid" key={`b${price}`}>
                      <td className="bs" ref={sizeBar(size, maxSize)}>
                        {formatDecimal(size)}
                      </td>
                      <td className="px">{formatDecimal(price)}</td>
                      <td className="as"></td>
                    </tr>
                  )),
                ]}
          </tbody>
        </table>
      </div>
    </section>
  );
});
