import { Controller, type OnModuleInit } from '@nestjs/common';
import { BaseRpcContext, Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { accountFromSubject, ENGINE_SUBJECTS } from '#libs/contracts';
import { EngineEventIntake, EngineFastPath, validatePortfolio } from '#libs/realtime';
import { PortfolioService } from './portfolio.service.js';

/** Engine `acct.{ACCOUNT}.portfolio` events in: validated once, sequenced and fanned out by the service's stream. */
@Controller()
export class PortfolioController implements OnModuleInit {
  constructor(
    private readonly intake: EngineEventIntake,
    private readonly portfolio: PortfolioService,
    private readonly fastPath: EngineFastPath,
  ) {}

  /** Engine → client latency of account events: the transports call the handler directly, outside Nest's pipeline. */
  onModuleInit(): void {
    this.fastPath.register(ENGINE_SUBJECTS.portfolio, (payload, context) => this.onPortfolioEvent(payload, context));
  }

  @EventPattern<string>(ENGINE_SUBJECTS.portfolio)
  onPortfolioEvent(@Payload() payload: unknown, @Ctx() context: BaseRpcContext<unknown>): void {
    const event = this.intake.accept('portfolio', context, payload, validatePortfolio);
    if (!event) return;
    const account = accountFromSubject(event.subject);
    if (!account) return this.intake.drop('portfolio', event.subject, 'bad_subject');
    const { ts, seq, fields } = event.value;
    if (this.portfolio.stream.apply(account, ts, seq, fields) === 'stale') this.intake.drop('portfolio', event.subject, 'stale_seq');
  }
}
