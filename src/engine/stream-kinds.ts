import type { InjectionToken } from '@nestjs/common';
import { ENGINE_SUBJECTS, NAMESPACES, type AccountKind, type EngineEventKind } from '#libs/contracts';
import { validateLicenceChanged, validateScreenChange } from '#libs/licensing';
import {
  STREAM_KINDS,
  validateBook,
  validateOrder,
  validatePortfolio,
  validatePosition,
  validateQuote,
  validateSession,
  validateTrade,
  type EngineDelivery,
  type StreamKind,
  type Validated,
} from '#libs/realtime';
import { accountEventsToken } from '../account-streams/account-stream-events.js';
import type { AccountStreamSettings, EngineEventOutcome, EngineStreamHandler } from './stream-handler.js';
import { ComplianceScreenEvents } from '../compliance/compliance-screen.events.js';
import { LicenceChangeEvents } from '../licensing/licence-change.events.js';
import { BookChannel } from '../market-data/channels/book.channel.js';
import { QuoteChannel } from '../market-data/channels/quote.channel.js';
import { StatusChannel } from '../market-data/channels/status.channel.js';
import { TradeChannel } from '../market-data/channels/trade.channel.js';
import { ExchangeSessions } from '../market-data/exchange-sessions.js';

/**
 * THE REGISTRY OF STREAM KINDS — the single source of truth for what the engine sends this gateway.
 *
 * Each entry says, once: the engine subject pattern, the payload validator, the provider that handles the validated
 * events, and how the kind travels (`hot`: market data, subscribed on interest and handed to its handler without Nest's
 * per-message pipeline; `durable`: an account stream, kept in the account log; `control`: low-rate events subscribed
 * whole). Market-data channels add their fan-out merge and overflow modes; account streams their namespace and state
 * limits. Everything else is derived from this list at start (src/engine/engine-transports.ts): the patterns each
 * transport subscribes (Redis PSUBSCRIBE, NATS whole or per instrument on interest), the direct handlers, the JetStream
 * and Redis Streams account-log subjects, and which account streams the log is attached to.
 *
 * Decision — how routes reach `@nestjs/microservices` without being declared twice: no `@EventPattern`. The transports
 * are still Nest's microservice servers (ServerNats, ServerRedis, a custom in-process Server), with their connection
 * handling, deserializer and status; EngineRoutes gives them each registered kind with `Server.addHandler`, the same
 * call `@EventPattern` makes under the hood, and hot kinds are also called directly by the transports. A decorator on a
 * controller would be a second declaration of the subject next to this list, and would put engine events through the
 * RPC context creator, pipes, guards and interceptors meant for client requests. So: do not add `@EventPattern`
 * anywhere; add an entry here.
 *
 * Adding a market-data channel: its contracts (libs/contracts), one file in src/market-data/channels implementing
 * MarketDataChannel, and one entry here (`derivedStreamKind` for a channel computed from other kinds' events, which it
 * observes through EngineEventTaps, rather than sent by the engine). Adding an account namespace: its contracts, one entry here (with `account`)
 * and `AccountStreamModule.forKind(kind)` in AppModule. See README, "Adding a channel or a namespace".
 */

export interface StreamKindDescriptor<T> {
  kind: EngineEventKind;
  subject: string;
  delivery: EngineDelivery;
  validate: (payload: unknown) => Validated<T>;
  handler: InjectionToken<EngineStreamHandler<T>>;
  /** Market-data channels: how the fan-out merges a stream's updates for a waiting client and what it does on overflow. */
  fanout?: StreamKind;
  /** Durable kinds: the account stream they feed. */
  account?: AccountStreamSettings;
  /**
   * Control kinds that change what clients may do (licences, screens): kept in the durable control log (JetStream or
   * Redis Streams) and applied from it only, all of it before the replica is ready (src/engine/control-log.ts).
   */
  controlLog?: true;
}

/** A registry entry once its payload type has been checked: the validator and the handler agree on one `T`. */
export type RegisteredStreamKind = EngineFedStreamKind | DerivedStreamKind;

/**
 * A market-data channel the engine does not send as such: its provider computes it from what it observes (other kinds'
 * events through EngineEventTaps, timers) and publishes into the fan-out. No route, nothing asked of the engine.
 */
export interface DerivedStreamKind {
  kind: EngineEventKind;
  delivery: 'derived';
  handler: InjectionToken;
  fanout: StreamKind;
  account?: undefined;
}

