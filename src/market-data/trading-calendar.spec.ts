import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { TradingCalendar, type TradingCalendarData } from './trading-calendar.js';

const DATA_FILE = fileURLToPath(new URL('../../data/trading-calendars.json', import.meta.url));
const calendar = () => TradingCalendar.fromFile(DATA_FILE);
/** An instant written as UTC: the expectations below spell out each zone's offset on purpose. */
const utc = (iso: string) => Date.parse(`${iso}Z`);

describe('TradingCalendar', () => {
  it('loads every exchange of the data file', () => {
    expect(calendar().exchanges()).toEqual(['ADX', 'BINANCE', 'EGX', 'LSE', 'NASDAQ', 'NYSE']);
    expect(calendar().has('NYSE')).toBe(true);
    expect(calendar().has('TSE')).toBe(false);
  });

  describe('NYSE in winter (EST, UTC-5): Thursday 2026-01-15', () => {
    const cal = calendar();
    it('is CLOSED overnight, since the previous close, until the 04:00 pre-open', () => {
      expect(cal.statusAt('NYSE', utc('2026-01-15T08:59:59.999'))).toEqual({ status: 'CLOSED', since: utc('2026-01-14T21:00'), nextChange: utc('2026-01-15T09:00') });
    });
    it('is PRE_OPEN from 04:00 until 09:30', () => {
      expect(cal.statusAt('NYSE', utc('2026-01-15T09:00'))).toEqual({ status: 'PRE_OPEN', since: utc('2026-01-15T09:00'), nextChange: utc('2026-01-15T14:30') });
      expect(cal.statusAt('NYSE', utc('2026-01-15T14:29:59.999')).status).toBe('PRE_OPEN');
    });
    it('is OPEN from 09:30 (14:30 UTC) until 16:00 (21:00 UTC)', () => {
      expect(cal.statusAt('NYSE', utc('2026-01-15T14:30'))).toEqual({ status: 'OPEN', since: utc('2026-01-15T14:30'), nextChange: utc('2026-01-15T21:00') });
      expect(cal.statusAt('NYSE', utc('2026-01-15T20:59:59.999'))).toEqual({ status: 'OPEN', since: utc('2026-01-15T14:30'), nextChange: utc('2026-01-15T21:00') });
    });
    it('is CLOSED from 16:00 until the next pre-open', () => {
      expect(cal.statusAt('NYSE', utc('2026-01-15T21:00'))).toEqual({ status: 'CLOSED', since: utc('2026-01-15T21:00'), nextChange: utc('2026-01-16T09:00') });
    });
    it('skips the weekend and Martin Luther King Day (Monday 2026-01-19)', () => {
      expect(cal.statusAt('NYSE', utc('2026-01-16T21:00'))).toEqual({ status: 'CLOSED', since: utc('2026-01-16T21:00'), nextChange: utc('2026-01-20T09:00') });
      expect(cal.statusAt('NASDAQ', utc('2026-01-19T15:00'))).toEqual({ status: 'CLOSED', since: utc('2026-01-16T21:00'), nextChange: utc('2026-01-20T09:00') });
    });
  });

  describe('NYSE in summer (EDT, UTC-4): Wednesday 2026-07-15', () => {
    const cal = calendar();
    it('opens at 09:30 New York time, 13:30 UTC', () => {
      expect(cal.statusAt('NYSE', utc('2026-07-15T13:29:59.999'))).toEqual({ status: 'PRE_OPEN', since: utc('2026-07-15T08:00'), nextChange: utc('2026-07-15T13:30') });
      expect(cal.statusAt('NYSE', utc('2026-07-15T13:30'))).toEqual({ status: 'OPEN', since: utc('2026-07-15T13:30'), nextChange: utc('2026-07-15T20:00') });
    });
    it('closes at 16:00 New York time, 20:00 UTC', () => {
      expect(cal.statusAt('NYSE', utc('2026-07-15T19:59:59.999')).status).toBe('OPEN');
      expect(cal.statusAt('NYSE', utc('2026-07-15T20:00'))).toEqual({ status: 'CLOSED', since: utc('2026-07-15T20:00'), nextChange: utc('2026-07-16T08:00') });
    });
    it('counts the DST switch between (2026-03-06 EST close, 2026-03-09 EDT pre-open)', () => {
      expect(cal.statusAt('NYSE', utc('2026-03-07T12:00'))).toEqual({ status: 'CLOSED', since: utc('2026-03-06T21:00'), nextChange: utc('2026-03-09T08:00') });
    });
  });

  describe('US holidays and early closes', () => {
    const cal = calendar();
    it('is CLOSED all day on Independence Day observed (Friday 2026-07-03), through the weekend', () => {
      for (const at of ['2026-07-03T08:30', '2026-07-03T14:00', '2026-07-04T14:00', '2026-07-06T07:59:59.999']) {
        expect(cal.statusAt('NYSE', utc(at))).toEqual({ status: 'CLOSED', since: utc('2026-07-02T20:00'), nextChange: utc('2026-07-06T08:00') });
      }
    });
    it('is CLOSED on Thanksgiving and closes at 13:00 the day after', () => {
      expect(cal.statusAt('NASDAQ', utc('2026-11-26T16:00'))).toEqual({ status: 'CLOSED', since: utc('2026-11-25T21:00'), nextChange: utc('2026-11-27T09:00') });
      expect(cal.statusAt('NASDAQ', utc('2026-11-27T15:00'))).toEqual({ status: 'OPEN', since: utc('2026-11-27T14:30'), nextChange: utc('2026-11-27T18:00') });
      expect(cal.statusAt('NASDAQ', utc('2026-11-27T18:00')).status).toBe('CLOSED');
    });
    it('is CLOSED on Good Friday 2027 (2027-03-26)', () => {
      expect(cal.statusAt('NYSE', utc('2027-03-26T15:00'))).toEqual({ status: 'CLOSED', since: utc('2027-03-25T20:00'), nextChange: utc('2027-03-29T08:00') });
    });
  });

  describe('LSE across the UK DST switch (BST from Sunday 2026-03-29)', () => {
    const cal = calendar();
    it('opens at 08:00 GMT = 08:00 UTC on Friday 2026-03-27', () => {
      expect(cal.statusAt('LSE', utc('2026-03-27T07:50'))).toEqual({ status: 'PRE_OPEN', since: utc('2026-03-27T07:50'), nextChange: utc('2026-03-27T08:00') });
      expect(cal.statusAt('LSE', utc('2026-03-27T08:00'))).toEqual({ status: 'OPEN', since: utc('2026-03-27T08:00'), nextChange: utc('2026-03-27T16:30') });
    });
    it('over the weekend waits for 07:50 BST = 06:50 UTC on Monday', () => {
      expect(cal.statusAt('LSE', utc('2026-03-28T12:00'))).toEqual({ status: 'CLOSED', since: utc('2026-03-27T16:30'), nextChange: utc('2026-03-30T06:50') });
    });
    it('opens at 08:00 BST = 07:00 UTC and closes at 16:30 BST = 15:30 UTC on Monday 2026-03-30', () => {
      expect(cal.statusAt('LSE', utc('2026-03-30T06:59:59.999')).status).toBe('PRE_OPEN');
      expect(cal.statusAt('LSE', utc('2026-03-30T07:00'))).toEqual({ status: 'OPEN', since: utc('2026-03-30T07:00'), nextChange: utc('2026-03-30T15:30') });
      expect(cal.statusAt('LSE', utc('2026-03-30T15:30'))).toEqual({ status: 'CLOSED', since: utc('2026-03-30T15:30'), nextChange: utc('2026-03-31T06:50') });
    });
    it('goes back to GMT after Sunday 2026-10-25 and skips the Easter bank holidays', () => {
      expect(cal.statusAt('LSE', utc('2026-10-24T12:00'))).toEqual({ status: 'CLOSED', since: utc('2026-10-23T15:30'), nextChange: utc('2026-10-26T07:50') });
      expect(cal.statusAt('LSE', utc('2026-04-03T10:00'))).toEqual({ status: 'CLOSED', since: utc('2026-04-02T15:30'), nextChange: utc('2026-04-07T06:50') });
    });
  });

  describe('EGX (Cairo, Sunday to Thursday)', () => {
    const cal = calendar();
    it('is OPEN on Sunday 2026-01-11, 10:00-14:30 Cairo (UTC+2)', () => {
      expect(cal.statusAt('EGX', utc('2026-01-11T07:45'))).toEqual({ status: 'PRE_OPEN', since: utc('2026-01-11T07:30'), nextChange: utc('2026-01-11T08:00') });
      expect(cal.statusAt('EGX', utc('2026-01-11T09:00'))).toEqual({ status: 'OPEN', since: utc('2026-01-11T08:00'), nextChange: utc('2026-01-11T12:30') });
    });
    it('is CLOSED on Friday 2026-01-16 and Saturday, from Thursday close to Sunday pre-open', () => {
      expect(cal.statusAt('EGX', utc('2026-01-16T09:00'))).toEqual({ status: 'CLOSED', since: utc('2026-01-15T12:30'), nextChange: utc('2026-01-18T07:30') });
      expect(cal.statusAt('EGX', utc('2026-01-17T09:00'))).toEqual({ status: 'CLOSED', since: utc('2026-01-15T12:30'), nextChange: utc('2026-01-18T07:30') });
    });
    it('follows Egyptian summer time (UTC+3) in July', () => {
      expect(cal.statusAt('EGX', utc('2026-07-12T07:00'))).toEqual({ status: 'OPEN', since: utc('2026-07-12T07:00'), nextChange: utc('2026-07-12T11:30') });
    });
  });

  describe('ADX (Abu Dhabi, UTC+4 all year, Monday to Friday)', () => {
    const cal = calendar();
    it('is OPEN 10:00-15:00 Dubai time, including Friday', () => {
      expect(cal.statusAt('ADX', utc('2026-01-16T06:00'))).toEqual({ status: 'OPEN', since: utc('2026-01-16T06:00'), nextChange: utc('2026-01-16T11:00') });
      expect(cal.statusAt('ADX', utc('2026-07-17T10:59:59.999')).status).toBe('OPEN');
    });
    it('is CLOSED over the weekend until the Monday pre-open', () => {
      expect(cal.statusAt('ADX', utc('2026-01-18T06:00'))).toEqual({ status: 'CLOSED', since: utc('2026-01-16T11:00'), nextChange: utc('2026-01-19T05:30') });
    });
  });

  describe('BINANCE', () => {
    it('is always OPEN, with no nextChange', () => {
      const cal = calendar();
      for (const at of ['2026-01-01T00:00', '2026-07-04T12:00', '2027-12-25T23:59']) {
        const state = cal.statusAt('BINANCE', utc(at));
        expect(state).toEqual({ status: 'OPEN', since: utc('2017-07-14T00:00') });
        expect('nextChange' in state).toBe(false);
      }
    });
  });

  describe('engine overrides', () => {
    it('HALTED wins until the next scheduled change, then the calendar applies again', () => {
      const cal = calendar();
      const haltAt = utc('2026-01-15T16:00'); // 11:00 New York
      expect(cal.override('NYSE', 'HALTED', haltAt)).toEqual({ status: 'HALTED', since: haltAt, nextChange: utc('2026-01-15T21:00') });
      expect(cal.statusAt('NYSE', haltAt - 1)).toEqual({ status: 'OPEN', since: utc('2026-01-15T14:30'), nextChange: utc('2026-01-15T21:00') });
      expect(cal.statusAt('NYSE', utc('2026-01-15T20:59:59.999'))).toEqual({ status: 'HALTED', since: haltAt, nextChange: utc('2026-01-15T21:00') });
      expect(cal.statusAt('NYSE', utc('2026-01-15T21:00'))).toEqual({ status: 'CLOSED', since: utc('2026-01-15T21:00'), nextChange: utc('2026-01-16T09:00') });
      expect(cal.statusAt('NYSE', utc('2026-01-16T15:00'))).toEqual({ status: 'OPEN', since: utc('2026-01-16T14:30'), nextChange: utc('2026-01-16T21:00') });
      expect(cal.statusAt('NASDAQ', haltAt).status).toBe('OPEN'); // per exchange
      expect(cal.scheduledAt('NYSE', haltAt).status).toBe('OPEN');
    });

    it('a resume after a halt is OPEN from the resume, until the scheduled close', () => {
      const cal = calendar();
      cal.override('NYSE', 'HALTED', utc('2026-01-15T16:00'));
      const resumeAt = utc('2026-01-15T16:20');
      expect(cal.override('NYSE', 'OPEN', resumeAt)).toEqual({ status: 'OPEN', since: resumeAt, nextChange: utc('2026-01-15T21:00') });
      expect(cal.statusAt('NYSE', utc('2026-01-15T21:00')).status).toBe('CLOSED');
    });

    it('a status the calendar already shows changes nothing', () => {
      const cal = calendar();
      expect(cal.override('NYSE', 'OPEN', utc('2026-01-15T14:30:00.050'))).toEqual({ status: 'OPEN', since: utc('2026-01-15T14:30'), nextChange: utc('2026-01-15T21:00') });
      expect(cal.statusAt('NYSE', utc('2026-01-15T15:00')).since).toBe(utc('2026-01-15T14:30'));
    });

    it('an early close keeps its own since after the scheduled close', () => {
      const cal = calendar();
      const closeAt = utc('2026-01-15T18:00');
      cal.override('NYSE', 'CLOSED', closeAt);
      expect(cal.statusAt('NYSE', utc('2026-01-15T19:00'))).toEqual({ status: 'CLOSED', since: closeAt, nextChange: utc('2026-01-16T09:00') });
      expect(cal.statusAt('NYSE', utc('2026-01-15T22:00'))).toEqual({ status: 'CLOSED', since: closeAt, nextChange: utc('2026-01-16T09:00') });
      expect(cal.statusAt('NYSE', utc('2026-01-16T09:00')).status).toBe('PRE_OPEN');
    });

    it('an always-open venue stays HALTED until the engine says otherwise', () => {
      const cal = calendar();
      const haltAt = utc('2026-05-01T12:00');
      expect(cal.override('BINANCE', 'HALTED', haltAt)).toEqual({ status: 'HALTED', since: haltAt });
      expect(cal.statusAt('BINANCE', haltAt + 86_400_000)).toEqual({ status: 'HALTED', since: haltAt });
      expect(cal.override('BINANCE', 'OPEN', haltAt + 3_600_000)).toEqual({ status: 'OPEN', since: haltAt + 3_600_000 });
      cal.clearOverride('BINANCE');
      expect(cal.statusAt('BINANCE', haltAt)).toEqual({ status: 'OPEN', since: utc('2017-07-14T00:00') });
    });

    it('an exchange without a calendar answers only from overrides', () => {
      const cal = calendar();
      expect(() => cal.statusAt('TSE', 0)).toThrow(/no trading calendar/);
      cal.override('TSE', 'OPEN', 1_000);
      expect(cal.statusAt('TSE', 2_000)).toEqual({ status: 'OPEN', since: 1_000 });
    });
  });

  describe('data validation', () => {
    const base = { timeZone: 'Europe/London', tradingDays: ['Mon'], open: '08:00', close: '16:30' } as const;
    const build = (spec: unknown) => new TradingCalendar({ exchanges: { X: spec } } as unknown as TradingCalendarData);
    it('rejects an unknown time zone, bad times and bad dates', () => {
      expect(() => build({ ...base, timeZone: 'Mars/Olympus' })).toThrow(/time zone/);
      expect(() => build({ ...base, open: '8:00' })).toThrow(/HH:MM/);
      expect(() => build({ ...base, close: '07:00' })).toThrow(/after open/);
      expect(() => build({ ...base, holidays: ['2026-02-30'] })).toThrow(/ISO date/);
      expect(() => build({ ...base, tradingDays: ['Funday'] })).toThrow(/trading day/);
    });
    it('without preOpen goes straight from CLOSED to OPEN', () => {
      expect(build(base).statusAt('X', utc('2026-01-12T07:00'))).toEqual({ status: 'CLOSED', since: utc('2026-01-05T16:30'), nextChange: utc('2026-01-12T08:00') });
    });
  });

  it('is cheap enough to call per subscribe', () => {
    const cal = calendar();
    const start = performance.now();
    for (let i = 0; i < 20_000; i++) cal.statusAt(['NYSE', 'LSE', 'EGX', 'ADX'][i % 4], utc('2026-01-15T00:00') + i * 60_000);
    expect(performance.now() - start).toBeLessThan(2_000);
  });
});
