export { MD_CHANNELS, MD_SUBSCRIBE_CHANNELS, STATUS_CHANNEL, type Decimal, type MdChannel, type MdSubscribeChannel, type OrderSide, type OrderStatus, type OrderType } from './primitives.js';
import { MD_SUBSCRIBE_CHANNELS, STATUS_CHANNEL, type Decimal, type MdSubscribeChannel, type OrderSide, type OrderStatus, type OrderType } from './primitives.js';
import type { WireError } from './error-codes.js';
import type { Licence } from './licence.js';
import type { DeadmanEvent, OrderAmendRequest, OrderAmendResponse, OrderDeadmanRequest, OrderDeadmanResponse, OrderCancelAllRequest, OrderCancelAllResponse, OrderCancelRequest, OrderCancelResponse, OrderSubmitRequest, OrderSubmitResponse } from './orders.js';
import type { PortfolioValuation, PositionsValuation } from './valuation.js';

/** Socket.IO namespaces, one per domain, all on one port. */
export const NAMESPACES = {
  marketData: '/market-data',
  orders: '/orders',
  positions: '/positions',
  portfolio: '/portfolio',
} as const;
export type Namespace = (typeof NAMESPACES)[keyof typeof NAMESPACES];
export const ALL_NAMESPACES: readonly Namespace[] = Object.values(NAMESPACES);

/** Client → server request names. */
export const CLIENT_EVENTS = {
  ping: 'ping',
  authRefresh: 'auth:refresh',
  subscribe: 'subscribe',
  unsubscribe: 'unsubscribe',
  resync: 'resync',
  orderSubmit: 'order:submit',
  orderCancel: 'order:cancel',
  orderCancelAll: 'order:cancel-all',
  orderAmend: 'order:amend',
  orderDeadman: 'order:deadman',
} as const;

/** Server → client event names. */
export const SERVER_EVENTS = {
  welcome: 'welcome',
  error: 'error',
  system: 'system',
  authExpiring: 'auth:expiring',
  licence: 'licence',
  md: 'md',
  session: 'session',
  order: 'order',
  position: 'position',
  portfolio: 'portfolio',
  ordersSnapshot: 'orders:snapshot',
  positionsSnapshot: 'positions:snapshot',
  portfolioSnapshot: 'portfolio:snapshot',
  deadman: 'deadman',
} as const;

/** Every acknowledged request answers with this. */
export type AckResponse<T> = { ok: true; data: T } | { ok: false; error: WireError };
export type AckCallback<T> = (response: AckResponse<T>) => void;

export interface WelcomeLimits {
  maxSubscriptions: number;
  maxConnections: number;
  minThrottleMs: number;
  maxFrameBytes: number;
  /** Market-data streams one user may hold at once across connections and replicas (0: no cap); changeable at runtime. */
  maxStreamsPerUser?: number;
  /** How long the client may stay behind its market data before `SLOW_CLIENT`; changeable at runtime. */
  slowClientGraceMs?: number;
  /** The request rate limits in force when this was sent (docs/protocol.md §3.6); changeable at runtime. */
  rateLimits?: RateLimitsPayload;
}

/** A token bucket: `limit` per `windowMs`, at most `burst` at once. */
export interface RateRulePayload {
  limit: number;
  windowMs: number;
  burst: number;
}

/** The rate limits a client is subject to; `null`: that limit is off. */
export interface RateLimitsPayload {
  requests: RateRulePayload | null;
  requestBurst: RateRulePayload | null;
  /** Per event name (per user and namespace). */
  events: Record<string, RateRulePayload>;
  cancels: RateRulePayload | null;
  /** That many refused requests within `windowMs` block the user for `blockMs`. */
  blockAfter: { refusals: number; windowMs: number } | null;
  blockMs: number;
  /** New connections per client address. */
  handshakes: RateRulePayload | null;
}

export interface Entitlements {
  tier: string;
  exchanges: Licence['exchanges'];
  channels: Licence['channels'];
  features: string[];
}

export interface WelcomePayload {
  connectionId: string;
  userId: string;
  namespace: Namespace;
  node: string;
  serverVersion: string;
  serverTime: number;
  limits: WelcomeLimits;
  entitlements: Entitlements;
}

/** `licence`: the connection's licence changed while it was open (registry, engine event or `auth:refresh`). */
export interface LicencePayload {
  limits: WelcomeLimits;
  entitlements: Entitlements;
}

export interface PingResponse {
  serverTime: number;
}

