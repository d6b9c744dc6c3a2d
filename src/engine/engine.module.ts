import { Module } from '@nestjs/common';
import { ObservabilityModule } from '#libs/observability';
import { EngineEventIntake, EngineInterestRegistry, EngineRoutes } from '#libs/realtime';
import { AuthModule } from '../auth/auth.module.js';
import { HealthStateModule } from '../health/health-state.module.js';
import { ReferenceDataModule } from '../market-data/reference-data.module.js';
import { EngineControlLog } from './control-log.js';
import { EngineEventTaps } from './engine-event-taps.js';
import { EngineLinks } from './engine-links.js';
import { EngineTransports } from './engine-transports.js';
import { OrderEngine } from './order-engine.channel.js';

/**
 * The engine, chosen in one place: EngineModule owns the transports (ENGINE_TRANSPORT: NATS, Redis, the in-process
 * simulator, read from the configuration), the routes derived from the registry of stream kinds (./stream-kinds.ts),
 * the durable account log, the durable control log and publisher feedback (./control-log.ts), and the order channel. Domains import it for what it exports: the interest registry (market
 * data asks for the instruments its clients want), the order channel (order commands), the event taps (providers that
 * observe applied events), the links (health) and the transports (the graceful drain stops the simulator's flow first).
 * A static module: the configuration comes from ConfigModule, so every importer shares this one instance.
 */
@Module({
  imports: [ObservabilityModule, AuthModule, ReferenceDataModule, HealthStateModule],
  providers: [EngineRoutes, EngineEventIntake, EngineInterestRegistry, EngineLinks, OrderEngine, EngineEventTaps, EngineControlLog, EngineTransports],
  exports: [EngineInterestRegistry, EngineLinks, OrderEngine, EngineEventTaps, EngineTransports],
})
export class EngineModule {}
