import { Global, Module, type DynamicModule } from '@nestjs/common';
import { PassportModule } from '@nestjs/passport';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { AccountDirectory, JwtStrategy, TokenVerifier } from '#libs/auth';
import {
  ComplianceScreen,
  DEMO_LICENCE,
  FailoverSeatStore,
  FileLicenceRegistry,
  LicenceResolver,
  MemorySeatStore,
  NO_LICENCE,
  RedisLicenceRegistry,
  RedisSeatStore,
  SeatLedger,
  type LicenceRegistry,
  type SeatStore,
} from '#libs/licensing';
import { GatewayMetrics, ObservabilityModule, PINO_LOGGER, SharedStoreStatus } from '#libs/observability';
import { RateLimiter, UserStreamCounter } from '#libs/rate-limit';
import {
  AckInterceptor,
  RateLimitInterceptor,
  ConnectionRegistry,
  DEFAULT_SLOW_CLIENT_POLICY,
  GATEWAY_RUNTIME_OPTIONS,
  GatewayExceptionFilter,
  GatewayRuntime,
  type GatewayRuntimeOptions,
} from '#libs/realtime';
import { createRateLimiter } from './common/rate-limiter.factory.js';
import { redisConnection } from '#libs/redis';
import { AppConfig } from './config/index.js';
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
      maxSubscriptionsPerUser: config.rateLimits.maxSubscriptionsPerUser,
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
        { provide: LicenceResolver, useValue: new LicenceResolver(config.isEmbeddedDemo ? DEMO_LICENCE : NO_LICENCE, licenceRegistry(config, logger)) },
        // Only stores shared through Redis can degrade; without REDIS_URL every count is this replica's anyway.
        { provide: SharedStoreStatus, useFactory: (metrics: GatewayMetrics) => new SharedStoreStatus(metrics, logger, config.redisUrl ? ['seats', 'stream_counts', 'rate_limits', 'fleet'] : []), inject: [GatewayMetrics] },
        {
          provide: SeatLedger,
          useFactory: (metrics: GatewayMetrics, stores: SharedStoreStatus) =>
            new SeatLedger(
              seatStore(config, logger, stores),
              { nodeId: config.nodeId, renewEveryMs: Math.floor(config.seatLeaseMs / 3), onSeatsChanged: (seats) => metrics.seatsInUse(seats) },
              logger,
            ),
          inject: [GatewayMetrics, SharedStoreStatus],
        },
        { provide: AccountDirectory, useValue: AccountDirectory.fromFile(config.accountsFile) },
        { provide: InstrumentCatalog, useValue: InstrumentCatalog.fromFile(config.instrumentsFile) },
        { provide: TradingCalendar, useValue: TradingCalendar.fromFile(config.tradingCalendarsFile) },
        // A malformed screen stops the start with a message naming the file; once running, the last good one stays.
        { provide: ComplianceScreen, useFactory: () => followedScreen(config, logger) },
        {
          provide: RateLimiter,
          useFactory: (metrics: GatewayMetrics, stores: SharedStoreStatus) => createRateLimiter(config, logger, metrics, stores),
          inject: [GatewayMetrics, SharedStoreStatus],
        },
        { provide: UserStreamCounter, useFactory: (limiter: RateLimiter) => limiter.streams, inject: [RateLimiter] },
        RateLimitInterceptor,
        ConnectionRegistry,
        GatewayRuntime,
        GatewayExceptionFilter,
        AckInterceptor,
              ReadinessState,
        JwtStrategy,
      ],
      exports: [
        AppConfig,
        PINO_LOGGER,
        GATEWAY_RUNTIME_OPTIONS,
        TokenVerifier,
        LicenceResolver,
        SharedStoreStatus,
        SeatLedger,
        AccountDirectory,
        InstrumentCatalog,
        TradingCalendar,
        ComplianceScreen,
        RateLimiter,
        UserStreamCounter,
        RateLimitInterceptor,
        ConnectionRegistry,
        GatewayRuntime,
        GatewayExceptionFilter,
        AckInterceptor,
        ReadinessState,
      ],
    };
  }
}

function licenceRegistry(config: AppConfig, logger: Logger): LicenceRegistry | undefined {
  const registry = config.licenceRegistry;
  if (!registry) return undefined;
  if (registry.kind === 'file') return new FileLicenceRegistry(registry.path, logger);
  // Checked at start (REDIS_URL is required with LICENCE_REGISTRY=redis).
  const url = config.redisUrl as string;
  return new RedisLicenceRegistry(licensingRedis(url, config.nodeId, 'licences', logger), licensingRedis(url, config.nodeId, 'licences-sub', logger), logger);
}

/**
 * Seats in Redis, shared by every replica, falling back to this replica's own count while Redis cannot be reached
 * (SEATS_ON_STORE_FAILURE=open) or refusing handshakes then (closed); in this process's memory without Redis.
 */
function seatStore(config: AppConfig, logger: Logger, stores: SharedStoreStatus): SeatStore {
  if (!config.redisUrl) return new MemorySeatStore();
  const policy = config.seatsOnStoreFailure;
  return new FailoverSeatStore(new RedisSeatStore(licensingRedis(config.redisUrl, config.nodeId, 'seats', logger), config.seatLeaseMs), {
    onStoreFailure: policy,
    degraded: (error) =>
      stores.degraded('seats', error, policy === 'open' ? 'seats are counted on this replica alone (SEATS_ON_STORE_FAILURE=open)' : 'new connections are refused ENGINE_UNAVAILABLE (SEATS_ON_STORE_FAILURE=closed)'),
    recovered: (seats) => stores.recovered('seats', { seatsReestablished: seats }),
  });
}

/** Licences and seats answer handshakes: a Redis command that cannot be served within 2 s fails instead of waiting. */
function licensingRedis(url: string, nodeId: string, purpose: string, logger: Logger): Redis {
  return redisConnection(url, nodeId, purpose, logger, { maxRetriesPerRequest: 2, commandTimeout: 2_000 });
}

function followedScreen(config: AppConfig, logger: Logger): ComplianceScreen {
  const screen = ComplianceScreen.fromFile(config.complianceFile, { pollMs: config.compliancePollMs, logger });
  screen.watch();
  return screen;
}
