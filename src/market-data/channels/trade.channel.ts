import { Injectable } from '@nestjs/common';
import type { TradeData } from '#libs/contracts';
import { DelayedMarketData } from '../delayed-market-data.js';
import { InstrumentCatalog } from '../instrument-catalog.js';
import { MarketDataFanout } from '../market-data.fanout.js';
import { ValueChannel } from './value-channel.js';

/** The `trade` channel: engine `md.trade.{EXCHANGE}.{SYMBOL}` events in, one stream per instrument (registry: src/engine/stream-kinds.ts). */
@Injectable()
export class TradeChannel extends ValueChannel<'trade', TradeData> {
  readonly name = 'trade';

  constructor(catalog: InstrumentCatalog, fanout: MarketDataFanout, delayed: DelayedMarketData) {
    super(catalog, fanout, delayed);
  }
}
