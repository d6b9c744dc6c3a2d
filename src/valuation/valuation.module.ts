import { Module } from '@nestjs/common';
import { MarketDataModule } from '../market-data/market-data.module.js';
import { PortfolioModule } from '../portfolio/portfolio.module.js';
import { PositionsModule } from '../positions/positions.module.js';
import { AccountValuer } from './account-valuer.js';
import { valuationMetricProviders } from './valuation.metrics.js';

/** Live mark-to-market: positions and portfolio revalued from the gateway's quotes between engine events. */
@Module({
  imports: [MarketDataModule, PositionsModule, PortfolioModule],
  providers: [AccountValuer, ...valuationMetricProviders],
})
export class ValuationModule {}
