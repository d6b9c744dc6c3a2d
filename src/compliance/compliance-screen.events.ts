import { Injectable } from '@nestjs/common';
import { ComplianceScreen, type ValidScreenChange } from '#libs/licensing';
import type { EngineEventOutcome, EngineStreamHandler } from '../engine/stream-handler.js';

/**
 * Engine `compliance.screen` events in: one board's new verdict on one instrument. The screen tells its listeners,
 * and the market-data gateway re-checks the live streams of its Islamic-screened clients.
 */
@Injectable()
export class ComplianceScreenEvents implements EngineStreamHandler<ValidScreenChange> {
  constructor(private readonly screen: ComplianceScreen) {}

  onEngineEvent(_subject: string, value: ValidScreenChange): EngineEventOutcome {
    this.screen.apply(value);
    return undefined;
  }
}
