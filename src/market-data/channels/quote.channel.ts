import { Injectable } from '@nestjs/common';
import type { QuoteData } from '#libs/contracts';
import type { EngineEventOutcome, EngineStreamHandler } from '../../engine/stream-handler.js';
import { InstrumentCatalog } from '../instrument-catalog.js';
import { MarketDataService } from '../market-data.service.js';
import { engineInstrument } from './engine-instrument.js';

/** The `quote` channel: engine `md.quote.{EXCHANGE}.{SYMBOL}` events in (registry entry in src/engine/stream-kinds.ts). */
@Injectable()
export class QuoteChannel implements EngineStreamHandler<{ ts: number; data: QuoteData }> {
  constructor(
    private readonly catalog: InstrumentCatalog,
    private readonly marketData: MarketDataService,
  ) {}

  onEngineEvent(subject: string, value: { ts: number; data: QuoteData }): EngineEventOutcome {
    const instrument = engineInstrument(subject, this.catalog);
    if (typeof instrument !== 'string') return instrument;
    this.marketData.onQuote(instrument, value.ts, value.data);
    return undefined;
  }
}
