import { afterEach, describe, expect, it } from 'vitest';
import { DelayLine, type DelayedEntry } from './delay-line.js';

describe('DelayLine', () => {
  let clock = 0;
  const released: { stream: string; entries: DelayedEntry[] }[] = [];
  const drops: number[] = [];
  let line: DelayLine | undefined;
  const make = (delayMs: number, maxEntries: number) => {
    clock = 1_000_000;
    released.length = 0;
    drops.length = 0;
    line = new DelayLine({ delayMs, maxEntries, now: () => clock, release: (stream, entries) => released.push({ stream, entries }), dropped: (_s, n) => drops.push(n) });
    return line;
  };
  afterEach(() => line?.stop());

  it('releases nothing before delayMs, then the latest state', () => {
    const delay = make(60_000, 1000);
    delay.track('quote:NYSE:KO', 'state');
    delay.record('quote:NYSE:KO', 1, clock, { last: '60.00' });
    clock += 30_000;
    delay.record('quote:NYSE:KO', 2, clock, { last: '60.10' });
    delay.releaseDue();
    expect(released).toEqual([]);
    expect(delay.latestReleased('quote:NYSE:KO')).toBeUndefined();
    clock += 30_000;
    delay.releaseDue();
    expect(released.map((r) => r.entries.map((e) => e.seq))).toEqual([[1]]);
    clock += 30_000;
    delay.releaseDue();
    expect(released.at(-1)?.entries.map((e) => e.seq)).toEqual([2]);
    expect(delay.latestReleased('quote:NYSE:KO')?.payload).toEqual({ last: '60.10' });
  });

  it('keeps every trade, in order, within the stream share', () => {
    const delay = make(1_000, 1000);
    delay.track('trade:NYSE:KO', 'events');
    for (let seq = 1; seq <= 50; seq++) delay.record('trade:NYSE:KO', seq, clock, { tradeId: String(seq) });
    clock += 1_000;
    delay.releaseDue();
    expect(released[0]?.entries.map((e) => e.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(drops).toEqual([]);
  });

  it('bounds memory by one budget shared by every stream, however many are delayed', () => {
    const budget = 1_000;
    const delay = make(900_000, budget);
    const streams = Array.from({ length: 300 }, (_, i) => `quote:X:S${i}`);
    for (const stream of streams) delay.track(stream, 'state');
    delay.track('trade:X:S0', 'events');
    // 15 minutes of 10 updates per second on every stream.
    for (let t = 0; t < 900; t++) {
      clock += 1_000;
      for (const stream of streams) for (let k = 0; k < 10; k++) delay.record(stream, t * 10 + k, clock, { k });
      for (let k = 0; k < 10; k++) delay.record('trade:X:S0', t * 10 + k, clock, { k });
    }
    expect(delay.heldEntries).toBeLessThanOrEqual(budget);
    expect(drops.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
  });

  it('stops recording a stream when its last user leaves', () => {
    const delay = make(1_000, 100);
    delay.track('quote:NYSE:KO', 'state');
    delay.track('quote:NYSE:KO', 'state');
    delay.untrack('quote:NYSE:KO');
    expect(delay.isTracked('quote:NYSE:KO')).toBe(true);
    delay.untrack('quote:NYSE:KO');
    expect(delay.isTracked('quote:NYSE:KO')).toBe(false);
    delay.record('quote:NYSE:KO', 1, clock, {});
    expect(delay.heldEntries).toBe(0);
  });
});
