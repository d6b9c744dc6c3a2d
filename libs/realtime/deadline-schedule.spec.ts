import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DeadlineSchedule } from './deadline-schedule.js';

describe('DeadlineSchedule', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date('2026-11-29T03:00:00.250Z'));
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function schedule() {
    const fired: { item: string; at: number }[] = [];
    const items = new Map<string, { name: string }>();
    const item = (name: string) => {
      let found = items.get(name);
      if (!found) {
        found = { name };
        items.set(name, found);
      }
      return found;
    };
    const deadlines = new DeadlineSchedule<{ name: string }>(
      (fired_) => fired.push({ item: fired_.name, at: Date.now() }),
      (error) => {
        throw error;
      },
    );
    return { deadlines, fired, item };
  }

  it('calls back a near deadline at it or within a second after, never before', () => {
    const { deadlines, fired, item } = schedule();
    const at = Date.now() + 2_300;
    deadlines.set(item('a'), at);
    vi.advanceTimersByTime(2_299);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(1_000);
    expect(fired).toHaveLength(1);
    expect(fired[0].at).toBeGreaterThanOrEqual(at);
    expect(fired[0].at - at).toBeLessThanOrEqual(1_000);
    expect(deadlines.size).toBe(0);
  });

  it('calls back a far deadline up to a minute early, and again on time once set again', () => {
    const fired: number[] = [];
    const target = Date.now() + 10 * 60_000 + 1_234;
    const item = { name: 'far' };
    const deadlines: DeadlineSchedule<typeof item> = new DeadlineSchedule(
      (it_) => {
        fired.push(Date.now());
        // As DomainGateway does: not there yet, set it again.
        if (Date.now() < target) deadlines.set(it_, target);
      },
      (error) => {
        throw error;
      },
    );
    deadlines.set(item, target);
    vi.advanceTimersByTime(10 * 60_000 + 1_234 + 1_000);
    expect(fired.length).toBeGreaterThanOrEqual(2);
    expect(fired[0]).toBeGreaterThan(target - 60_000);
    expect(fired[0]).toBeLessThan(target);
    const last = fired[fired.length - 1];
    expect(last).toBeGreaterThanOrEqual(target);
    expect(last - target).toBeLessThanOrEqual(1_000);
  });

  it('forgets a deleted or replaced deadline, and serves many items with one timer', () => {
    const { deadlines, fired, item } = schedule();
    const now = Date.now();
    for (let i = 0; i < 100; i++) deadlines.set(item(`s${i}`), now + 5_000 + (i % 3));
    deadlines.delete(item('s7'));
    deadlines.set(item('s8'), now + 30_000);
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(6_000);
    expect(fired).toHaveLength(98);
    expect(fired.map((f) => f.item)).not.toContain('s7');
    expect(fired.map((f) => f.item)).not.toContain('s8');
    vi.advanceTimersByTime(25_000);
    expect(fired.map((f) => f.item)).toContain('s8');
    expect(deadlines.size).toBe(0);
  });

  it('arms for an earlier deadline set after a later one', () => {
    const { deadlines, fired, item } = schedule();
    deadlines.set(item('late'), Date.now() + 20_000);
    deadlines.set(item('early'), Date.now() + 2_000);
    vi.advanceTimersByTime(3_000);
    expect(fired.map((f) => f.item)).toEqual(['early']);
    vi.advanceTimersByTime(18_000);
    expect(fired.map((f) => f.item)).toEqual(['early', 'late']);
  });

  it('keeps serving the others when one callback throws', () => {
    const failures: string[] = [];
    const fired: string[] = [];
    const deadlines = new DeadlineSchedule<{ name: string }>(
      (item) => {
        if (item.name === 'bad') throw new Error('boom');
        fired.push(item.name);
      },
      (error, item) => failures.push(`${item.name}: ${(error as Error).message}`),
    );
    deadlines.set({ name: 'bad' }, Date.now() + 1_000);
    deadlines.set({ name: 'good' }, Date.now() + 1_000);
    vi.advanceTimersByTime(2_000);
    expect(fired).toEqual(['good']);
    expect(failures).toEqual(['bad: boom']);
  });
});
