import { Module } from '@nestjs/common';
import type { Redis } from 'ioredis';
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
import { GatewayMetrics, ObservabilityModule, PINO_LOGGER, SharedStoreStatus, type Logger } from '#libs/observability';
import { redisConnection } from '#libs/redis';
import { broadcastInProgress } from '#libs/realtime';
import { AppConfig } from '../config/index.js';
import { HealthStateModule } from '../health/health-state.module.js';
import { LicenceChangeEvents } from './licence-change.events.js';

/**
 * What a user is entitled to: licences (with their registry, followed while running, and the engine's
 * `licence.changed` events), the seats they hold across replicas, and the Sharia compliance screen.
 */
@Module({
  imports: [ObservabilityModule, HealthStateModule],
  providers: [
    // The embedded demo entitles everything; anywhere else a token without a licence is entitled to nothing.
    {
      provide: LicenceResolver,
      useFactory: (config: AppConfig, logger: Logger) => new LicenceResolver(config.isEmbeddedDemo ? DEMO_LICENCE : NO_LICENCE, licenceRegistry(config, logger)),
      inject: [AppConfig, PINO_LOGGER],
    },
    {
      provide: SeatLedger,
      useFactory: (config: AppConfig, logger: Logger, metrics: GatewayMetrics, stores: SharedStoreStatus) =>
        new SeatLedger(
          seatStore(config, logger, stores),
          {
            nodeId: config.nodeId,
            renewEveryMs: Math.floor(config.seatLeaseMs / 3),
            onSeatsChanged: (seats) => metrics.seatsInUse(seats),
            // A notice to every connection (admin, shutdown) is written before the next renewals.
            deferRenewal: broadcastInProgress,
          },
          logger,
        ),
      inject: [AppConfig, PINO_LOGGER, GatewayMetrics, SharedStoreStatus],
    },
    // A malformed screen stops the start with a message naming the file; once running, the last good one stays.
    { provide: ComplianceScreen, useFactory: followedScreen, inject: [AppConfig, PINO_LOGGER] },
    LicenceChangeEvents,
  ],
  exports: [LicenceResolver, SeatLedger, ComplianceScreen],
})
export class LicensingModule {}

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
