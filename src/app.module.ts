import { Module, type DynamicModule } from '@nestjs/common';
import type { Logger } from 'pino';
import { AccountStreamModule } from './account-streams/account-stream.module.js';
import { AdminModule } from './admin/admin.module.js';
import { AuditModule } from './audit/audit.module.js';
import { ComplianceModule } from './compliance/compliance.module.js';
import type { AppConfig } from './config/index.js';
import { ConfigModule } from './config/config.module.js';
import { EngineModule } from './engine/engine.module.js';
import { FleetModule } from './fleet/fleet.module.js';
import { HealthModule } from './health/health.module.js';
import { MetricsPort } from './http/metrics-port.js';
import { LicensingModule } from './licensing/licensing.module.js';
import { LifecycleModule } from './lifecycle/lifecycle.module.js';
import { MarketDataModule } from './market-data/market-data.module.js';
import { OrdersModule } from './orders/orders.module.js';
import { ValuationModule } from './valuation/valuation.module.js';

/**
 * The application: the configuration and logger (the only global module), the engine (transports, routes from the
 * registry of stream kinds, account log, order channel), one module per domain, each importing what it uses, and the
 * process's lifecycle (metrics port, graceful drain). main.ts only bootstraps it.
 */
@Module({})
export class AppModule {
  static forRoot(config: AppConfig, logger: Logger): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config, logger),
        AuditModule.forRoot(config, logger),
        EngineModule,
        LicensingModule,
        FleetModule,
        HealthModule,
        MarketDataModule,
        OrdersModule,
        AccountStreamModule.forKind('position'),
        AccountStreamModule.forKind('portfolio'),
        ComplianceModule,
        AdminModule,
        LifecycleModule,
        ValuationModule,
      ],
      providers: [MetricsPort],
    };
  }
}
