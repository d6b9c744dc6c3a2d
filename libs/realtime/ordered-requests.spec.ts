import { afterEach, describe, expect, it, vi } from 'vitest';
import type { AckResponse } from '#libs/contracts';
import { OrderedRequests, type OrderedRequestsOptions } from './ordered-requests.js';

type Ack = (response: AckResponse<unknown>) => void;

/** What the socket's middleware does: admit each packet in arrival order; `next()` dispatches to the handler. */
class Harness {
  readonly dispatched: string[] = [];
  readonly answers: { label: string; response: AckResponse<unknown> }[] = [];
  readonly refusedEvents: string[] = [];
  /** The ack each dispatched request would be answered through (the middleware may have wrapped it). */
  readonly handlerAcks = new Map<string, Ack>();
  connected = true;
  private readonly ordered: OrderedRequests;

  constructor(options: Partial<OrderedRequestsOptions> = {}) {
    this.ordered = new OrderedRequests({
      events: new Set(['subscribe', 'unsubscribe']),
      maxWaiting: 3,
      holdMs: 1_000,
      refused: (event) => this.refusedEvents.push(event),
      ...options,
    });
  }

  /** A packet arrives; `label` names it in `dispatched` and `answers`. */
  arrive(label: string, event: string, withAck = true): void {
    const packet: unknown[] = [event, { label }];
    if (withAck) packet.push(((response) => this.answers.push({ label, response })) satisfies Ack);
    this.ordered.admit(this, packet, () => {
      this.dispatched.push(label);
      const ack = packet[packet.length - 1];
      if (typeof ack === 'function') this.handlerAcks.set(label, ack as Ack);
    });
  }

  /** The handler of `label` answers. */
  answer(label: string): void {
    const ack = this.handlerAcks.get(label);
    if (!ack) throw new Error(`${label} was not dispatched`);
    ack({ ok: true, data: label });
  }
}

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('OrderedRequests', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('dispatches each ordered request only after the one before it was answered', async () => {
    const socket = new Harness();
    socket.arrive('sub', 'subscribe');
    socket.arrive('unsub', 'unsubscribe');
    await settle();
    expect(socket.dispatched).toEqual(['sub']);
    socket.answer('sub');
    await settle();
    expect(socket.dispatched).toEqual(['sub', 'unsub']);
    socket.answer('unsub');
    expect(socket.answers.map((a) => a.label)).toEqual(['sub', 'unsub']);
  });

  it('lets other events through at once, even while an ordered request waits', async () => {
    const socket = new Harness();
    socket.arrive('sub', 'subscribe');
    socket.arrive('unsub', 'unsubscribe');
    socket.arrive('order', 'order:submit');
    expect(socket.dispatched).toEqual(['order']);
    await settle();
    expect(socket.dispatched).toEqual(['order', 'sub']);
  });

  it('refuses with RATE_LIMITED past maxWaiting, without dispatching, and takes requests again once answered', async () => {
    const socket = new Harness({ maxWaiting: 2 });
    socket.arrive('a', 'subscribe');
    socket.arrive('b', 'subscribe');
    socket.arrive('c', 'subscribe');
    expect(socket.answers).toEqual([
      { label: 'c', response: { ok: false, error: { code: 'RATE_LIMITED', status: 429, message: 'more than 2 subscription requests waiting on this connection', retryAfterMs: 1_000 } } },
    ]);
    expect(socket.refusedEvents).toEqual(['subscribe']);
    await settle();
    socket.answer('a');
    socket.arrive('d', 'unsubscribe');
    await settle();
    socket.answer('b');
    await settle();
    socket.answer('d');
    expect(socket.dispatched).toEqual(['a', 'b', 'd']);
    expect(socket.answers.map((a) => a.label)).toEqual(['c', 'a', 'b', 'd']);
  });

  it('does not let a lost answer hold up later requests for longer than holdMs', async () => {
    vi.useFakeTimers();
    const socket = new Harness({ holdMs: 500 });
    socket.arrive('lost', 'subscribe');
    socket.arrive('next', 'unsubscribe');
    await vi.advanceTimersByTimeAsync(0);
    expect(socket.dispatched).toEqual(['lost']);
    await vi.advanceTimersByTimeAsync(499);
    expect(socket.dispatched).toEqual(['lost']);
    await vi.advanceTimersByTimeAsync(1);
    expect(socket.dispatched).toEqual(['lost', 'next']);
    // The late answer still reaches the client, and counts once.
    socket.answer('lost');
    socket.answer('next');
    expect(socket.answers.map((a) => a.label)).toEqual(['lost', 'next']);
  });

  it('keeps a request without an ack behind its predecessors; nothing waits for it', async () => {
    const socket = new Harness();
    socket.arrive('sub', 'subscribe');
    socket.arrive('fire-and-forget', 'unsubscribe', false);
    socket.arrive('resub', 'subscribe');
    await settle();
    expect(socket.dispatched).toEqual(['sub']);
    socket.answer('sub');
    await settle();
    expect(socket.dispatched).toEqual(['sub', 'fire-and-forget', 'resub']);
  });

  it('drops what was waiting when the socket disconnects', async () => {
    const socket = new Harness();
    socket.arrive('sub', 'subscribe');
    socket.arrive('unsub', 'unsubscribe');
    await settle();
    socket.connected = false;
    socket.answer('sub');
    await settle();
    expect(socket.dispatched).toEqual(['sub']);
  });
});
