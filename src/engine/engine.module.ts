import { Module, type DynamicModule } from '@nestjs/common';
import { EngineEventIntake, EngineInterestRegistry, EngineRoutes } from '#libs/realtime';
import { AppConfig } from '../config/index.js';
import { EngineControlLog } from './control-log.js';
import { EngineEventTaps } from './engine-event-taps.js';
import { EngineLinks } from './engine-links.js';
import { EngineTransports } from './engine-transports.js';
import { OrderEngine } from './order-engine.channel.js';

/**
 * The engine, chosen in one place: `EngineModule.forRoot(config)` owns the transports (ENGINE_TRANSPORT: NATS, Redis,
 * the in-process simulator), the routes derived from the registry of stream kinds (./stream-kinds.ts), the durable
 * account log, the durable control log and publisher feedback (./control-log.ts), and the order channel. Domains use what it exports: the interest registry (market data asks for the
 * instruments its clients want), the order channel (order commands), the links (health) and the transports (the
 * graceful shutdown stops the simulator's flow first).
 */
@Module({})
export class EngineModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: EngineModule,
      // Engine events reach every domain and the order channel serves one: exported to all, as Nest's own forRoot
      // modules are, rather than re-imported by each domain with the configuration again.
      global: true,
      providers: [{ provide: AppConfig, useValue: config }, EngineRoutes, EngineEventIntake, EngineInterestRegistry, EngineLinks, OrderEngine, EngineEventTaps, EngineControlLog, EngineTransports],
      exports: [EngineInterestRegistry, EngineLinks, OrderEngine, EngineEventTaps, EngineTransports],
    };
  }
}
