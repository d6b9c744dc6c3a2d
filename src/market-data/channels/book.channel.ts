import { Injectable } from '@nestjs/common';
import type { BookLevel } from '#libs/contracts';
import type { EngineEventOutcome, EngineStreamHandler } from '../../engine/stream-handler.js';
import { InstrumentCatalog } from '../instrument-catalog.js';
import { MarketDataService } from '../market-data.service.js';
import { engineInstrument } from './engine-instrument.js';

type EngineBookEvent = { ts: number; type: 'snapshot' | 'delta'; bids: BookLevel[]; asks: BookLevel[] };

/** The `book` channel: engine `md.book.{EXCHANGE}.{SYMBOL}` snapshots and deltas in (registry: src/engine/stream-kinds.ts). */
@Injectable()
export class BookChannel implements EngineStreamHandler<EngineBookEvent> {
  constructor(
    private readonly catalog: InstrumentCatalog,
    private readonly marketData: MarketDataService,
  ) {}

  onEngineEvent(subject: string, value: EngineBookEvent): EngineEventOutcome {
    const instrument = engineInstrument(subject, this.catalog);
    if (typeof instrument !== 'string') return instrument;
    if (this.marketData.onBook(instrument, value.ts, value.type, value.bids, value.asks) === 'no_snapshot') return { drop: 'invalid_fields', detail: 'book delta before any snapshot' };
    return undefined;
  }
}
