import { Module } from '@nestjs/common';
import { MarketDataModule } from '../market-data/market-data.module.js';
import { AccountValuer } from './account-valuer.js';
import { valuationMetricProviders } from './valuation.metrics.js';

/**
 * Live mark-to-market: positions and portfolio revalued from the gateway's quotes between engine events. The /positions
 * and /portfolio streams are AccountStreamModule.forKind's (found by their tokens); quotes come through market data.
 */
@Module({
  imports: [MarketDataModule],
  providers: [AccountValuer, ...valuationMetricProviders],
})
export class ValuationModule {}
