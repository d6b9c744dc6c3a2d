import { Module } from '@nestjs/common';
import { ComplianceScreenMonitor } from './compliance-screen.monitor.js';
import { ComplianceController } from './compliance.controller.js';

/** Sharia screening: the engine's screen changes in, and the screen's metrics. The screen itself is a core provider. */
@Module({
  controllers: [ComplianceController],
  providers: [ComplianceScreenMonitor],
})
export class ComplianceModule {}
