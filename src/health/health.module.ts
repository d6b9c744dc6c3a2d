import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { EngineModule } from '../engine/engine.module.js';
import { GatewayRuntimeModule } from '../realtime/gateway-runtime.module.js';
import { HealthController } from './health.controller.js';
import { HealthStateModule } from './health-state.module.js';

/** `/health/live` and `/health/ready`: readiness, the engine's links, the live connections, degraded shared stores. */
@Module({
  imports: [TerminusModule.forRoot({ errorLogStyle: 'json' }), HealthStateModule, EngineModule, GatewayRuntimeModule],
  controllers: [HealthController],
})
export class HealthModule {}
