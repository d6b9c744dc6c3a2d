import { Module } from '@nestjs/common';
import { ComplianceScreenEvents } from './compliance-screen.events.js';
import { ComplianceScreenMonitor } from './compliance-screen.monitor.js';

/** Sharia screening: the engine's screen changes in, and the screen's metrics. The screen itself is a core provider. */
@Module({
  providers: [ComplianceScreenMonitor, ComplianceScreenEvents],
})
export class ComplianceModule {}
