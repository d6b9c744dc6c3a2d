import { Injectable } from '@nestjs/common';
import { GatewayMetrics } from '#libs/observability';

/** Whether this process should get traffic: false until started, and again from the moment shutdown begins. */
@Injectable()
export class ReadinessState {
  private started = false;
  private draining = false;

  constructor(private readonly metrics: GatewayMetrics) {
    metrics.setReady(false);
  }

  markStarted(): void {
    this.started = true;
    this.metrics.setReady(this.isReady);
  }

  beginDraining(): void {
    this.draining = true;
    this.metrics.setReady(false);
  }

  get isDraining(): boolean {
    return this.draining;
  }

  get isReady(): boolean {
    return this.started && !this.draining;
  }
}
