/** Display helpers. Prices and sizes stay decimal strings as they came over the wire; numbers only for comparisons. */

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** `hh:mm:ss.mmm`, local time. */
export function formatTime(ts: number | undefined): string {
  if (typeof ts !== 'number' || !Number.isFinite(ts)) return '—';
  const d = new Date(ts);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** `hh:mm:ss`, local time. */
export function formatClock(ts: number | undefined): string {
  if (typeof ts !== 'number' || !Number.isFinite(ts)) return '—';
  const d = new Date(ts);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** Groups the integer part of a decimal string ("18422310.5" → "18,422,310.5") without turning it into a float. */
export function formatDecimal(value: string | undefined | null): string {
  if (value === undefined || value === null || value === '') return '—';
  const match = /^([-+]?)(\d+)(\.\d+)?$/.exec(value);
  if (!match) return value;
  return `${match[1]}${match[2].replace(/\B(?=(\d{3})+(?!\d))/g, ',')}${match[3] ?? ''}`;
}

const compact = new Intl.NumberFormat('en', { notation: 'compact', maximumFractionDigits: 2 });
export function formatCompact(value: string | undefined): string {
  const n = Number(value);
  return value === undefined || !Number.isFinite(n) ? '—' : compact.format(n);
}

/** For comparisons and derived values (change %, spread) only; NaN when not a number. */
export function toNumber(value: string | number | undefined): number {
  const n = Number(value);
  return Number.isFinite(n) ? n : Number.NaN;
}

/** 'up', 'down' or '' by the sign of a value: the colour classes of the stylesheet. */
export function signClass(value: string | number | undefined): string {
  const n = toNumber(value);
  return n > 0 ? 'up' : n < 0 ? 'down' : '';
}

export function decimalsOf(value: string): number {
  const dot = value.indexOf('.');
  return dot < 0 ? 0 : value.length - dot - 1;
}

/** A duration for people: `850 ms`, `3.2 s`, `4 min`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
  return `${Math.round(ms / 60_000)} min`;
}

/** `CODE status: message (retry in N ms)` for a wire error or an SDK error carrying one. */
export function describeError(error: unknown): string {
  if (!error || typeof error !== 'object') return String(error);
  const e = error as { code?: unknown; status?: unknown; message?: unknown; retryAfterMs?: unknown };
  const code = typeof e.code === 'string' ? e.code : 'ERROR';
  const status = typeof e.status === 'number' && e.status > 0 ? ` ${e.status}` : '';
  const message = typeof e.message === 'string' ? e.message : '';
  const retry = typeof e.retryAfterMs === 'number' ? ` (retry in ${e.retryAfterMs} ms)` : '';
  return `${code}${status}: ${message}${retry}`;
}
