import {
  accountSubject,
  bookProblem,
  ENGINE_SUBJECTS,
  mdSubject,
  orderProblem,
  portfolioProblem,
  positionProblem,
  quoteProblem,
  sessionProblem,
  sessionSubject,
  tradeProblem,
  validateLicenceChanged,
  validateScreenChange,
  type AccountKind,
  type EngineBook,
  type EngineComplianceScreenChange,
  type EngineEventKind,
  type EngineLicenceChanged,
  type EngineOrderAmendReply,
  type EngineOrderAmendRequest,
  type EngineOrderCancelAllReply,
  type EngineOrderCancelAllRequest,
  type EngineOrderCancelReply,
  type EngineOrderCancelRequest,
  type EngineOrderSubmitReply,
  type EngineOrderSubmitRequest,
  type EngineQuote,
  type EngineRejection,
  type EngineSession,
  type EngineTrade,
  type OrderFields,
  type PortfolioFields,
  type PositionFields,
} from '#libs/contracts';
import { InvalidEventError, InvalidSubjectError, PublisherClosedError } from './errors.js';
import { NatsPublisherTransport, type NatsTransportOptions } from './nats-transport.js';
import { RedisPublisherTransport, type RedisTransportOptions } from './redis-transport.js';
import type { EventRoute, PublisherTransport } from './transport.js';

/** An event as the publisher takes it: the contract's payload, with `ts` filled in (now) when left out. */
export type WithOptionalTs<T extends { ts: number }> = Omit<T, 'ts'> & { ts?: number };
/** Account events: the fields of docs/protocol.md §6.3, `ts` (default now) and the engine's own `seq` when it numbers. */
export type AccountEvent<F> = F & { ts?: number; seq?: number };

export interface PublisherOptions {
  /**
   * Numbers account events per account and kind (`seq`), so that every replica gives them the same seq and a client
   * resuming on another replica misses nothing. `true`: from 1 in this process; or `initial` gives the last seq already
   * published (from your own store) after a restart; events at or below the gateway's seq are dropped as duplicates.
   * An event that carries its own `seq` keeps it.
   */
  sequenceAccountEvents?: boolean | { initial: (account: string, kind: AccountKind) => number };
  /** Validate before sending (default true). Off only for a trusted, measured hot path: the gateway still validates. */
  validate?: boolean;
}

export type TransportChoice = { nats: NatsTransportOptions } | { redis: RedisTransportOptions } | { transport: PublisherTransport };

type Answer<T> = T | Promise<T>;

/** Handlers of the gateway's order commands; the requests carry the user's id, tenant and `ts` (libs/contracts types). */
export interface OrderCommandHandlers {
  submit?(request: EngineOrderSubmitRequest): Answer<EngineOrderSubmitReply>;
  cancel?(request: EngineOrderCancelRequest): Answer<EngineOrderCancelReply>;
  cancelAll?(request: EngineOrderCancelAllRequest): Answer<EngineOrderCancelAllReply>;
  amend?(request: EngineOrderAmendRequest): Answer<EngineOrderAmendReply>;
}

/** A subscription to the gateway's feedback (or order commands); `close` ends it. */
export interface RejectionSubscription {
  close(): Promise<void>;
}

const SUBJECT_TOKEN = /^[^\s.*>]{1,128}$/;

function token(part: string, value: string): string {
  if (!SUBJECT_TOKEN.test(value)) throw new InvalidSubjectError(part, value);
  return value;
}

/** `NASDAQ:AAPL` → [`NASDAQ`, `AAPL`]. */
function splitInstrument(instrument: string): [string, string] {
  const colon = instrument.indexOf(':');
  if (colon <= 0) throw new InvalidSubjectError('instrument', instrument);
  return [token('exchange', instrument.slice(0, colon)), token('symbol', instrument.slice(colon + 1))];
}

/** Subjects built (and their tokens checked) once per instrument and channel; bounded so a churning universe cannot grow it. */
class SubjectCache {
  private readonly subjects = new Map<string, string>();
  constructor(private readonly channel: 'quote' | 'trade' | 'book') {}
  of(instrument: string): string {
    let subject = this.subjects.get(instrument);
    if (subject === undefined) {
      const [exchange, symbol] = splitInstrument(instrument);
      subject = mdSubject(this.channel, exchange, symbol);
      if (this.subjects.size >= 100_000) this.subjects.clear();
      this.subjects.set(instrument, subject);
    }
    return subject;
  }
}

