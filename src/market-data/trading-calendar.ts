import { readFileSync } from 'node:fs';
import type { SessionStatus } from '#libs/contracts';

/** An exchange's session at one instant: the `session` event's fields without `exchange`. */
export interface SessionState {
  status: SessionStatus;
  /** Epoch ms when the current status began. */
  since: number;
  /** Epoch ms when the status next changes, if known (absent for always-open venues and bare engine overrides). */
  nextChange?: number;
}

export type WeekdayName = 'Sun' | 'Mon' | 'Tue' | 'Wed' | 'Thu' | 'Fri' | 'Sat';

/** One exchange in `data/trading-calendars.json`. Times are local wall-clock `HH:MM` in `timeZone`. */
export type ExchangeCalendarSpec =
  | {
      alwaysOpen: true;
      /** ISO instant the venue has been open since (the `since` reported); the epoch when absent. */
      openSince?: string;
    }
  | {
      alwaysOpen?: false;
      /** IANA time zone, e.g. `America/New_York`. */
      timeZone: string;
      tradingDays: WeekdayName[];
      /** Start of PRE_OPEN; without it the day goes straight from CLOSED to OPEN. */
      preOpen?: string;
      open: string;
      close: string;
      /** ISO dates (local), CLOSED all day. */
      holidays?: string[];
      /** ISO date (local) → `HH:MM` close replacing `close` on that date. */
      earlyCloses?: Record<string, string>;
    };

export interface TradingCalendarData {
  exchanges: Record<string, ExchangeCalendarSpec>;
}

interface Transition {
  at: number;
  status: SessionStatus;
}

interface ScheduledCalendar {
  kind: 'scheduled';
  timeZone: string;
  tradingDays: ReadonlySet<number>;
  preOpen?: number;
  open: number;
  close: number;
  holidays: ReadonlySet<number>;
  earlyCloses: ReadonlyMap<number, number>;
  /** Local day number → that day's transitions, in order. */
  days: Map<number, readonly Transition[]>;
  /** The last scheduled answer, reusable while `since <= now < nextChange`. */
  last?: { since: number; nextChange: number; state: SessionState };
}

interface AlwaysOpenCalendar {
  kind: 'alwaysOpen';
  since: number;
}

type CompiledCalendar = ScheduledCalendar | AlwaysOpenCalendar;

interface Override {
  status: SessionStatus;
  since: number;
  /** The next scheduled change after `since`: the calendar applies again from then. */
  until?: number;
}

const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;
/** How far `since` and `nextChange` are searched, in days, either way. */
const SEARCH_DAYS = 14;
/** Per-exchange day cache bound; a long-running process walks a few days at a time, so this is never reached. */
const MAX_CACHED_DAYS = 512;
const WEEKDAYS: readonly WeekdayName[] = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const WALL_TIME = /^([01]\d|2[0-3]):([0-5]\d)$/;

/**
 * Exchange trading sessions from a calendar data file: regular hours per weekday in the exchange's own time zone
 * (DST from the runtime's tz data through `Intl.DateTimeFormat`), holidays, early closes, and engine overrides
 * (`md.session` events) that win until the next scheduled change. Pure: every answer depends only on the data, the
 * overrides and the `now` passed in.
 */
export class TradingCalendar {
  private readonly calendars = new Map<string, CompiledCalendar>();
  private readonly overrides = new Map<string, Override>();

  constructor(data: TradingCalendarData, source = 'trading calendar data') {
    if (typeof data !== 'object' || data === null || typeof data.exchanges !== 'object' || data.exchanges === null) {
      throw new Error(`${source} must be an object with an "exchanges" map`);
    }
    for (const [exchange, spec] of Object.entries(data.exchanges)) this.calendars.set(exchange, compile(exchange, spec, source));
  }

