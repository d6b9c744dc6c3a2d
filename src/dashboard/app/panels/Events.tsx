import { memo } from 'react';
import { formatClock } from '../format.js';
import { useEventLog, type EventLog } from '../event-log.js';

export const EventsPanel = memo(function EventsPanel({ log }: { log: EventLog }) {
  const entries = useEventLog(log);
  return (
    <section className="panel events">
      <div className="panel-head">
        <h2>Events</h2>
        <button className="btn small ghost" type="button" onClick={() => log.clear()}>
          Clear
        </button>
      </div>
      <ol className="log scroll" id="log" aria-live="polite">
        {entries.map((e) => (
          <li key={e.id} className={e.level}>
            <time>{formatClock(e.at)}</time>
            <span className="kind">{e.kind}</span>
            <span className="msg">{e.message}</span>
          </li>
        ))}
      </ol>
    </section>
  );
});