export interface AuthRefreshRequest {
  token: string;
}
export interface AuthRefreshResponse {
  expiresAt: number;
}
export interface AuthExpiringPayload {
  expiresAt: number;
}

/** How much an operator's notice matters. */
export const NOTICE_SEVERITIES = ['info', 'warning', 'critical'] as const;
export type NoticeSeverity = (typeof NOTICE_SEVERITIES)[number];

/**
 * `system`: `shutdown` (this replica is going away: come back within `reconnectInMs`), `notice` (a message to show; a
 * stream switching between realtime and delayed, or an operator's notice) or `disconnect` (an operator disconnects this
 * connection; `message` is the reason; come back after `reconnectInMs`, or only when the user asks if it is absent).
 */
export interface SystemPayload {
  type: 'shutdown' | 'notice' | 'disconnect';
  message: string;
  reconnectInMs?: number;
  /** A notice about one market-data stream (e.g. switched to delayed by a licence change): the stream, how it is served now, and the seq it continues from. */
  stream?: string;
  delayed?: boolean;
  seq?: number;
  /** An operator's notice or disconnect: one id per action, the same on every namespace and replica (show it once). */
  id?: string;
  /** An operator's notice: how much it matters. */
  severity?: NoticeSeverity;
}

// ---------------------------------------------------------------- market data


export interface QuoteData {
  bid: Decimal;
  ask: Decimal;
  bidSize: Decimal;
  askSize: Decimal;
  last: Decimal;
  lastSize: Decimal;
  volume: Decimal;
  open?: Decimal;
  high?: Decimal;
  low?: Decimal;
  prevClose?: Decimal;
}

export type TradeSide = 'buy' | 'sell';

export interface TradeData {
  price: Decimal;
  size: Decimal;
  side: TradeSide;
  tradeId: string;
}

export type BookLevel = [price: Decimal, size: Decimal];

export interface BookData {
  bids: BookLevel[];
  asks: BookLevel[];
  checksum: number;
}

export interface MdDataByChannel {
  quote: QuoteData;
  trade: TradeData;
  book: BookData;
  status: FeedStatus;
}

export interface MdMessage<C extends MdSubscribeChannel = MdSubscribeChannel> {
  stream: string;
  type: 'snapshot' | 'update';
  seq: number;
  prevSeq?: number;
  ts: number;
  data: MdDataByChannel[C];
  delayed?: boolean;
}

// ---- feed health: the `status` channel (docs/protocol.md §5.12)

export const FEED_STATES = ['live', 'stale', 'halted', 'closed'] as const;
/** live: events arrive within the exchange's cadence; stale: they do not (or were lost); halted/closed: the session says none are due. */
export type FeedState = (typeof FEED_STATES)[number];

export const FEED_STATUS_REASONS = ['no_events', 'seq_gap', 'session_closed', 'session_pre_open', 'session_halted'] as const;
/**
 * Why a feed is not `live`: `no_events` (nothing within the cadence, or nothing yet), `seq_gap` (the engine's `seq`
 * skipped), `session_closed` / `session_pre_open` (state `closed`), `session_halted` (state `halted`).
 */
export type FeedStatusReason = (typeof FEED_STATUS_REASONS)[number];

export interface FeedStatus {
  state: FeedState;
  /** Milliseconds since this gateway received the instrument's last quote, trade or book event, when it was computed; null before the first one. */
  lastEventAgeMs: number | null;
  /** Epoch ms when this state began. */
  since: number;
  /** Null when `live`. */
  reason: FeedStatusReason | null;
}

export interface MdSubscribeRequest {
  instruments: string[];
  channels: MdSubscribeChannel[];
  throttleMs?: number;
  depth?: number;
}

export interface MdSubscribed {
  stream: string;
  seq: number;
  delayed: boolean;
  delayMs: number;
  throttleMs: number;
  /** On a `status:{instrument}` stream: the feed's current status (its snapshot follows in `md` as well). */
  status?: FeedStatus;
}

export interface MdRejected {
  instrument: string;
  channel: MdSubscribeChannel;
  code: WireError['code'];
  message: string;
}

export interface MdSubscribeResponse {
  subscribed: MdSubscribed[];
  rejected: MdRejected[];
  /** The trading session of each exchange of the subscribed instruments. */
  sessions: SessionPayload[];
}

export interface MdUnsubscribeRequest {
  instruments: string[];
  channels?: MdSubscribeChannel[];
}
export interface MdUnsubscribeResponse {
  unsubscribed: string[];
}

export interface MdResyncRequest {
  stream: string;
}
export interface MdResyncResponse {
  stream: string;
  seq: number;
}