  static fromFile(path: string): TradingCalendar {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(path, 'utf8'));
    } catch (error) {
      throw new Error(`trading calendar file ${path} cannot be read as JSON: ${String(error)}`);
    }
    return new TradingCalendar(parsed as TradingCalendarData, `trading calendar file ${path}`);
  }

  /** The exchanges with a calendar, sorted. */
  exchanges(): string[] {
    return [...this.calendars.keys()].sort();
  }

  has(exchange: string): boolean {
    return this.calendars.has(exchange);
  }

  /**
   * The session at `now` (epoch ms): an active override, else the calendar. An exchange without a calendar answers
   * only from an override (no `nextChange`), and throws without one: check `has()` or catch.
   */
  statusAt(exchange: string, now: number): SessionState {
    const calendar = this.calendars.get(exchange);
    const override = this.overrides.get(exchange);
    const active = override && now >= override.since ? override : undefined;
    if (!calendar) {
      if (active) return { status: active.status, since: active.since };
      throw new Error(`no trading calendar for exchange ${exchange}`);
    }
    if (active && (active.until === undefined || now < active.until)) {
      if (active.until === undefined) return { status: active.status, since: active.since };
      // When the calendar turns to the overridden status anyway, the status really changes only after that.
      const after = this.scheduled(calendar, active.until);
      const nextChange = after.status === active.status ? after.nextChange : active.until;
      return nextChange === undefined ? { status: active.status, since: active.since } : { status: active.status, since: active.since, nextChange };
    }
    const state = this.scheduled(calendar, now);
    // An expired override whose status the calendar took over without a break: the status began with the override.
    if (active?.until !== undefined && state.status === active.status && state.since === active.until) return { ...state, since: active.since };
    return state;
  }

  /** The calendar alone at `now`, ignoring overrides. Throws for an exchange without a calendar. */
  scheduledAt(exchange: string, now: number): SessionState {
    const calendar = this.calendars.get(exchange);
    if (!calendar) throw new Error(`no trading calendar for exchange ${exchange}`);
    return this.scheduled(calendar, now);
  }

  /**
   * An engine `md.session` event: `status` holds from `ts` until the next scheduled change after `ts`, then the
   * calendar applies again. A status equal to the one already in force changes nothing. Returns the state at `ts`.
   */
  override(exchange: string, status: SessionStatus, ts: number): SessionState {
    const calendar = this.calendars.get(exchange);
    if (calendar || this.overrides.has(exchange)) {
      const current = this.statusAt(exchange, ts);
      if (current.status === status) return current;
    }
    const until = calendar ? this.scheduled(calendar, ts).nextChange : undefined;
    this.overrides.set(exchange, until === undefined ? { status, since: ts } : { status, since: ts, until });
    return this.statusAt(exchange, ts);
  }

  /** Drops an exchange's override: the calendar alone applies. */
  clearOverride(exchange: string): void {
    this.overrides.delete(exchange);
  }

  private scheduled(calendar: CompiledCalendar, now: number): SessionState {
    if (calendar.kind === 'alwaysOpen') return { status: 'OPEN', since: calendar.since };
    const last = calendar.last;
    if (last && now >= last.since && now < last.nextChange) return { ...last.state };

    const today = localDay(calendar.timeZone, now);
    let previous: Transition | undefined;
    let next: Transition | undefined;
    for (const transition of this.transitions(calendar, today)) {
      if (transition.at <= now) previous = transition;
      else next ??= transition;
    }
    for (let day = today - 1; !previous && day >= today - SEARCH_DAYS; day--) previous = this.transitions(calendar, day).at(-1);
    for (let day = today + 1; !next && day <= today + SEARCH_DAYS; day++) next = this.transitions(calendar, day)[0];

    const status = previous?.status ?? 'CLOSED';
    const since = previous?.at ?? wallToEpoch(calendar.timeZone, today - SEARCH_DAYS, 0);
    if (!next) return { status, since };
    const state: SessionState = { status, since, nextChange: next.at };
    if (previous) calendar.last = { since, nextChange: next.at, state: { ...state } };
    return state;
  }

  private transitions(calendar: ScheduledCalendar, day: number): readonly Transition[] {
    const cached = calendar.days.get(day);
    if (cached) return cached;
    let transitions: Transition[] = [];
    if (calendar.tradingDays.has(weekdayOf(day)) && !calendar.holidays.has(day)) {
      const close = calendar.earlyCloses.get(day) ?? calendar.close;
      const at = (minutes: number) => wallToEpoch(calendar.timeZone, day, minutes);
      transitions = [{ at: at(calendar.open), status: 'OPEN' }];
      if (calendar.preOpen !== undefined && calendar.preOpen < calendar.open) transitions.unshift({ at: at(calendar.preOpen), status: 'PRE_OPEN' });
      if (close > calendar.open) transitions.push({ at: at(close), status: 'CLOSED' });
      else transitions = []; // an early close at or before the open: no session that day
    }
    if (calendar.days.size >= MAX_CACHED_DAYS) calendar.days.clear();
    calendar.days.set(day, transitions);
    return transitions;
  }
}

// ------------------------------------------------------------------ data file

