import { describe, expect, it } from 'vitest';
import { RequestTurns } from './request-turns.js';

/** Holds the event loop for `ms`, as a request's validation, entitlement checks and snapshots do. */
function busy(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // spin
  }
}

describe('RequestTurns', () => {
  it('lets a request through at once when nothing waits', () => {
    const turns = new RequestTurns(10);
    let passed = false;
    turns.admit({ connected: true }, () => (passed = true));
    expect(passed).toBe(true);
    expect(turns.backlog).toBe(0);
  });

  it('spreads a burst over several loop turns, in arrival order, letting timers run in between', async () => {
    const turns = new RequestTurns(10);
    const socket = { connected: true };
    const events: string[] = [];
    setTimeout(() => events.push('timer'), 0);
    // Twenty requests read in one go (one poll phase), each holding the loop for 4 ms.
    for (let i = 1; i <= 20; i++) {
      turns.admit(socket, () => {
        events.push(`request ${i}`);
        busy(4);
      });
    }
    expect(events.length).toBeLessThan(20); // the budget was spent: the rest wait for later turns
    expect(turns.backlog).toBeGreaterThan(0);
    await new Promise<void>((resolve) => {
      const check = (): void => (events.filter((e) => e.startsWith('request')).length === 20 ? resolve() : void setTimeout(check, 5));
      check();
    });
    const requests = events.filter((e) => e.startsWith('request'));
    expect(requests).toEqual(Array.from({ length: 20 }, (_, i) => `request ${i + 1}`));
    expect(events.indexOf('timer')).toBeLessThan(events.indexOf('request 20'));
    expect(turns.backlog).toBe(0);
  });

  it('counts the work a request does in its continuations (Nest answers after awaits) against the turn', async () => {
    const turns = new RequestTurns(10);
    const socket = { connected: true };
    const events: string[] = [];
    setTimeout(() => events.push('timer'), 0);
    // Twenty requests readable together: one callback each in the same loop phase (microtasks run between them).
    for (let i = 1; i <= 20; i++) {
      setImmediate(() =>
        turns.admit(socket, () => {
          // Nothing synchronous: the handler's work happens after an await, as a Nest pipeline's does.
          void Promise.resolve().then(() => {
            events.push(`request ${i}`);
            busy(4);
          });
        }),
      );
    }
    await new Promise<void>((resolve) => {
      const check = (): void => (events.filter((e) => e.startsWith('request')).length === 20 ? resolve() : void setTimeout(check, 5));
      check();
    });
    expect(events.filter((e) => e.startsWith('request'))).toEqual(Array.from({ length: 20 }, (_, i) => `request ${i + 1}`));
    expect(events.indexOf('timer')).toBeLessThan(events.indexOf('request 20'));
  });

  it('drops a waiting request whose socket left before its turn', async () => {
    const turns = new RequestTurns(1);
    const socket = { connected: true };
    const passed: number[] = [];
    turns.admit(socket, () => {
      passed.push(1);
      busy(3);
    });
    turns.admit(socket, () => passed.push(2)); // over budget: waits
    socket.connected = false;
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(passed).toEqual([1]);
    expect(turns.backlog).toBe(0);
  });
});
