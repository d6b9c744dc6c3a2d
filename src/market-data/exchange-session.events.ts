import { Injectable } from '@nestjs/common';
import { exchangeFromSessionSubject, type SessionStatus } from '#libs/contracts';
import type { EngineEventOutcome, EngineStreamHandler } from '../engine/stream-handler.js';
import { MarketDataService } from './market-data.service.js';

/** Engine `md.session.{EXCHANGE}` events in: a halt or a status the calendar does not know, told to subscribers. */
@Injectable()
export class ExchangeSessionEvents implements EngineStreamHandler<{ ts: number; status: SessionStatus }> {
  constructor(private readonly marketData: MarketDataService) {}

  onEngineEvent(subject: string, value: { ts: number; status: SessionStatus }): EngineEventOutcome {
    const exchange = exchangeFromSessionSubject(subject);
    if (!exchange) return { drop: 'bad_subject' };
    this.marketData.onSession(exchange, value.status, value.ts);
    return undefined;
  }
}
