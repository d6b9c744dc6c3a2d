import { Controller } from '@nestjs/common';
import { BaseRpcContext, Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { ENGINE_SUBJECTS } from '#libs/contracts';
import { ComplianceScreen, validateScreenChange } from '#libs/licensing';
import { EngineEventIntake } from '#libs/realtime';

/**
 * Engine `compliance.screen` events in: one board's new verdict on one instrument. The screen tells its listeners,
 * and the market-data gateway re-checks the live streams of its Islamic-screened clients.
 */
@Controller()
export class ComplianceController {
  constructor(
    private readonly intake: EngineEventIntake,
    private readonly screen: ComplianceScreen,
  ) {}

  @EventPattern<string>(ENGINE_SUBJECTS.complianceScreen)
  onScreenChange(@Payload() payload: unknown, @Ctx() context: BaseRpcContext<unknown>): void {
    const event = this.intake.accept('compliance', context, payload, validateScreenChange);
    if (event) this.screen.apply(event.value);
  }
}
