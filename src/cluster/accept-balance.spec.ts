import { describe, expect, it } from 'vitest';
import { AcceptBalance, type AcceptCommand } from './accept-balance.js';

const accepting = (connections: number) => ({ connections, accepting: true });
const closed = (connections: number) => ({ connections, accepting: false });

describe('AcceptBalance', () => {
  it('tells nothing while every worker is within the slack of the least loaded', () => {
    const balance = new AcceptBalance<number>(10);
    expect(balance.report(1, accepting(100))).toEqual([]);
    expect(balance.report(2, accepting(110))).toEqual([]);
    expect(balance.report(3, accepting(105))).toEqual([]);
  });

  it('closes the listener of a worker more than the slack above the least loaded, and only that one', () => {
    const balance = new AcceptBalance<number>(10);
    balance.report(1, accepting(100));
    balance.report(2, accepting(105));
    expect(balance.report(3, accepting(111))).toEqual<AcceptCommand<number>[]>([{ worker: 3, accept: false }]);
    // Told once: the same report again tells nothing new.
    expect(balance.report(3, accepting(112))).toEqual([]);
  });

  it('opens it again once the worker is within half the slack, not at the first connection the others take', () => {
    const balance = new AcceptBalance<number>(10);
    balance.report(1, accepting(100));
    expect(balance.report(2, accepting(120))).toEqual([{ worker: 2, accept: false }]);
    expect(balance.report(2, closed(120))).toEqual([]);
    expect(balance.report(1, accepting(112))).toEqual([]);
    expect(balance.report(1, accepting(114))).toEqual([]);
    expect(balance.report(1, accepting(115))).toEqual([{ worker: 2, accept: true }]);
  });

  it('never closes the last listener: a worker is closed only while another says it accepts', () => {
    const balance = new AcceptBalance<number>(10);
    // Worker 1 is the least loaded but its listener is not open yet (it was told to open, and has not said so).
    balance.report(1, closed(0));
    expect(balance.report(2, accepting(50))).toEqual([]);
    // Once worker 1 says it accepts, worker 2 may stop.
    expect(balance.report(1, accepting(0))).toEqual([{ worker: 2, accept: false }]);
  });

  it('keeps one overloaded worker listening until the least loaded one says it accepts', () => {
    const balance = new AcceptBalance<number>(10);
    balance.report(1, accepting(100));
    balance.report(2, accepting(100));
    // A new worker 3, its listener not open yet: worker 1 may stop (worker 2 still accepts), worker 2 may not.
    expect(balance.report(3, closed(0))).toEqual([{ worker: 1, accept: false }]);
    expect(balance.report(1, closed(100))).toEqual([]);
    expect(balance.report(3, accepting(0))).toEqual([{ worker: 2, accept: false }]);
  });

  it('opens every closed listener when a worker goes away', () => {
    const balance = new AcceptBalance<number>(10);
    balance.report(1, accepting(0));
    expect(balance.report(2, accepting(40))).toEqual([{ worker: 2, accept: false }]);
    expect(balance.report(3, accepting(50))).toEqual([{ worker: 3, accept: false }]);
    expect(balance.remove(1)).toEqual([
      { worker: 2, accept: true },
      { worker: 3, accept: true },
    ]);
    expect(balance.remove(2)).toEqual([]);
  });

  it('balances nothing with a slack of 0, or with one worker', () => {
    const off = new AcceptBalance<number>(0);
    off.report(1, accepting(0));
    expect(off.report(2, accepting(10_000))).toEqual([]);
    const alone = new AcceptBalance<number>(10);
    expect(alone.report(1, accepting(10_000))).toEqual([]);
  });
});