export type SessionStatus = 'PRE_OPEN' | 'OPEN' | 'CLOSED' | 'HALTED';
export interface SessionPayload {
  exchange: string;
  status: SessionStatus;
  since: number;
  nextChange?: number;
}

/** `status:NASDAQ:AAPL`, the feed-status stream of an instrument. */
export function statusStreamName(instrument: string): string {
  return `${STATUS_CHANNEL}:${instrument}`;
}

/** `status:NASDAQ:AAPL` → `NASDAQ:AAPL`; null for any other stream. */
export function instrumentOfStatusStream(stream: string): string | null {
  if (!stream.startsWith(`${STATUS_CHANNEL}:`)) return null;
  const instrument = stream.slice(STATUS_CHANNEL.length + 1);
  return INSTRUMENT_PATTERN.test(instrument) ? instrument : null;
}

/** `quote:NASDAQ:AAPL` → channel `quote`, instrument `NASDAQ:AAPL`. */
export function streamName(channel: MdSubscribeChannel, instrument: string): string {
  return `${channel}:${instrument}`;
}

/** `quote:NASDAQ:AAPL` → `{ channel: 'quote', instrument: 'NASDAQ:AAPL' }`, for every market-data channel (`status` too); null otherwise. */
export function parseStream(stream: string): { channel: MdSubscribeChannel; instrument: string } | null {
  const colon = stream.indexOf(':');
  if (colon < 0) return null;
  const channel = stream.slice(0, colon);
  const instrument = stream.slice(colon + 1);
  if (!(MD_SUBSCRIBE_CHANNELS as readonly string[]).includes(channel) || !INSTRUMENT_PATTERN.test(instrument)) return null;
  return { channel: channel as MdSubscribeChannel, instrument };
}

/** `EXCHANGE:SYMBOL`, upper-case letters, digits, '.', '-' and '_'. */
export const INSTRUMENT_PATTERN = /^[A-Z0-9_]{1,16}:[A-Z0-9._-]{1,32}$/;

// ---------------------------------------------------------------- account streams

export const ACCOUNT_KINDS = ['order', 'position', 'portfolio'] as const;
export type AccountKind = (typeof ACCOUNT_KINDS)[number];

export type ExecType = 'new' | 'trade' | 'canceled' | 'replaced' | 'rejected' | 'expired' | 'pending_new' | 'pending_cancel';

/** FIX ExecutionReport fields, as decimal strings. */
export interface OrderFields {
  orderId: string;
  clientOrderId: string;
  symbol: string;
  side: OrderSide;
  type: OrderType;
  status: OrderStatus;
  execType: ExecType;
  quantity: Decimal;
  filledQuantity: Decimal;
  leavesQuantity: Decimal;
  price?: Decimal;
  avgPrice?: Decimal;
  lastFillPrice?: Decimal;
  lastFillQuantity?: Decimal;
  reason?: string;
}

export interface PositionFields {
  symbol: string;
  quantity: Decimal;
  avgPrice: Decimal;
  marketPrice: Decimal;
  marketValue: Decimal;
  unrealizedPnl: Decimal;
  realizedPnl: Decimal;
  dayPnl: Decimal;
}

export interface PortfolioFields {
  currency: string;
  equity: Decimal;
  cash: Decimal;
  buyingPower: Decimal;
  marketValue: Decimal;
  dayPnl: Decimal;
  totalPnl: Decimal;
}

export interface AccountFieldsByKind {
  order: OrderFields;
  position: PositionFields;
  portfolio: PortfolioFields;
}

export type AccountEvent<K extends AccountKind = AccountKind> = { account: string; seq: number; ts: number } & AccountFieldsByKind[K];

export interface AccountSubscribeRequest {
  accounts?: string[];
  since?: Record<string, number>;
}

export interface AccountSubscribed {
  account: string;
  seq: number;
  replayed: number;
  resetRequired: boolean;
}

export interface AccountSubscribeResponse {
  accounts: AccountSubscribed[];
}

export interface AccountUnsubscribeRequest {
  accounts?: string[];
}
export interface AccountUnsubscribeResponse {
  accounts: string[];
}

export interface OrdersSnapshot {
  account: string;
  seq: number;
  items: AccountEvent<'order'>[];
}
export interface PositionsSnapshot {
  account: string;
  seq: number;
  items: AccountEvent<'position'>[];
}
export interface PortfolioSnapshot {
  account: string;
  seq: number;
  portfolio: AccountEvent<'portfolio'> | null;
}