export interface EngineFedStreamKind {
  kind: EngineEventKind;
  subject: string;
  delivery: EngineDelivery;
  validate: (payload: unknown) => Validated<unknown>;
  handler: InjectionToken;
  fanout?: StreamKind;
  account?: AccountStreamSettings;
  controlLog?: true;
  /** Hands a value this kind's validator accepted to the provider resolved from `handler`. */
  deliver(handler: unknown, subject: string, value: unknown): EngineEventOutcome;
}

/** Checks that the validator's output is what the handler takes, then keeps the entry in its registered form. */
function streamKind<T>(descriptor: StreamKindDescriptor<T>): EngineFedStreamKind {
  return {
    ...descriptor,
    // The one place the payload type is erased: `value` is what `descriptor.validate` returned, and `handler` the
    // provider of `descriptor.handler`, an InjectionToken<EngineStreamHandler<T>>.
    deliver: (handler, subject, value) => (handler as EngineStreamHandler<T>).onEngineEvent(subject, value as T),
  };
}

/** A derived market-data channel's entry: its provider and its fan-out mode. */
export function derivedStreamKind(descriptor: Omit<DerivedStreamKind, 'delivery' | 'account'>): DerivedStreamKind {
  return { ...descriptor, delivery: 'derived' };
}

function accountStream<K extends AccountKind>(settings: AccountStreamSettings<K>): AccountStreamSettings {
  return settings as unknown as AccountStreamSettings;
}

export const STREAM_KIND_REGISTRY = [
  // Market data (hot). Quotes are full state (conflated), trades all count, book updates are deltas on a snapshot.
  streamKind({ kind: 'quote', subject: ENGINE_SUBJECTS.quote, delivery: 'hot', validate: validateQuote, handler: QuoteChannel, fanout: STREAM_KINDS.state }),
  streamKind({ kind: 'trade', subject: ENGINE_SUBJECTS.trade, delivery: 'hot', validate: validateTrade, handler: TradeChannel, fanout: STREAM_KINDS.events }),
  streamKind({ kind: 'book', subject: ENGINE_SUBJECTS.book, delivery: 'hot', validate: validateBook, handler: BookChannel, fanout: STREAM_KINDS.deltas }),
  // Feed health per instrument, computed in the gateway from the quotes, trades, books and sessions it observes.
  derivedStreamKind({ kind: 'status', handler: StatusChannel, fanout: STREAM_KINDS.state }),
  streamKind({ kind: 'session', subject: ENGINE_SUBJECTS.session, delivery: 'control', validate: validateSession, handler: ExchangeSessions }),
  // Account streams (durable).
  streamKind({
    kind: 'order',
    subject: ENGINE_SUBJECTS.order,
    delivery: 'durable',
    validate: validateOrder,
    handler: accountEventsToken('order'),
    account: accountStream({ kind: 'order', namespace: NAMESPACES.orders, itemKey: (order) => order.orderId, maxItems: 1_000, replayDepth: 10_000 }),
  }),
  streamKind({
    kind: 'position',
    subject: ENGINE_SUBJECTS.position,
    delivery: 'durable',
    validate: validatePosition,
    handler: accountEventsToken('position'),
    account: accountStream({ kind: 'position', namespace: NAMESPACES.positions, itemKey: (position) => position.symbol, maxItems: 1_000, replayDepth: 10_000 }),
  }),
  streamKind({
    kind: 'portfolio',
    subject: ENGINE_SUBJECTS.portfolio,
    delivery: 'durable',
    validate: validatePortfolio,
    handler: accountEventsToken('portfolio'),
    account: accountStream({ kind: 'portfolio', namespace: NAMESPACES.portfolio, itemKey: () => null, maxItems: 1, replayDepth: 10_000 }),
  }),
  // Control events.
  streamKind({ kind: 'licence', subject: ENGINE_SUBJECTS.licenceChanged, delivery: 'control', validate: validateLicenceChanged, handler: LicenceChangeEvents, controlLog: true }),
  streamKind({ kind: 'compliance', subject: ENGINE_SUBJECTS.complianceScreen, delivery: 'control', validate: validateScreenChange, handler: ComplianceScreenEvents, controlLog: true }),
] as const satisfies readonly RegisteredStreamKind[];

/** The registry entry of an account kind (the registry has one for each). */
export function accountStreamSettings(kind: AccountKind): AccountStreamSettings {
  const settings = STREAM_KIND_REGISTRY.find((descriptor) => descriptor.account?.kind === kind)?.account;
  if (!settings) throw new Error(`no account stream ${kind} in the registry of stream kinds`);
  return settings;
}
