import { Module, type DynamicModule } from '@nestjs/common';
import type { Logger } from 'pino';
import { AdminController } from './admin/admin.controller.js';
import { ComplianceModule } from './compliance/compliance.module.js';
import type { AppConfig } from './config/index.js';
import { CoreModule } from './core.module.js';
import { HealthModule } from './health/health.module.js';
import { LicenceEventsController } from './licensing/licence-events.controller.js';
import { MarketDataModule } from './market-data/market-data.module.js';
import { OrdersModule } from './orders/orders.module.js';
import { PortfolioModule } from './portfolio/portfolio.module.js';
import { PositionsModule } from './positions/positions.module.js';
import { ValuationModule } from './valuation/valuation.module.js';

@Module({})
export class AppModule {
  static forRoot(config: AppConfig, logger: Logger): DynamicModule {
    return {
      module: AppModule,
      imports: [CoreModule.forRoot(config, logger), HealthModule, MarketDataModule, OrdersModule, PositionsModule, PortfolioModule, ComplianceModule, ValuationModule],
      controllers: [AdminController, LicenceEventsController],
    };
  }
}
