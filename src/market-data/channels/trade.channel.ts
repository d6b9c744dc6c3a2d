import { Injectable } from '@nestjs/common';
import type { TradeData } from '#libs/contracts';
import type { EngineEventOutcome, EngineStreamHandler } from '../../engine/stream-handler.js';
import { InstrumentCatalog } from '../instrument-catalog.js';
import { MarketDataService } from '../market-data.service.js';
import { engineInstrument } from './engine-instrument.js';

/** The `trade` channel: engine `md.trade.{EXCHANGE}.{SYMBOL}` events in (registry entry in src/engine/stream-kinds.ts). */
@Injectable()
export class TradeChannel implements EngineStreamHandler<{ ts: number; data: TradeData }> {
  constructor(
    private readonly catalog: InstrumentCatalog,
    private readonly marketData: MarketDataService,
  ) {}

  onEngineEvent(subject: string, value: { ts: number; data: TradeData }): EngineEventOutcome {
    const instrument = engineInstrument(subject, this.catalog);
    if (typeof instrument !== 'string') return instrument;
    this.marketData.onTrade(instrument, value.ts, value.data);
    return undefined;
  }
}
