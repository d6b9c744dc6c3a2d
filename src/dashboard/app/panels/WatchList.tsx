import { memo, useEffect, useRef, useState, type FormEvent } from 'react';
import type { FeedStatusInfo } from '@tradewire/client';
import { flash } from '../flash.js';
import { formatCompact, formatDecimal, formatTime, signClass, toNumber } from '../format.js';

export interface QuoteView {
  bid: string;
  ask: string;
  last: string;
  volume: string;
  prevClose?: string;
  ts: number;
}

export interface WatchRow {
  instrument: string;
  /** The SDK's latest quote, as it hands it out: a new object per update, so an unchanged row is not drawn again. */
  quote: QuoteView | null;
  delayed: boolean;
  /** Why the gateway refused the instrument's streams, when it did. */
  rejected: string | null;
  delayMs: number;
  /** The quote shown is not live (the connection is down, or it came before the last reconnect). */
  stale: boolean;
  /** The instrument's feed health as the gateway reports it (null until it has). */
  feed: FeedStatusInfo | null;
}

const FEED_REASON_TEXT: Record<string, string> = {
  no_events: 'no engine event within the expected cadence',
  seq_gap: 'engine events were lost (sequence gap)',
  session_closed: 'the exchange is closed',
  session_pre_open: 'the exchange is in pre-open',
  session_halted: 'trading is halted',
};

function feedTitle(feed: FeedStatusInfo): string {
  const age = feed.lastEventAgeMs === null ? 'no event received yet' : `last event ${Math.round(feed.lastEventAgeMs / 1000)} s before`;
  return `feed ${feed.state} since ${new Date(feed.since).toLocaleTimeString()}: ${feed.reason ? (FEED_REASON_TEXT[feed.reason] ?? feed.reason) : 'events arrive'} (${age})`;
}

export interface Rejection {
  instrument: string;
  channel?: string;
  code: string;
  message?: string;
}

type PriceField = 'bid' | 'ask' | 'last';
const PRICE_FIELDS: readonly PriceField[] = ['bid', 'ask', 'last'];

interface RowProps extends WatchRow {
  selected: boolean;
  onSelect: (instrument: string) => void;
  onRemove: (instrument: string) => void;
}

