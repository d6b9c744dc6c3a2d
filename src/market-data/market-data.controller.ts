import { Controller, type OnModuleInit } from '@nestjs/common';
import { BaseRpcContext, Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { ENGINE_SUBJECTS, exchangeFromSessionSubject, instrumentFromMdSubject, type MdChannel } from '#libs/contracts';
import { EngineEventIntake, EngineFastPath, validateBook, validateQuote, validateSession, validateTrade } from '#libs/realtime';
import { MarketDataService } from './market-data.service.js';
import { StatusChannel } from './channels/status.channel.js';

/**
 * Engine market data in. No pipes, guards or interceptors here: engine events are the hot path, validated once by
 * the intake and handed straight to the service. The `@EventPattern`s declare the subjects (and serve any transport
 * without the fast path); the engine transports call the same methods through EngineFastPath.
 */
@Controller()
export class MarketDataController implements OnModuleInit {
  constructor(
    private readonly intake: EngineEventIntake,
    private readonly marketData: MarketDataService,
    private readonly fastPath: EngineFastPath,
    /** Feed health: every accepted quote, trade or book event stamps its instrument's feed (one timestamp store). */
    private readonly status: StatusChannel,
  ) {}

  /** Quotes, trades and books are the hot path: the transports call these handlers directly, outside Nest's pipeline. */
  onModuleInit(): void {
    this.fastPath.register(ENGINE_SUBJECTS.quote, (payload, context) => this.onQuote(payload, context));
    this.fastPath.register(ENGINE_SUBJECTS.trade, (payload, context) => this.onTrade(payload, context));
    this.fastPath.register(ENGINE_SUBJECTS.book, (payload, context) => this.onBook(payload, context));
  }

  @EventPattern<string>(ENGINE_SUBJECTS.quote)
  onQuote(@Payload() payload: unknown, @Ctx() context: BaseRpcContext<unknown>): void {
    const event = this.intake.accept('quote', context, payload, validateQuote);
    const instrument = event && this.instrumentOf('quote', event.subject);
    if (!event || !instrument) return;
    this.status.onEngineEvent(instrument, 'quote', event.value.seq);
    this.marketData.onQuote(instrument, event.value.ts, event.value.data);
  }

  @EventPattern<string>(ENGINE_SUBJECTS.trade)
  onTrade(@Payload() payload: unknown, @Ctx() context: BaseRpcContext<unknown>): void {
    const event = this.intake.accept('trade', context, payload, validateTrade);
    const instrument = event && this.instrumentOf('trade', event.subject);
    if (!event || !instrument) return;
    this.status.onEngineEvent(instrument, 'trade', event.value.seq);
    this.marketData.onTrade(instrument, event.value.ts, event.value.data);
  }

  @EventPattern<string>(ENGINE_SUBJECTS.book)
  onBook(@Payload() payload: unknown, @Ctx() context: BaseRpcContext<unknown>): void {
    const event = this.intake.accept('book', context, payload, validateBook);
    const instrument = event && this.instrumentOf('book', event.subject);
    if (!event || !instrument) return;
    this.status.onEngineEvent(instrument, 'book', event.value.seq);
    const { ts, type, bids, asks } = event.value;
    if (this.marketData.onBook(instrument, ts, type, bids, asks) === 'no_snapshot') {
      this.intake.drop('book', event.subject, 'invalid_fields', 'book delta before any snapshot');
    }
  }

  @EventPattern<string>(ENGINE_SUBJECTS.session)
  onSession(@Payload() payload: unknown, @Ctx() context: BaseRpcContext<unknown>): void {
    const event = this.intake.accept('session', context, payload, validateSession);
    if (!event) return;
    const exchange = exchangeFromSessionSubject(event.subject);
    if (!exchange) return this.intake.drop('session', event.subject, 'bad_subject');
    this.marketData.onSession(exchange, event.value.status, event.value.ts);
  }

  private instrumentOf(kind: MdChannel, subject: string): string | null {
    const instrument = instrumentFromMdSubject(subject);
    if (!instrument) {
      this.intake.drop(kind, subject, 'bad_subject');
      return null;
    }
    if (!this.marketData.isKnownInstrument(instrument)) {
      this.intake.drop(kind, subject, 'unknown_instrument');
      return null;
    }
    return instrument;
  }
}
