import { memo } from 'react';
import { formatClock, formatDecimal } from '../format.js';

export interface TapeTrade {
  /** Unique across instruments: the key of the row. */
  key: string;
  instrument: string;
  ts: number;
  price: string;
  size: string;
  side: 'buy' | 'sell';
  delayed: boolean;
}

export const TradesPanel = memo(function TradesPanel({ trades, seen, stale }: { trades: readonly TapeTrade[]; seen: number; stale: boolean }) {
  return (
    <section className={`panel tape${stale ? ' stale' : ''}`}>
      <div className="panel-head">
        <h2>Trades</h2>
        <span className="sub">{seen > 0 ? `${seen.toLocaleString('en')} seen` : ''}</span>
      </div>
      <div className="scroll">
        <table className="trades" id="trades">
          <thead>
            <tr>
              <th className="l">Time</th>
              <th className="l">Instrument</th>
              <th>Price</th>
              <th>Size</th>
            </tr>
          </thead>
          <tbody>
            {trades.map((t) => (
              <tr key={t.key} className="fresh" title={`${t.side}${t.delayed ? ' · delayed' : ''}`}>
                <td className="l time">{formatClock(t.ts)}</td>
                <td className="l sym">{t.instrument}</td>
                <td className={t.side === 'sell' ? 'down' : 'up'}>
                  {t.side === 'sell' ? '▼' : '▲'} {formatDecimal(t.price)}
                </td>
                <td>{formatDecimal(t.size)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
});
