import { Module } from '@nestjs/common';
import { ObservabilityModule } from '#libs/observability';
import { LicensingModule } from '../licensing/licensing.module.js';
import { ComplianceScreenEvents } from './compliance-screen.events.js';
import { ComplianceScreenMonitor } from './compliance-screen.monitor.js';

/** Sharia screening: the engine's screen changes in, and the screen's metrics. The screen itself is LicensingModule's. */
@Module({
  imports: [ObservabilityModule, LicensingModule],
  providers: [ComplianceScreenMonitor, ComplianceScreenEvents],
})
export class ComplianceModule {}
