import { Injectable } from '@nestjs/common';
import type { QuoteData } from '#libs/contracts';
import { DelayedMarketData } from '../delayed-market-data.js';
import { InstrumentCatalog } from '../instrument-catalog.js';
import { MarketDataFanout } from '../market-data.fanout.js';
import { ValueChannel } from './value-channel.js';

/** The `quote` channel: engine `md.quote.{EXCHANGE}.{SYMBOL}` events in, one stream per instrument (registry: src/engine/stream-kinds.ts). */
@Injectable()
export class QuoteChannel extends ValueChannel<'quote', QuoteData> {
  readonly name = 'quote';

  constructor(catalog: InstrumentCatalog, fanout: MarketDataFanout, delayed: DelayedMarketData) {
    super(catalog, fanout, delayed);
  }
}
