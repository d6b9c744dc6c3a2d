import type {
  AccountEvent,
  BookLevel,
  FeedStatus,
  LicencePayload,
  MdSubscribeChannel,
  MdRejected,
  MdSubscribed,
  Namespace,
  OrderSide,
  OrderType,
  PortfolioValuation,
  PositionsValuation,
  QuoteData,
  SessionPayload,
  SystemPayload,
  TradeData,
  ValuationMark,
  WelcomePayload,
} from '#libs/contracts';
import type { BackoffOptions } from './backoff.js';
import type { TradewireError } from './errors.js';

/** The client's connection state, over every namespace it has opened. */
export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'disconnected';

export interface ConnectionStateInfo {
  /** Why the state changed: `connect`, `transport close`, `io server disconnect`, `shutdown`, `refused`, `closed`, … */
  reason: string;
  /** The refusal or server error behind the change, when there was one. */
  error?: TradewireError;
  /** The namespace whose change moved the state. */
  namespace?: Namespace;
  /** When a reconnect is scheduled: in how many ms, and which attempt it is (from 1). */
  retryInMs?: number;
  attempt?: number;
  /** The replica now serving the namespace (`welcome.node`). */
  node?: string;
}

/** A logger hook: plug in pino, console or anything with these methods. Fields are plain JSON values. */
export interface TradewireLogger {
  debug?(message: string, fields?: Record<string, unknown>): void;
  info?(message: string, fields?: Record<string, unknown>): void;
  warn?(message: string, fields?: Record<string, unknown>): void;
  error?(message: string, fields?: Record<string, unknown>): void;
}

export interface TradewireClientOptions {
  /**
   * The gateway's base URL, e.g. `https://gateway.example.com` (no namespace); usually a load balancer's. Several
   * URLs (replicas reached directly): the client moves to the next one when the current one cannot be reached or
   * announces its shutdown.
   */
  url: string | readonly string[];
  /** Returns a valid JWT; called at connect, on `auth:expiring` and after a `TOKEN_EXPIRED` / `UNAUTHORIZED` refusal. */
  getToken: () => string | Promise<string>;
  /** Reconnect backoff: full jitter, 500 ms → 20 s by default. */
  backoff?: BackoffOptions;
  /** How often one application `ping` measures RTT and clock offset, per connection (default 20 000 ms; 0: never). */
  pingIntervalMs?: number;
  /** How long a request waits for its answer before it is retried or fails (default 10 000 ms). */
  requestTimeoutMs?: number;
  /** How many times a request refused `RATE_LIMITED` is sent again after `retryAfterMs` (default 3). */
  rateLimitRetries?: number;
  /** How many times an order command whose answer was lost (timeout, reconnect) is sent again (default 3). */
  commandRetries?: number;
  /** Trades kept per instrument (default 100). */
  tradeTapeSize?: number;
  /** Socket.IO transports (default websocket first, then polling); Node services often pass `['websocket']`. */
  transports?: ('websocket' | 'polling' | 'webtransport')[];
  logger?: TradewireLogger;
  /** For tests: the randomness of the jitter, in [0, 1). */
  random?: () => number;
}

export interface TradewireClientEvents {
  state: (state: ConnectionState, info: ConnectionStateInfo) => void;
  /** A bad frame (skipped), a server `error` event, or a background request that failed. Never thrown. */
  error: (error: TradewireError) => void;
  welcome: (welcome: WelcomePayload) => void;
  licence: (licence: LicencePayload) => void;
  system: (notice: SystemPayload) => void;
  /** The token was refreshed on every open namespace without reconnecting. */
  tokenRefreshed: (info: { expiresAt: number }) => void;
}

// ---------------------------------------------------------------- market data

