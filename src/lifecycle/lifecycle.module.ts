import { Module } from '@nestjs/common';
import { EngineModule } from '../engine/engine.module.js';
import { HealthStateModule } from '../health/health-state.module.js';
import { GatewayRuntimeModule } from '../realtime/gateway-runtime.module.js';
import { GracefulShutdown } from './graceful-shutdown.js';

/** The process's graceful drain: readiness down, clients told and disconnected, the engine's flow stopped first. */
@Module({
  imports: [HealthStateModule, GatewayRuntimeModule, EngineModule],
  providers: [GracefulShutdown],
})
export class LifecycleModule {}
