import { wireError, type AckResponse } from '#libs/contracts';
import type { RequestSource } from './request-turns.js';

type Ack = (response: AckResponse<unknown>) => void;

export interface OrderedRequestsOptions {
  /** The events kept in order; every other event passes straight through. */
  events: ReadonlySet<string>;
  /** How many ordered requests with an ack may wait for their turn; more are refused at once with RATE_LIMITED. */
  maxWaiting: number;
  /**
   * How long an answered-to-be request may hold up the next one. Every answer comes well within it; it only keeps a
   * lost answer from stalling the socket's later requests for good.
   */
  holdMs: number;
  /** A request refused because too many were waiting (for metrics). */
  refused: (event: string) => void;
}

/** One socket's ordered requests in flight: the answer the next one waits for, and how many are unanswered. */
interface SourceTurns {
  previousAnswered: Promise<void>;
  waiting: number;
}

const ANSWERED: Promise<void> = Promise.resolve();

/**
 * Lets a socket's ordered requests reach their handlers one at a time, in arrival order: each waits until the one
 * before it has been answered (its ack called). Called from the socket's middleware, which Socket.IO runs in the order
 * packets arrive whatever happens to them afterwards, so this holds however many awaits a handler's guards and
 * interceptors take. A request sent without an ack cannot be followed to its answer: it waits for its predecessors,
 * and nothing waits for it.
 *
 * One instance serves every socket of a namespace. A socket has state here only while one of its ordered requests is
 * unanswered: an idle connection costs nothing.
 */
export class OrderedRequests {
  private readonly turns = new WeakMap<RequestSource, SourceTurns>();

  constructor(private readonly options: OrderedRequestsOptions) {}

  /** A packet of `source` arrives: `next` dispatches it to its handler, now or when its turn comes. */
  admit(source: RequestSource, packet: unknown[], next: () => void): void {
    const event = packet[0];
    if (typeof event !== 'string' || !this.options.events.has(event)) return next();
    const ackIndex = packet.length - 1;
    const ack = packet[ackIndex];
    let state = this.turns.get(source);
    if (typeof ack !== 'function') return letThrough(source, state?.previousAnswered ?? ANSWERED, next);
    const answer = ack as Ack;
    const { maxWaiting } = this.options;
    if ((state?.waiting ?? 0) >= maxWaiting) {
      this.options.refused(event);
      answer({ ok: false, error: wireError('RATE_LIMITED', `more than ${maxWaiting} subscription requests waiting on this connection`, { retryAfterMs: 1_000 }) });
      return;
    }
    if (!state) {
      state = { previousAnswered: ANSWERED, waiting: 0 };
      this.turns.set(source, state);
    }
    const current = state;
    current.waiting++;
    const turn = current.previousAnswered;
    current.previousAnswered = new Promise<void>((answered) => {
      let settled = false;
      const done = (): void => {
        if (settled) return;
        settled = true;
        clearTimeout(hold);
        // Nothing left to wait for: forget the socket until its next ordered request.
        if (--current.waiting === 0 && this.turns.get(source) === current) this.turns.delete(source);
        answered();
      };
      const hold = setTimeout(done, this.options.holdMs);
      hold.unref();
      packet[ackIndex] = ((response) => {
        done();
        answer(response);
      }) satisfies Ack;
    });
    letThrough(source, turn, next);
  }
}

function letThrough(source: RequestSource, after: Promise<void>, next: () => void): void {
  void after.then(() => {
    if (source.connected) next();
  });
}