/**
 * The gateway's own check of one kind of event: why it would refuse it, or null. The market-data and account kinds
 * have allocation-free checks in libs/contracts (`quoteProblem`…), the ones the gateway's validators start with; the
 * rare control events are checked by running the gateway's validator itself.
 */
type EventCheck = (payload: unknown) => string | null;

const problemOf =
  (validate: (payload: unknown) => { ok: true } | { ok: false; reason: string }): EventCheck =>
  (payload) => {
    const result = validate(payload);
    return result.ok ? null : result.reason;
  };
const licenceChangeProblem = problemOf(validateLicenceChanged);
const screenChangeProblem = problemOf(validateScreenChange);

const MARKET: EventRoute = { kind: 'market' };
const CONTROL: EventRoute = { kind: 'control' };

/**
 * Typed publishing of every engine event of docs/protocol.md §7, checked by the gateway's own validators before it is
 * sent (an event the gateway would drop throws InvalidEventError here instead), over NATS, Redis or a transport of your
 * own. Methods do not wait: events leave in batches, one write per turn of the event loop; `flush` waits for them and
 * reports transport failures.
 */
export class TradewirePublisher {
  private readonly seqs = new Map<string, number>();
  private readonly quoteSubjects = new SubjectCache('quote');
  private readonly tradeSubjects = new SubjectCache('trade');
  private readonly bookSubjects = new SubjectCache('book');
  private readonly validate: boolean;
  private closed = false;
  /** Events sent, all kinds. */
  published = 0;

  constructor(
    readonly transport: PublisherTransport,
    private readonly options: PublisherOptions = {},
  ) {
    this.validate = options.validate ?? true;
  }

  static async connect(choice: TransportChoice, options: PublisherOptions = {}): Promise<TradewirePublisher> {
    let transport: PublisherTransport;
    if ('nats' in choice) transport = await NatsPublisherTransport.open(choice.nats);
    else if ('redis' in choice) transport = await RedisPublisherTransport.open(choice.redis);
    else transport = choice.transport;
    return new TradewirePublisher(transport, options);
  }

  /** `md.quote.{EXCHANGE}.{SYMBOL}`. */
  quote(instrument: string, quote: WithOptionalTs<EngineQuote>): void {
    this.send('quote', this.quoteSubjects.of(instrument), withTs(quote), quoteProblem, MARKET);
  }

  /** `md.trade.{EXCHANGE}.{SYMBOL}`. */
  trade(instrument: string, trade: WithOptionalTs<EngineTrade>): void {
    this.send('trade', this.tradeSubjects.of(instrument), withTs(trade), tradeProblem, MARKET);
  }

  /** `md.book.{EXCHANGE}.{SYMBOL}`: a snapshot, or a delta of absolute sizes (0 removes a level). */
  book(instrument: string, book: WithOptionalTs<EngineBook>): void {
    this.send('book', this.bookSubjects.of(instrument), withTs(book), bookProblem, MARKET);
  }

  /** `md.session.{EXCHANGE}`. */
  session(exchange: string, session: WithOptionalTs<EngineSession>): void {
    this.send('session', sessionSubject(token('exchange', exchange)), withTs(session), sessionProblem, MARKET);
  }

  /** `acct.{ACCOUNT}.order`. */
  order(account: string, order: AccountEvent<OrderFields>): void {
    this.sendAccount(account, 'order', order, orderProblem);
  }

  /** `acct.{ACCOUNT}.position`. */
  position(account: string, position: AccountEvent<PositionFields>): void {
    this.sendAccount(account, 'position', position, positionProblem);
  }

  /** `acct.{ACCOUNT}.portfolio`. */
  portfolio(account: string, portfolio: AccountEvent<PortfolioFields>): void {
    this.sendAccount(account, 'portfolio', portfolio, portfolioProblem);
  }

  /** `licence.changed`: sets (`licence`), revokes (`revoked: true`) or clears (neither) a user's or tenant's licence. Durable. */
  licenceChanged(change: WithOptionalTs<EngineLicenceChanged>): void {
    this.send('licence', ENGINE_SUBJECTS.licenceChanged, withTs(change), licenceChangeProblem, CONTROL);
  }

