import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { FleetModule } from '../fleet/fleet.module.js';
import { HealthController } from './health.controller.js';

@Module({
  // The fleet: cluster totals in /health/websocket, and the Redis connection readiness pings.
  imports: [TerminusModule.forRoot({ errorLogStyle: 'json' }), FleetModule],
  controllers: [HealthController],
})
export class HealthModule {}
