import { Module } from '@nestjs/common';
import { EngineModule } from '../engine/engine.module.js';
import { MarketDataModule } from '../market-data/market-data.module.js';
import { ReferenceDataModule } from '../market-data/reference-data.module.js';
import { AccountValuer } from './account-valuer.js';
import { valuationMetricProviders } from './valuation.metrics.js';

/**
 * Live mark-to-market: positions and portfolio revalued from the gateway's quotes between engine events. The /positions
 * and /portfolio streams are AccountStreamModule.forKind's (found by their tokens); quotes come through market data
 * (the quote channel and its interest count) and the engine's event taps; contract multipliers from reference data.
 */
@Module({
  imports: [MarketDataModule, EngineModule, ReferenceDataModule],
  providers: [AccountValuer, ...valuationMetricProviders],
})
export class ValuationModule {}
