import { memo } from 'react';
import { formatDecimal, formatTime, signClass } from '../format.js';
import { useFlashOnChange } from '../flash.js';

export interface PortfolioView {
  account: string;
  currency: string;
  equity: string;
  cash: string;
  buyingPower: string;
  marketValue: string;
  dayPnl: string;
  totalPnl: string;
  ts: number;
  /** 'gateway' when the gateway revalued it from its quotes since the engine's last event. */
  source?: string;
  quoteTs?: number;
}

function Field({ label, value, coloured }: { label: string; value: string; coloured?: boolean }) {
  return (
    <div>
      <dt>{label}</dt>
      <dd className={coloured ? signClass(value) : ''}>{formatDecimal(value)}</dd>
    </div>
  );
}

function PortfolioCard({ portfolio, stale }: { portfolio: PortfolioView; stale: boolean }) {
  const ref = useFlashOnChange<HTMLElement>(portfolio);
  return (
    <article ref={ref} className={`card${stale ? ' stale' : ''}`} data-account={portfolio.account}>
      <header>
        <b>{portfolio.account}</b>
        <span>{portfolio.source === 'gateway' ? `marked live, quote of ${formatTime(portfolio.quoteTs)}` : `updated ${formatTime(portfolio.ts)}`}</span>
      </header>
      <div className="equity">
        {formatDecimal(portfolio.equity)}
        <small>{portfolio.currency} equity</small>
      </div>
      <dl>
        <Field label="Cash" value={portfolio.cash} />
        <Field label="Buying power" value={portfolio.buyingPower} />
        <Field label="Market value" value={portfolio.marketValue} />
        <Field label="Day P&L" value={portfolio.dayPnl} coloured />
        <Field label="Total P&L" value={portfolio.totalPnl} coloured />
      </dl>
    </article>
  );
}

export const PortfolioPanel = memo(function PortfolioPanel({ portfolios, stale, loading }: { portfolios: readonly PortfolioView[]; stale: boolean; loading: boolean }) {
  const sorted = [...portfolios].sort((a, b) => a.account.localeCompare(b.account));
  return (
    <section className="panel portfolio">
      <div className="panel-head">
        <h2>Portfolio</h2>
      </div>
      <div className="cards" id="portfolio">
        {sorted.length > 0 ? sorted.map((p) => <PortfolioCard key={p.account} portfolio={p} stale={stale} />) : <p className="empty">{loading ? 'Waiting for portfolio…' : 'No portfolio yet'}</p>}
      </div>
    </section>
  );
});
