import { describe, expect, it } from 'vitest';
import { liveEventsAfterRead } from './account-log.js';

const events = (...names: string[]) => names.map((fingerprint) => ({ fingerprint }));
const names = (list: { fingerprint: string }[]) => list.map((event) => event.fingerprint);

describe('liveEventsAfterRead (joining a log read with the live events received meanwhile)', () => {
  it('keeps only the live events after the read when the two overlap', () => {
    expect(names(liveEventsAfterRead(events('c', 'd', 'e', 'f'), ['a', 'b', 'c', 'd'], false))).toEqual(['e', 'f']);
  });

  it('keeps nothing when the read already holds every live event', () => {
    expect(names(liveEventsAfterRead(events('b', 'c'), ['a', 'b', 'c'], false))).toEqual([]);
  });

  it('keeps every live event when none of them is in the read', () => {
    expect(names(liveEventsAfterRead(events('d', 'e'), ['a', 'b', 'c'], false))).toEqual(['d', 'e']);
    expect(names(liveEventsAfterRead(events('d', 'e'), [], false))).toEqual(['d', 'e']);
  });

  it('finds the join when the received list is longer than the read (the log kept fewer than the replica saw)', () => {
    expect(names(liveEventsAfterRead(events('a', 'b', 'c', 'd', 'e'), ['c', 'd'], false))).toEqual(['e']);
  });

  it('checks the events before the read’s last one too, so a repeat of it further on is not taken for the join', () => {
    // The read ends with x after w; the received list holds x twice, only the first after w.
    expect(names(liveEventsAfterRead(events('w', 'x', 'y', 'x'), ['v', 'w', 'x'], false))).toEqual(['y', 'x']);
  });

  it('hands everything over with engine seqs: sequencing drops what the read already reached', () => {
    expect(names(liveEventsAfterRead(events('c', 'd', 'e'), ['a', 'b', 'c', 'd'], true))).toEqual(['c', 'd', 'e']);
  });
});