const QuoteRow = memo(function QuoteRow({ instrument, quote: q, delayed, rejected, delayMs, stale, feed, selected, onSelect, onRemove }: RowProps) {
  const cells = useRef<Record<PriceField, HTMLTableCellElement | null>>({ bid: null, ask: null, last: null });
  const shown = useRef<Partial<Record<PriceField, string>>>({});
  const [lastDirection, setLastDirection] = useState<'up' | 'down' | ''>('');

  // Each price that moved flashes green or red; the last price keeps its direction's colour until the next move.
  useEffect(() => {
    if (!q) return;
    for (const field of PRICE_FIELDS) {
      const before = shown.current[field];
      const value = q[field];
      if (before === value) continue;
      shown.current[field] = value;
      if (before === undefined) continue;
      const direction = toNumber(value) >= toNumber(before) ? 'up' : 'down';
      flash(cells.current[field], direction, 550);
      if (field === 'last') setLastDirection(direction);
    }
  }, [q]);

  const [exchange, symbol] = [instrument.slice(0, instrument.indexOf(':')), instrument.slice(instrument.indexOf(':') + 1)];
  const last = toNumber(q?.last);
  const prevClose = toNumber(q?.prevClose);
  const change = Number.isFinite(last) && Number.isFinite(prevClose) && prevClose !== 0 ? ((last - prevClose) / prevClose) * 100 : null;
  const feedState = feed && feed.state !== 'live' ? feed.state : null;
  const classes = [selected ? 'selected' : '', rejected ? 'inactive' : '', stale ? 'stale' : '', feedState ? `feed-${feedState}` : ''].filter(Boolean).join(' ');
  const title = stale ? 'not live: received before the connection was lost; a fresh quote replaces it' : feed && feedState ? feedTitle(feed) : undefined;
  return (
    <tr data-instrument={instrument} data-feed={feed?.state} className={classes || undefined} title={title} onClick={() => onSelect(instrument)}>
      <td className="l sym">
        <span className="ex">{exchange}:</span>
        {symbol}
        {rejected ? (
          <span className="badge err" title="rejected by the gateway">
            {rejected}
          </span>
        ) : delayed ? (
          <span className="badge" title={`delayed by ${Math.round(delayMs / 60_000)} min`}>
            DELAYED
          </span>
) : null}
        {feed && feedState ? (
          <span className={`badge feed ${feedState}`} title={feedTitle(feed)}>
            {feedState.toUpperCase()}
          </span>
        ) : null}
      </td>
      <td className="bid" ref={(el) => void (cells.current.bid = el)}>
        {formatDecimal(q?.bid)}
      </td>
      <td className="ask" ref={(el) => void (cells.current.ask = el)}>
        {formatDecimal(q?.ask)}
      </td>
      <td className={`last ${lastDirection}`} ref={(el) => void (cells.current.last = el)}>
        {formatDecimal(q?.last)}
      </td>
      <td className={`chg ${change === null ? '' : signClass(change)}`}>{change === null ? '—' : `${change > 0 ? '+' : ''}${change.toFixed(2)}%`}</td>
      <td className="vol" title={formatDecimal(q?.volume)}>
        {formatCompact(q?.volume)}
      </td>
      <td className="time">{formatTime(q?.ts)}</td>
      <td className="x">
        <button
          className="icon-btn"
          type="button"
          title={`Remove ${instrument}`}
          aria-label={`Remove ${instrument}`}
          onClick={(event) => {
            event.stopPropagation();
            onRemove(instrument);
          }}
        >
          ×
        </button>
      </td>
    </tr>
  );
});

interface Props {
  rows: readonly WatchRow[];
  selected: string | null;
  rejections: readonly Rejection[];
  onAdd: (instrument: string) => void;
  onRemove: (instrument: string) => void;
  onSelect: (instrument: string) => void;
}

export function WatchListPanel({ rows, selected, rejections, onAdd, onRemove, onSelect }: Props) {
  const [input, setInput] = useState('');
  const stale = rows.filter((row) => row.stale).length;
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const instrument = input.trim().toUpperCase();
    if (!instrument) return;
    onAdd(instrument);
    setInput('');
  };
  return (
    <section className="panel watch">
      <div className="panel-head">
        <h2>
          Watch list
          {stale > 0 ? (
            <span className="chip bad stale-count" title="quotes received before the connection was lost, shown until fresh ones arrive">
              {stale} stale
            </span>
          ) : null}
        </h2>
        <form id="addForm" className="add" autoComplete="off" onSubmit={submit}>
          <input id="addInput" type="text" placeholder="Add instrument, e.g. NASDAQ:TSLA" spellCheck={false} aria-label="Instrument to add" value={input} onChange={(e) => setInput(e.target.value)} />
          <button className="btn" type="submit">
            Add
          </button>
        </form>
      </div>
      <ul className="rejections" id="rejections" aria-live="polite">
        {rejections.map((r) => (
          <li key={`${r.instrument}|${r.channel ?? ''}`}>
            <code>{r.instrument}</code>
            {r.channel ? ` ${r.channel}` : ''} — {r.code}
            {r.message ? `: ${r.message}` : ''}
          </li>
        ))}
      </ul>
      <div className="scroll">
        <table className="quotes" id="quotes">
          <thead>
            <tr>
              <th className="l">Instrument</th>
              <th>Bid</th>
              <th>Ask</th>
              <th>Last</th>
              <th>Chg %</th>
              <th>Volume</th>
              <th>Updated</th>
              <th className="x"></th>
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <QuoteRow key={row.instrument} {...row} selected={row.instrument === selected} onSelect={onSelect} onRemove={onRemove} />
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
