import { wireError, type AckResponse } from '#libs/contracts';

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
  /** Whether the socket is still there: a request whose turn comes after a disconnect is dropped. */
  connected: () => boolean;
  /** A request refused because too many were waiting (for metrics). */
  refused: (event: string) => void;
}

/**
 * Socket.IO middleware (`socket.use`) that lets a socket's ordered requests reach their handlers one at a time, in
 * arrival order: each waits until the one before it has been answered (its ack called). Middleware runs in the order
 * packets arrive, whatever happens to them afterwards, so this holds however many awaits a handler's guards and
 * interceptors take. A request sent without an ack cannot be followed to its answer: it waits for its predecessors,
 * and nothing waits for it.
 */
export function orderedRequests(options: OrderedRequestsOptions): (packet: unknown[], next: (error?: Error) => void) => void {
  let previousAnswered: Promise<void> = Promise.resolve();
  let waiting = 0;
  const letThrough = (after: Promise<void>, next: () => void): void => {
    void after.then(() => {
      if (options.connected()) next();
    });
  };
  return (packet, next) => {
    const event = packet[0];
    if (typeof event !== 'string' || !options.events.has(event)) return next();
    const ackIndex = packet.length - 1;
    const ack = packet[ackIndex];
    if (typeof ack !== 'function') return letThrough(previousAnswered, next);
    const answer = ack as Ack;
    if (waiting >= options.maxWaiting) {
      options.refused(event);
      answer({ ok: false, error: wireError('RATE_LIMITED', `more than ${options.maxWaiting} subscription requests waiting on this connection`, { retryAfterMs: 1_000 }) });
      return;
    }
    waiting++;
    const turn = previousAnswered;
    previousAnswered = new Promise<void>((answered) => {
      let settled = false;
      const done = (): void => {
        if (settled) return;
        settled = true;
        clearTimeout(hold);
        waiting--;
        answered();
      };
      const hold = setTimeout(done, options.holdMs);
      hold.unref();
      packet[ackIndex] = ((response) => {
        done();
        answer(response);
      }) satisfies Ack;
    });
    letThrough(turn, next);
  };
}
