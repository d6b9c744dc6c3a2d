import { Injectable } from '@nestjs/common';
import { LicenceResolver, type LicenceChangeCommand } from '#libs/licensing';
import type { EngineEventOutcome, EngineStreamHandler } from '../engine/stream-handler.js';

/**
 * Engine `licence.changed` events in: a tenant's or user's licence set, revoked or cleared on every replica at once
 * (each replica receives the event), applied to live connections by the gateways through the resolver.
 */
@Injectable()
export class LicenceChangeEvents implements EngineStreamHandler<LicenceChangeCommand> {
  constructor(private readonly licences: LicenceResolver) {}

  onEngineEvent(_subject: string, value: LicenceChangeCommand): EngineEventOutcome {
    this.licences.applyEngineChange(value.scope, value.licence);
    return undefined;
  }
}