/** Per account-stream namespace: which live event and which snapshot event it carries. */
export const ACCOUNT_STREAM_EVENTS = {
  order: { live: SERVER_EVENTS.order, snapshot: SERVER_EVENTS.ordersSnapshot },
  position: { live: SERVER_EVENTS.position, snapshot: SERVER_EVENTS.positionsSnapshot },
  portfolio: { live: SERVER_EVENTS.portfolio, snapshot: SERVER_EVENTS.portfolioSnapshot },
} as const satisfies Record<AccountKind, { live: string; snapshot: string }>;

/** Socket.IO typed maps: what the server emits to clients of each namespace. */
export interface ServerToClientEvents {
  welcome: (payload: WelcomePayload) => void;
  error: (payload: WireError) => void;
  system: (payload: SystemPayload) => void;
  'auth:expiring': (payload: AuthExpiringPayload) => void;
  licence: (payload: LicencePayload) => void;
  md: (messages: MdMessage[]) => void;
  session: (payload: SessionPayload) => void;
  order: (event: AccountEvent<'order'>) => void;
  position: (event: AccountEvent<'position'>) => void;
  portfolio: (event: AccountEvent<'portfolio'>) => void;
  'orders:snapshot': (payload: OrdersSnapshot) => void;
  'positions:snapshot': (payload: PositionsSnapshot) => void;
  'portfolio:snapshot': (payload: PortfolioSnapshot) => void;
  deadman: (payload: DeadmanEvent) => void;
  /** Gateway valuations (live mark-to-market, docs/protocol.md §6.8): derived, not sequenced, never replayed. */
  'positions:valuation': (payload: PositionsValuation) => void;
  'portfolio:valuation': (payload: PortfolioValuation) => void;
}

/**
 * The typed client → server request map: per namespace, each request's payload and the `data` of its ack. Every
 * request is sent with an ack callback and answered with the `AckResponse` envelope.
 */
export interface CommonRequests {
  ping: [request: Record<string, never>, response: PingResponse];
  'auth:refresh': [request: AuthRefreshRequest, response: AuthRefreshResponse];
}
export interface MarketDataRequests extends CommonRequests {
  subscribe: [request: MdSubscribeRequest, response: MdSubscribeResponse];
  unsubscribe: [request: MdUnsubscribeRequest, response: MdUnsubscribeResponse];
  resync: [request: MdResyncRequest, response: MdResyncResponse];
}
export interface AccountStreamRequests extends CommonRequests {
  subscribe: [request: AccountSubscribeRequest, response: AccountSubscribeResponse];
  unsubscribe: [request: AccountUnsubscribeRequest, response: AccountUnsubscribeResponse];
}
export interface OrdersRequests extends AccountStreamRequests {
  'order:submit': [request: OrderSubmitRequest, response: OrderSubmitResponse];
  'order:cancel': [request: OrderCancelRequest, response: OrderCancelResponse];
  'order:cancel-all': [request: OrderCancelAllRequest, response: OrderCancelAllResponse];
  'order:amend': [request: OrderAmendRequest, response: OrderAmendResponse];
  'order:deadman': [request: OrderDeadmanRequest, response: OrderDeadmanResponse];
}
/** Requests of each namespace, by namespace. */
export interface NamespaceRequests {
  '/market-data': MarketDataRequests;
  '/orders': OrdersRequests;
  '/positions': AccountStreamRequests;
  '/portfolio': AccountStreamRequests;
}

/** A request map: each event's `[payload, answer]`. */
export type RequestMap = object;
/** The requests of namespace N. */
export type RequestsOf<N extends Namespace> = NamespaceRequests[N];
/** The payload of request E of a request map. */
export type RequestPayload<Requests extends RequestMap, E extends keyof Requests> = Requests[E] extends [infer Payload, unknown] ? Payload : never;
/** The answer (the ack's `data`) of request E of a request map. */
export type RequestAnswer<Requests extends RequestMap, E extends keyof Requests> = Requests[E] extends [unknown, infer Answer] ? Answer : never;

/** Socket.IO typed map of what a client emits, from a request map: each request carries its ack callback. */
export type ClientToServerEvents<Requests extends RequestMap> = {
  [E in keyof Requests]: (request: RequestPayload<Requests, E>, ack: AckCallback<RequestAnswer<Requests, E>>) => void;
};
/** What a client emits on namespace N (socket.io-client: `Socket<ServerToClientEvents, ClientToServer<N>>`). */
export type ClientToServer<N extends Namespace> = ClientToServerEvents<RequestsOf<N>>;