function compile(exchange: string, spec: ExchangeCalendarSpec, source: string): CompiledCalendar {
  const where = `${source}: exchange ${exchange}`;
  if (typeof spec !== 'object' || spec === null) throw new Error(`${where} must be an object`);
  if (spec.alwaysOpen === true) {
    if (spec.openSince === undefined) return { kind: 'alwaysOpen', since: 0 };
    const since = Date.parse(spec.openSince);
    if (typeof spec.openSince !== 'string' || Number.isNaN(since)) throw new Error(`${where}: openSince must be an ISO instant`);
    return { kind: 'alwaysOpen', since };
  }
  if (typeof spec.timeZone !== 'string') throw new Error(`${where}: timeZone is required`);
  try {
    formatter(spec.timeZone);
  } catch {
    throw new Error(`${where}: unknown time zone ${spec.timeZone}`);
  }
  if (!Array.isArray(spec.tradingDays)) throw new Error(`${where}: tradingDays must be an array of ${WEEKDAYS.join('/')}`);
  const tradingDays = new Set<number>();
  for (const name of spec.tradingDays) {
    const index = WEEKDAYS.indexOf(name);
    if (index < 0) throw new Error(`${where}: unknown trading day ${String(name)}`);
    tradingDays.add(index);
  }
  const open = wallMinutes(spec.open, `${where}: open`);
  const close = wallMinutes(spec.close, `${where}: close`);
  const preOpen = spec.preOpen === undefined ? undefined : wallMinutes(spec.preOpen, `${where}: preOpen`);
  if (close <= open) throw new Error(`${where}: close must be after open`);
  if (preOpen !== undefined && preOpen > open) throw new Error(`${where}: preOpen must not be after open`);
  const holidays = new Set((spec.holidays ?? []).map((date) => isoDay(date, `${where}: holiday`)));
  const earlyCloses = new Map<number, number>();
  for (const [date, time] of Object.entries(spec.earlyCloses ?? {})) earlyCloses.set(isoDay(date, `${where}: early close`), wallMinutes(time, `${where}: early close ${date}`));
  return { kind: 'scheduled', timeZone: spec.timeZone, tradingDays, preOpen, open, close, holidays, earlyCloses, days: new Map() };
}

function wallMinutes(value: unknown, what: string): number {
  const match = typeof value === 'string' ? WALL_TIME.exec(value) : null;
  if (!match) throw new Error(`${what} must be a local time HH:MM, not ${String(value)}`);
  return Number(match[1]) * 60 + Number(match[2]);
}

function isoDay(value: unknown, what: string): number {
  const match = typeof value === 'string' ? ISO_DATE.exec(value) : null;
  const day = match ? dayNumber(Number(match[1]), Number(match[2]), Number(match[3])) : NaN;
  if (!match || new Date(day * DAY_MS).toISOString().slice(0, 10) !== value) throw new Error(`${what} must be an ISO date YYYY-MM-DD, not ${String(value)}`);
  return day;
}

// ------------------------------------------------------------------ time zones

/** Local calendar dates are counted as days since 1970-01-01. */
function dayNumber(year: number, month: number, day: number): number {
  return Date.UTC(year, month - 1, day) / DAY_MS;
}

function weekdayOf(day: number): number {
  return (((day + 4) % 7) + 7) % 7; // 1970-01-01 was a Thursday
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let format = formatters.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, format);
  }
  return format;
}

/** The local wall clock at `epochMs` in `timeZone`, read as if it were UTC (epoch ms, whole seconds). */
function wallClock(timeZone: string, epochMs: number): number {
  const fields: Record<string, number> = {};
  for (const part of formatter(timeZone).formatToParts(epochMs)) if (part.type !== 'literal') fields[part.type] = Number(part.value);
  return Date.UTC(fields.year, fields.month - 1, fields.day, fields.hour % 24, fields.minute, fields.second);
}

function localDay(timeZone: string, epochMs: number): number {
  return Math.floor(wallClock(timeZone, epochMs) / DAY_MS);
}

/** UTC offset (ms) of `timeZone` at `epochMs`. */
function offsetAt(timeZone: string, epochMs: number): number {
  const whole = Math.floor(epochMs / 1000) * 1000;
  return wallClock(timeZone, whole) - whole;
}

/**
 * The instant of local wall time `minutes` after midnight on local `day`. A wall time that happens twice (DST ends)
 * gives the first; one that never happens (DST starts) gives the instant the clocks jump to plus the gap's remainder.
 */
function wallToEpoch(timeZone: string, day: number, minutes: number): number {
  const wall = day * DAY_MS + minutes * MINUTE_MS;
  const first = offsetAt(timeZone, wall);
  const candidate = wall - first;
  const second = offsetAt(timeZone, candidate);
  if (second === first) {
    // A repeated hour: an earlier instant with the larger (pre-transition) offset shows the same wall time.
    const earlier = wall - Math.max(first, offsetAt(timeZone, candidate - 3 * 3_600_000));
    return earlier < candidate && wallClock(timeZone, earlier) === wall ? earlier : candidate;
  }
  const retry = wall - second;
  return offsetAt(timeZone, retry) === second ? retry : Math.max(candidate, retry);
}
