import { Injectable } from '@nestjs/common';
import { streamName, type QuoteData } from '#libs/contracts';
import type { DelayedEntry } from '../delay-line.js';
import { DelayedMarketData } from '../delayed-market-data.js';
import { InstrumentCatalog } from '../instrument-catalog.js';
import { MarketDataFanout } from '../market-data.fanout.js';
import { ValueChannel } from './value-channel.js';

/** The `quote` channel: engine `md.quote.{EXCHANGE}.{SYMBOL}` events in, one stream per instrument (registry: src/engine/stream-kinds.ts). */
@Injectable()
export class QuoteChannel extends ValueChannel<'quote', QuoteData> {
  readonly name = 'quote';

  constructor(
    catalog: InstrumentCatalog,
    fanout: MarketDataFanout,
    private readonly delayedData: DelayedMarketData,
  ) {
    super(catalog, fanout, delayedData);
  }

  // ---- quotes for the gateway's own use (live mark-to-market, src/valuation). The valuer holds the quote streams it
  // needs through MarketDataService.holdStream (the interest count) and sees each quote through EngineEventTaps.

  /** The quote this replica holds for `instrument`, while it receives its quotes. */
  currentQuote(instrument: string): { ts: number; data: QuoteData } | undefined {
    return this.lastValue(streamName('quote', instrument));
  }

  /** Records `instrument`'s quotes on the delay line (within MD_DELAY_MAX_ENTRIES) until released. */
  holdDelayedQuotes(instrument: string): void {
    this.delayedData.holdState(streamName('quote', instrument));
  }

  releaseDelayedQuotes(instrument: string): void {
    this.delayedData.releaseState(streamName('quote', instrument));
  }

  /** The latest quote of `instrument` the delay line has released (none before it was held for MD_DELAY_MS). */
  delayedQuote(instrument: string): DelayedEntry<QuoteData> | undefined {
    return this.delayedData.latestReleased(streamName('quote', instrument)) as DelayedEntry<QuoteData> | undefined;
  }
}
