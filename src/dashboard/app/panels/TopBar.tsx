import { formatClock, formatDuration } from '../format.js';

export type PillState = 'live' | 'connecting' | 'down' | 'refused';

export interface StreamPill {
  name: string;
  title: string;
  state: PillState;
  detail?: string;
}

export interface SessionView {
  exchange: string;
  status: string;
  since: number;
  nextChange?: number;
}

export interface WhoView {
  userId: string;
  tier: string;
  node: string;
  serverVersion: string;
  limitsTitle: string;
}

export interface StatsView {
  /** Recent ping round trips, oldest first, in ms. */
  rtts: readonly number[];
  /** Median age of the real-time data shown (engine time to screen, clock offset corrected), in ms. */
  dataAgeMs: number | null;
  messagesPerSecond: number;
  /** The SDK's counters (reconnects, gaps, resyncs, …), one line for a tooltip. */
  counters: string;
}

function Sparkline({ points }: { points: readonly number[] }) {
  const max = Math.max(5, ...points);
  const step = points.length > 1 ? 80 / (points.length - 1) : 0;
  const coords = points.map((v, i) => `${(i * step).toFixed(1)},${(19 - (v / max) * 18).toFixed(1)}`).join(' ');
  return (
    <svg id="spark" className="spark" viewBox="0 0 80 20" preserveAspectRatio="none" aria-hidden="true">
      <polyline points={coords} />
    </svg>
  );
}

interface Props {
  connection: string;
  pills: readonly StreamPill[];
  sessions: readonly SessionView[];
  stats: StatsView;
  who: WhoView | null;
}

export function TopBar({ connection, pills, sessions, stats, who }: Props) {
  const rtt = stats.rtts.length > 0 ? stats.rtts[stats.rtts.length - 1] : undefined;
  return (
    <header className="topbar" data-connection={connection}>
      <div className="brand">
        <svg viewBox="0 0 32 32" aria-hidden="true">
          <path d="M5 21l6-7 5 4 9-10" />
        </svg>
        <span>Tradewire</span>
      </div>

      <div className="conn" id="conn" aria-label="Connection status">
        {pills.map((p) => (
          <span key={p.name} className={`pill ${p.state}`} data-stream={p.name} title={p.detail ? `${p.title}: ${p.detail}` : `${p.title}: ${p.state}`}>
            <i></i>
            {p.name}
          </span>
        ))}
      </div>

      <div className="sessions" id="sessions" aria-label="Exchange sessions">
        {sessions.map((s) => (
          <span key={s.exchange} className={`session ${s.status}`} title={`since ${formatClock(s.since)}${typeof s.nextChange === 'number' ? `, next change ${formatClock(s.nextChange)}` : ''}`}>
            {s.exchange}
            <b>{s.status}</b>
          </span>
        ))}
      </div>

      <div className="stats">
        <div className="stat" title="Round trip of the SDK's ping">
          <label>latency</label>
          <b id="latency">{rtt === undefined ? '—' : `${rtt < 10 ? rtt.toFixed(1) : Math.round(rtt)} ms`}</b>
          <Sparkline points={stats.rtts} />
        </div>
        <div className="stat" title="Age of the newest real-time market data (engine time to screen), corrected for clock offset">
          <label>data age</label>
          <b id="age">{stats.dataAgeMs === null ? '—' : formatDuration(stats.dataAgeMs)}</b>
        </div>
        <div className="stat" title={`Market-data updates per second\n${stats.counters}`}>
          <label>msg/s</label>
          <b id="rate">{stats.messagesPerSecond.toLocaleString('en')}</b>
        </div>
      </div>

      <div className="who" id="who" title={who?.limitsTitle}>
        <span className="user" id="user">
          {who ? who.userId : 'not connected'}
        </span>
        <span className="meta" id="meta">
          {who ? (
            <>
              <span className="tier">{who.tier}</span> · node {who.node} · v{who.serverVersion}
            </>
          ) : null}
        </span>
      </div>
    </header>
  );
}
