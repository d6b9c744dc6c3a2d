import { Module, type DynamicModule } from '@nestjs/common';
import type { Logger } from 'pino';
import { AccountStreamModule } from './account-streams/account-stream.module.js';
import { AdminController } from './admin/admin.controller.js';
import { ComplianceModule } from './compliance/compliance.module.js';
import type { AppConfig } from './config/index.js';
import { CoreModule } from './core.module.js';
import { EngineModule } from './engine/engine.module.js';
import { HealthModule } from './health/health.module.js';
import { MetricsPort } from './http/metrics-port.js';
import { LicenceChangeEvents } from './licensing/licence-change.events.js';
import { GracefulShutdown } from './lifecycle/graceful-shutdown.js';
import { MarketDataModule } from './market-data/market-data.module.js';
import { OrdersModule } from './orders/orders.module.js';
import { ValuationModule } from './valuation/valuation.module.js';

/**
 * The application: the engine (transports, routes from the registry of stream kinds, account log, order channel), one
 * module per domain, and the process's lifecycle (metrics port, graceful drain). main.ts only bootstraps it.
 */
@Module({})
export class AppModule {
  static forRoot(config: AppConfig, logger: Logger): DynamicModule {
    return {
      module: AppModule,
      imports: [
        CoreModule.forRoot(config, logger),
        EngineModule.forRoot(config),
        HealthModule,
        MarketDataModule,
        OrdersModule,
        AccountStreamModule.forKind('position'),
        AccountStreamModule.forKind('portfolio'),
        ComplianceModule,
        ValuationModule,
      ],
      controllers: [AdminController],
      providers: [LicenceChangeEvents, MetricsPort, GracefulShutdown],
    };
  }
}