export interface MarketDataSubscribeOptions {
  instruments: string[];
  /** `quote`, `trade`, `book`, and `status`: the feed's health per instrument (see `FeedStatusInfo`). */
  channels: MdSubscribeChannel[];
  /** Max flush rate per stream, ms (0: every update); the server may raise it to `limits.minThrottleMs`. */
  throttleMs?: number;
  /**
   * Book levels per side, 1-50 (default 10); a book can only be verified with 10 or more. A client keeps one depth
   * per book: a later subscription of a book already held shares it at the depth it has.
   */
  depth?: number;
}

interface StreamFields {
  instrument: string;
  seq: number;
  /** Engine time of the newest event, epoch ms. */
  ts: number;
  /** Held back by the licence's delay (`delayMs`). */
  delayed: boolean;
  /** When the SDK received it (local clock, epoch ms): `Date.now() - receivedAt` is the data's age here. */
  receivedAt: number;
}

export type Quote = QuoteData & StreamFields;
export type Trade = TradeData & StreamFields;

export interface Book extends StreamFields {
  /** Best (highest) first. */
  bids: readonly BookLevel[];
  /** Best (lowest) first. */
  asks: readonly BookLevel[];
  /** The server's checksum of the top 10 levels. */
  checksum: number;
  /**
   * The SDK's own CRC32 of its copy matched `checksum`. False while unverifiable (`depth` below 10), and while the
   * book is out of step (a gap or a mismatch) until the fresh snapshot the SDK asked for arrives.
   */
  verified: boolean;
}

/**
 * The health of an instrument's feed as the gateway sees it (the `status` channel): `live`, `stale` (no engine event
 * within the exchange's cadence, or events lost), `halted` or `closed` (the session: no events are due).
 */
export interface FeedStatusInfo extends FeedStatus {
  instrument: string;
  /** When the SDK received it (local clock, epoch ms). `lastEventAgeMs` is as of the server's message. */
  receivedAt: number;
}

export type ResyncReason = 'gap' | 'checksum' | 'reconnect';

export interface ResyncInfo {
  stream: string;
  instrument: string;
  channel: MdSubscribeChannel;
  reason: ResyncReason;
  /** For a gap: the seq the update built on and the one the SDK had. */
  prevSeq?: number;
  expectedSeq?: number;
  /** For a checksum mismatch: the server's and the SDK's checksums. */
  checksum?: number;
  computed?: number;
}

export interface DelayedInfo {
  stream: string;
  instrument: string;
  channel: MdSubscribeChannel;
  delayed: boolean;
  delayMs?: number;
}

export interface MarketDataSubscriptionEvents {
  quote: (quote: Quote) => void;
  trade: (trade: Trade) => void;
  book: (book: Book) => void;
  /** The instrument's feed status changed (and its current status, once subscribed). */
  status: (status: FeedStatusInfo) => void;
  /** Items the server refused (per instrument and channel), or a live stream it stopped (e.g. `NOT_COMPLIANT`). */
  rejected: (items: MdRejected[]) => void;
  /** Streams the server accepted; again after every reconnect, with `restored: true`. */
  subscribed: (items: MdSubscribed[], info: { restored: boolean }) => void;
  /** The SDK found a book out of step and asked for a fresh snapshot. */
  resync: (info: ResyncInfo) => void;
  /** A stream switched between real-time and delayed (licence change), or was first served delayed. */
  delayed: (info: DelayedInfo) => void;
  session: (session: SessionPayload) => void;
  error: (error: TradewireError) => void;
}

// ---------------------------------------------------------------- account streams

export type Order = AccountEvent<'order'>;
/**
 * A position as the engine last sent it, or as the gateway revalued it since (live mark-to-market): then `source` is
 * `'gateway'`, with the `quoteTs` of the quote used and `delayed` for a delayed price. Quantities and realized P&L are
 * always the engine's.
 */
export type Position = AccountEvent<'position'> & Partial<ValuationMark>;
/** A portfolio as the engine last sent it, or revalued by the gateway (`source: 'gateway'`, see Position). */
export type Portfolio = AccountEvent<'portfolio'> & Partial<ValuationMark>;

export interface AccountSubscribeOptions {
  /** Accounts to follow; all the token's accounts when left out. */
  accounts?: string[];
}

