import { Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { ComplianceScreen } from '#libs/licensing';
import { ComplianceMetrics } from '#libs/observability';

/** Keeps the screen's metrics current (version, verdict counts, changes, rejected reloads) and stops following the file at shutdown. */
@Injectable()
export class ComplianceScreenMonitor implements OnModuleInit, OnApplicationShutdown {
  private unsubscribe?: () => void;

  constructor(
    private readonly screen: ComplianceScreen,
    private readonly metrics: ComplianceMetrics,
  ) {}

  onModuleInit(): void {
    this.metrics.screenState(this.screen.version, this.screen.summary());
    this.unsubscribe = this.screen.onEvent((event) => {
      if (event.type === 'reload_failed') return this.metrics.reloadFailed();
      if (event.type === 'reload_restored') return this.metrics.fileAccepted();
      if (event.source === 'file') this.metrics.fileAccepted();
      this.metrics.screenChanged(event.source);
      this.metrics.screenState(event.version, this.screen.summary());
    });
  }

  onApplicationShutdown(): void {
    this.unsubscribe?.();
    this.screen.close();
  }
}
