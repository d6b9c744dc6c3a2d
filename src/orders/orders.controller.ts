import { Controller, type OnModuleInit } from '@nestjs/common';
import { BaseRpcContext, Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { accountFromSubject, ENGINE_SUBJECTS } from '#libs/contracts';
import { EngineEventIntake, EngineFastPath, validateOrder } from '#libs/realtime';
import { OrdersService } from './orders.service.js';

/** Engine `acct.{ACCOUNT}.order` events in: validated once, sequenced and fanned out by the service's stream. */
@Controller()
export class OrdersController implements OnModuleInit {
  constructor(
    private readonly intake: EngineEventIntake,
    private readonly orders: OrdersService,
    private readonly fastPath: EngineFastPath,
  ) {}

  /** Engine → client latency of account events: the transports call the handler directly, outside Nest's pipeline. */
  onModuleInit(): void {
    this.fastPath.register(ENGINE_SUBJECTS.order, (payload, context) => this.onOrdersEvent(payload, context));
  }

  @EventPattern<string>(ENGINE_SUBJECTS.order)
  onOrdersEvent(@Payload() payload: unknown, @Ctx() context: BaseRpcContext<unknown>): void {
    const event = this.intake.accept('order', context, payload, validateOrder);
    if (!event) return;
    const account = accountFromSubject(event.subject);
    if (!account) return this.intake.drop('order', event.subject, 'bad_subject');
    const { ts, seq, fields } = event.value;
    if (this.orders.stream.apply(account, ts, seq, fields) === 'stale') this.intake.drop('order', event.subject, 'stale_seq');
  }
}