  /** `compliance.screen`: one board's new verdict on one instrument. Durable. */
  complianceScreen(change: WithOptionalTs<EngineComplianceScreenChange>): void {
    this.send('compliance', ENGINE_SUBJECTS.complianceScreen, withTs(change), screenChangeProblem, CONTROL);
  }

  /** Waits until everything published so far has reached the broker; rejects with a TransportError if some did not. */
  async flush(): Promise<void> {
    if (this.closed) throw new PublisherClosedError();
    await this.transport.flush();
  }

  /**
   * The gateway's reports of events it dropped (`gateway.rejected.<kind>`), from every replica, over this transport.
   * `kinds` narrows them.
   */
  async onRejected(listener: (rejection: EngineRejection) => void, kinds?: readonly EngineEventKind[]): Promise<RejectionSubscription> {
    if (!this.transport.subscribeRejections) throw new Error(`the ${this.transport.name} transport has no feedback channel`);
    const wanted = kinds ? new Set<string>(kinds) : undefined;
    const stop = await this.transport.subscribeRejections((rejection) => {
      if (!wanted || wanted.has(rejection.kind)) listener(rejection);
    });
    return { close: stop };
  }

  /**
   * Answers the gateway's order commands (docs/protocol.md §7.3): each handler gets the request and returns the answer
   * or an error object `{ code, message }`; a handler that throws is answered `{ code: 'INTERNAL' }`. Over NATS the
   * replicas' requests are spread over a queue group (`queue`, default `tradewire-engine`); over Redis every subscriber
   * gets every request, so run one.
   */
  async serveOrderCommands(handlers: OrderCommandHandlers, options: { queue?: string } = {}): Promise<RejectionSubscription> {
    if (!this.transport.serveRequests) throw new Error(`the ${this.transport.name} transport cannot serve order commands`);
    const routes: [string, ((request: never) => unknown) | undefined][] = [
      [ENGINE_SUBJECTS.orderSubmit, handlers.submit],
      [ENGINE_SUBJECTS.orderCancel, handlers.cancel],
      [ENGINE_SUBJECTS.orderCancelAll, handlers.cancelAll],
      [ENGINE_SUBJECTS.orderAmend, handlers.amend],
    ];
    const stops: (() => Promise<void>)[] = [];
    for (const [subject, handler] of routes) {
      if (!handler) continue;
      stops.push(
        await this.transport.serveRequests(subject, async (request) => {
          try {
            return (await handler(request as never)) as object;
          } catch (error) {
            return { code: 'INTERNAL', message: error instanceof Error ? error.message : String(error) };
          }
        }, options.queue ?? 'tradewire-engine'),
      );
    }
    return { close: async () => void (await Promise.all(stops.map((stop) => stop()))) };
  }

  /** The seq the next event of this account and kind gets, when numbering. */
  nextSeq(account: string, kind: AccountKind): number {
    const key = `${account}\u0000${kind}`;
    let last = this.seqs.get(key);
    if (last === undefined) {
      const numbering = this.options.sequenceAccountEvents;
      last = typeof numbering === 'object' ? numbering.initial(account, kind) : 0;
    }
    return last + 1;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.transport.close();
  }

  private sendAccount<F extends object>(account: string, kind: AccountKind, event: AccountEvent<F>, check: EventCheck): void {
    const subject = accountSubject(token('account', account), kind);
    let stamped: AccountEvent<F> & { ts: number } = withTs(event);
    const numbering = this.options.sequenceAccountEvents;
    if (numbering && stamped.seq === undefined) stamped = { ...stamped, seq: this.nextSeq(account, kind) };
    this.send(kind, subject, stamped, check, { kind: 'account', account, accountKind: kind });
    // Counted once sent: a refused event does not use up a number.
    if (stamped.seq !== undefined && numbering) this.seqs.set(`${account}\u0000${kind}`, stamped.seq);
  }

  private send(kind: EngineEventKind, subject: string, event: object, check: EventCheck, route: EventRoute): void {
    if (this.closed) throw new PublisherClosedError();
    if (this.validate) {
      const problem = check(event);
      if (problem !== null) throw new InvalidEventError(kind, problem);
    }
    this.transport.send(subject, event, route);
    this.published++;
  }
}

function withTs<T extends { ts?: number }>(event: T): T & { ts: number } {
  return event.ts === undefined ? { ...event, ts: Date.now() } : (event as T & { ts: number });
}