/** Why an account's state was (re)loaded from a snapshot. */
export interface AccountSnapshotInfo {
  account: string;
  seq: number;
  /** The replay log no longer reached the seq the SDK had: the state was replaced, events in between are not known. */
  resetRequired: boolean;
}

export interface AccountReplayInfo {
  account: string;
  /** Events the server replays after the SDK's `since`. */
  replayed: number;
  since: number;
}

export interface AccountSubscriptionEvents<E> {
  /** Each event once, in seq order per account, across reconnects and replicas. */
  event: (event: E) => void;
  snapshot: (info: AccountSnapshotInfo) => void;
  /** `resetRequired`: the app should treat the account's state as reloaded (the snapshot follows). */
  reset: (info: AccountSnapshotInfo) => void;
  /** After a reconnect: the server replays what was missed. */
  replay: (info: AccountReplayInfo) => void;
  /** A gateway valuation changed the store's figures for `account` (positions and portfolio only; see `valuation`). */
  revalued: (account: string) => void;
  error: (error: TradewireError) => void;
}

export interface OrderEvents extends AccountSubscriptionEvents<Order> {
  order: (order: Order) => void;
}
export interface PositionEvents extends AccountSubscriptionEvents<Position> {
  position: (position: Position) => void;
  /** The gateway revalued positions of an account from its quotes (applied to the store first); not an engine event. */
  valuation: (valuation: PositionsValuation) => void;
}
export interface PortfolioEvents extends AccountSubscriptionEvents<Portfolio> {
  portfolio: (portfolio: Portfolio) => void;
  /** The gateway revalued the account's portfolio from its quotes (applied to the store first); not an engine event. */
  valuation: (valuation: PortfolioValuation) => void;
}

// ---------------------------------------------------------------- order commands

export interface SubmitOrderInput {
  account: string;
  instrument: string;
  side: OrderSide;
  type: OrderType;
  quantity: string;
  price?: string;
  timeInForce?: string;
  /** The idempotency key; generated (a UUID) when left out, and reused by every retry. */
  clientOrderId?: string;
}

export interface CancelOrderInput {
  account: string;
  orderId?: string;
  clientOrderId?: string;
}

/** `orders.cancelAll`: every working order of `account`, or only those of `instrument` and/or `side`. */
export interface CancelAllOrdersInput {
  account: string;
  instrument?: string;
  side?: OrderSide;
  /** The idempotency key; generated (a UUID) when left out, and reused by every retry. */
  requestId?: string;
}

/**
 * `orders.amend` (FIX OrderCancelReplace): the order by `orderId` or `origClientOrderId`, and its new total `quantity`
 * and/or `price`.
 */
export interface AmendOrderInput {
  account: string;
  orderId?: string;
  origClientOrderId?: string;
  quantity?: string;
  price?: string;
  /** The replacement's own id and idempotency key; generated (a UUID) when left out, and reused by every retry. */
  clientOrderId?: string;
}

// ---------------------------------------------------------------- diagnostics

export interface StreamDiagnostics {
  stream: string;
  seq: number;
  /** ms since the stream's last message arrived, or null before the first. */
  ageMs: number | null;
  delayed: boolean;
}

export interface Diagnostics {
  state: ConnectionState;
  /** Round trip of the last `ping`, ms. */
  rttMs: number | null;
  /** Server clock minus local clock, ms (from `ping`, else `welcome`). */
  clockOffsetMs: number | null;
  reconnects: number;
  gaps: number;
  resyncs: number;
  checksumMismatches: number;
  badFrames: number;
  duplicatesDropped: number;
  /** Requests sent again after `RATE_LIMITED`. */
  rateLimitedRetries: number;
  pingsSent: number;
  /** Per namespace: the replica serving it and its state. */
  namespaces: { namespace: Namespace; connected: boolean; node: string | null }[];
  streams: StreamDiagnostics[];
  /** Per account stream (`order:ACC-1`, …): its last seq and data age. */
  accounts: StreamDiagnostics[];
}
