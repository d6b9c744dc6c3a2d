import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { EngineModule } from '../engine/engine.module.js';
import { GatewayRuntimeModule } from '../realtime/gateway-runtime.module.js';
import { FleetModule } from '../fleet/fleet.module.js';
import { HealthController } from './health.controller.js';
import { HealthStateModule } from './health-state.module.js';

/** `/health/live` and `/health/ready`: readiness, the engine's links, the live connections, degraded shared stores, the fleet. */
@Module({
  // The fleet: cluster totals in /health/websocket, and the Redis connection readiness pings.
  imports: [TerminusModule.forRoot({ errorLogStyle: 'json' }), HealthStateModule, EngineModule, GatewayRuntimeModule, FleetModule],
  controllers: [HealthController],
})
export class HealthModule {}
