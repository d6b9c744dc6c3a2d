import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { exchangeFromSessionSubject, SERVER_EVENTS, type SessionPayload, type SessionStatus } from '#libs/contracts';
import type { GatewayNamespace, GatewaySocket } from '#libs/realtime';
import type { EngineEventOutcome, EngineStreamHandler } from '../engine/stream-handler.js';
import { TradingCalendar } from './trading-calendar.js';

/**
 * Exchange sessions: the calendar's schedule, and engine `md.session.{EXCHANGE}` events in (a halt, or the status of
 * an exchange the calendar does not know), told to the clients subscribed to the exchange's instruments.
 */
@Injectable()
export class ExchangeSessions implements EngineStreamHandler<{ ts: number; status: SessionStatus }>, OnApplicationShutdown {
  /** Engine session statuses of exchanges the calendar does not know. */
  private readonly engineOnly = new Map<string, SessionPayload>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private namespace: GatewayNamespace | undefined;

  constructor(private readonly calendar: TradingCalendar) {}

  attach(namespace: GatewayNamespace): void {
    this.namespace = namespace;
    for (const exchange of this.calendar.exchanges()) this.armTimer(exchange);
  }

  /** An engine `md.session` event: it wins over the calendar (a halt) until the calendar's next scheduled change. */
  onEngineEvent(subject: string, value: { ts: number; status: SessionStatus }): EngineEventOutcome {
    const exchange = exchangeFromSessionSubject(subject);
    if (!exchange) return { drop: 'bad_subject' };
    let payload: SessionPayload;
    if (this.calendar.has(exchange)) {
      payload = { exchange, ...this.calendar.override(exchange, value.status, value.ts) };
      this.armTimer(exchange);
    } else {
      payload = { exchange, status: value.status, since: value.ts };
      this.engineOnly.set(exchange, payload);
    }
    this.emit(payload);
    return undefined;
  }

  statusOf(exchange: string, now = Date.now()): SessionPayload | undefined {
    if (this.calendar.has(exchange)) return { exchange, ...this.calendar.statusAt(exchange, now) };
    return this.engineOnly.get(exchange);
  }

  /** A subscriber of an exchange's instruments hears of its session changes. */
  join(socket: GatewaySocket, exchange: string): void {
    void socket.join(sessionRoom(exchange));
  }

  /** Leaves the session rooms of exchanges none of `exchanges` is on any more. */
  leaveOthers(socket: GatewaySocket, exchanges: Set<string | undefined>): void {
    for (const room of socket.rooms) {
      if (room.startsWith('session:') && !exchanges.has(room.slice('session:'.length))) void socket.leave(room);
    }
  }

  private emit(payload: SessionPayload): void {
    // `local`: every replica receives the engine event itself; relaying it through the adapter would deliver it twice.
    this.namespace?.local.to(sessionRoom(payload.exchange)).emit(SERVER_EVENTS.session, payload);
  }

  /** Tells the exchange's subscribers when its session changes on schedule (open, close, pre-open). */
  private armTimer(exchange: string): void {
    clearTimeout(this.timers.get(exchange));
    const nextChange = this.calendar.statusAt(exchange, Date.now()).nextChange;
    if (nextChange === undefined) return;
    const delay = Math.min(Math.max(0, nextChange - Date.now()) + 1, 2_147_483_647);
    const timer = setTimeout(() => {
      const payload = this.statusOf(exchange);
      if (payload && payload.since <= Date.now()) this.emit(payload);
      this.armTimer(exchange);
    }, delay);
    timer.unref();
    this.timers.set(exchange, timer);
  }

  onApplicationShutdown(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
  }
}

function sessionRoom(exchange: string): string {
  return `session:${exchange}`;
}
