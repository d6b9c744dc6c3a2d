import { Controller, type OnModuleInit } from '@nestjs/common';
import { BaseRpcContext, Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { accountFromSubject, ENGINE_SUBJECTS } from '#libs/contracts';
import { EngineEventIntake, EngineFastPath, validatePosition } from '#libs/realtime';
import { PositionsService } from './positions.service.js';

/** Engine `acct.{ACCOUNT}.position` events in: validated once, sequenced and fanned out by the service's stream. */
@Controller()
export class PositionsController implements OnModuleInit {
  constructor(
    private readonly intake: EngineEventIntake,
    private readonly positions: PositionsService,
    private readonly fastPath: EngineFastPath,
  ) {}

  /** Engine → client latency of account events: the transports call the handler directly, outside Nest's pipeline. */
  onModuleInit(): void {
    this.fastPath.register(ENGINE_SUBJECTS.position, (payload, context) => this.onPositionsEvent(payload, context));
  }

  @EventPattern<string>(ENGINE_SUBJECTS.position)
  onPositionsEvent(@Payload() payload: unknown, @Ctx() context: BaseRpcContext<unknown>): void {
    const event = this.intake.accept('position', context, payload, validatePosition);
    if (!event) return;
    const account = accountFromSubject(event.subject);
    if (!account) return this.intake.drop('position', event.subject, 'bad_subject');
    const { ts, seq, fields } = event.value;
    if (this.positions.stream.apply(account, ts, seq, fields) === 'stale') this.intake.drop('position', event.subject, 'stale_seq');
  }
}
