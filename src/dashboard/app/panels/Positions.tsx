import { memo } from 'react';
import { formatDecimal, formatTime, signClass } from '../format.js';
import { useFlashOnChange } from '../flash.js';

export interface PositionView {
  account: string;
  symbol: string;
  quantity: string;
  avgPrice: string;
  marketPrice: string;
  marketValue: string;
  unrealizedPnl: string;
  realizedPnl: string;
  dayPnl: string;
  /** 'gateway' when the gateway revalued it from its quotes since the engine's last event. */
  source?: string;
  quoteTs?: number;
  delayed?: boolean;
}

/** Where the row's market price comes from: the engine's last event, or the gateway's live mark (and its quote time). */
function markTitle(position: PositionView): string {
  if (position.source !== 'gateway') return 'engine mark';
  return `gateway mark, ${position.delayed ? 'delayed ' : ''}quote of ${formatTime(position.quoteTs)}`;
}

function PositionRow({ position }: { position: PositionView }) {
  const ref = useFlashOnChange<HTMLTableRowElement>(position);
  return (
    <tr ref={ref} data-symbol={position.symbol} data-account={position.account}>
      <td className="l">{position.account}</td>
      <td className="l">{position.symbol}</td>
      <td className={`qty ${signClass(position.quantity)}`}>{formatDecimal(position.quantity)}</td>
      <td>{formatDecimal(position.avgPrice)}</td>
      <td className={position.source === 'gateway' ? 'live-mark' : ''} title={markTitle(position)}>
        {formatDecimal(position.marketPrice)}
      </td>
      <td>{formatDecimal(position.marketValue)}</td>
      <td className={signClass(position.unrealizedPnl)}>{formatDecimal(position.unrealizedPnl)}</td>
      <td className={signClass(position.realizedPnl)}>{formatDecimal(position.realizedPnl)}</td>
      <td className={signClass(position.dayPnl)}>{formatDecimal(position.dayPnl)}</td>
    </tr>
  );
}

export const PositionsPanel = memo(function PositionsPanel({ positions, stale }: { positions: readonly PositionView[]; stale: boolean }) {
  const sorted = [...positions].sort((a, b) => a.account.localeCompare(b.account) || a.symbol.localeCompare(b.symbol));
  return (
    <section className={`panel positions${stale ? ' stale' : ''}`}>
      <div className="panel-head">
        <h2>Positions</h2>
        <span className="sub">{sorted.length} positions</span>
      </div>
      <div className="scroll">
        <table className="pos" id="positions">
          <thead>
            <tr>
              <th className="l">Account</th>
              <th className="l">Instrument</th>
              <th>Qty</th>
              <th>Avg price</th>
              <th>Mkt price</th>
              <th>Mkt value</th>
              <th>Unrealized</th>
              <th>Realized</th>
              <th>Day P&amp;L</th>
            </tr>
          </thead>
          <tbody>
            {sorted.length > 0 ? (
              sorted.map((p) => <PositionRow key={`${p.account}|${p.symbol}`} position={p} />)
            ) : (
              <tr>
                <td className="l muted" colSpan={9}>
                  No positions
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
    </section>
  );
});
