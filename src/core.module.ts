import { Global, Module, type DynamicModule } from '@nestjs/common';
import { PassportModule } from '@nestjs/passport';
import type { Logger } from 'pino';
import { AccountDirectory, JwtStrategy, TokenVerifier } from '#libs/auth';
import { DEMO_LICENCE, LicenceResolver, NO_LICENCE } from '#libs/licensing';
import { ObservabilityModule, PINO_LOGGER } from '#libs/observability';
import {
  AckInterceptor,
  ConnectionRegistry,
  DEFAULT_SLOW_CLIENT_POLICY,
  EngineEventIntake,
  EngineInterestRegistry,
  GATEWAY_RUNTIME_OPTIONS,
  GatewayExceptionFilter,
  GatewayRuntime,
  type GatewayRuntimeOptions,
} from '#libs/realtime';
import { AppConfig } from './config/index.js';
import { EngineLinks } from './engine/engine-links.js';
import { ReadinessState } from './health/readiness.state.js';
import { InstrumentCatalog } from './market-data/instrument-catalog.js';
import { TradingCalendar } from './market-data/trading-calendar.js';
import { SERVER_VERSION } from './version.js';

/** What every domain shares: configuration, logging, metrics, token verification, licences, reference data. */
@Global()
@Module({})
export class CoreModule {
  static forRoot(config: AppConfig, logger: Logger): DynamicModule {
    const runtimeOptions: GatewayRuntimeOptions = {
      nodeId: config.nodeId,
      serverVersion: SERVER_VERSION,
      maxFrameBytes: config.maxFrameBytes,
      tokenExpiryWarningMs: config.tokenExpiryWarningMs,
      slowClients: { ...DEFAULT_SLOW_CLIENT_POLICY, graceMs: config.slowClientGraceMs },
    };
    return {
      module: CoreModule,
      imports: [ObservabilityModule, PassportModule.register({ session: false })],
      providers: [
        { provide: AppConfig, useValue: config },
        { provide: PINO_LOGGER, useValue: logger },
        { provide: GATEWAY_RUNTIME_OPTIONS, useValue: runtimeOptions },
        { provide: TokenVerifier, useValue: new TokenVerifier(config.jwt) },
        // The embedded demo entitles everything; anywhere else a token without a licence is entitled to nothing.
        { provide: LicenceResolver, useValue: new LicenceResolver(config.isEmbeddedDemo ? DEMO_LICENCE : NO_LICENCE) },
        { provide: AccountDirectory, useValue: AccountDirectory.fromFile(config.accountsFile) },
        { provide: InstrumentCatalog, useValue: InstrumentCatalog.fromFile(config.instrumentsFile) },
        { provide: TradingCalendar, useValue: TradingCalendar.fromFile(config.tradingCalendarsFile) },
        ConnectionRegistry,
        GatewayRuntime,
        EngineEventIntake,
        EngineInterestRegistry,
        GatewayExceptionFilter,
        AckInterceptor,
        EngineLinks,
        ReadinessState,
        JwtStrategy,
      ],
      exports: [
        AppConfig,
        PINO_LOGGER,
        GATEWAY_RUNTIME_OPTIONS,
        TokenVerifier,
        LicenceResolver,
        AccountDirectory,
        InstrumentCatalog,
        TradingCalendar,
        ConnectionRegistry,
        GatewayRuntime,
        EngineEventIntake,
        EngineInterestRegistry,
        GatewayExceptionFilter,
        AckInterceptor,
        EngineLinks,
        ReadinessState,
      ],
    };
  }
}
