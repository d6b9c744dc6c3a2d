import { Controller } from '@nestjs/common';
import { BaseRpcContext, Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { ENGINE_SUBJECTS } from '#libs/contracts';
import { LicenceResolver, validateLicenceChanged } from '#libs/licensing';
import { EngineEventIntake } from '#libs/realtime';

/**
 * Engine `licence.changed` events in: a tenant's or user's licence set, revoked or cleared on every replica at once
 * (each replica receives the event), applied to live connections by the gateways through the resolver.
 */
@Controller()
export class LicenceEventsController {
  constructor(
    private readonly intake: EngineEventIntake,
    private readonly licences: LicenceResolver,
  ) {}

  @EventPattern<string>(ENGINE_SUBJECTS.licenceChanged)
  onLicenceChanged(@Payload() payload: unknown, @Ctx() context: BaseRpcContext<unknown>): void {
    const event = this.intake.accept('licence', context, payload, validateLicenceChanged);
    if (event) this.licences.applyEngineChange(event.value.scope, event.value.licence);
  }
}
