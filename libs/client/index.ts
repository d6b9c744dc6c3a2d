/**
 * @tradewire/client: the Tradewire gateway's client SDK for browsers and Node ≥ 20. The React hooks are in
 * `@tradewire/client/react`.
 */
export { TradewireClient } from './tradewire-client.js';
export { MarketDataClient, MarketDataSubscription } from './market-data.js';
export { AccountStreamClient, AccountSubscription, AccountStore, OrderStore, PositionStore, PortfolioStore } from './account-streams.js';
export { OrdersClient, newClientOrderId, type AmendOrderResult, type CancelAllOrdersResult, type SubmitOrderResult } from './order-commands.js';
export { DeadmanSwitch, type DeadmanSwitchEvents, type DeadmanSwitchState } from './deadman-switch.js';
export { BookState, CHECKSUM_LEVELS, type BookCheck } from './book-state.js';
export { FullJitterBackoff, jitterWithin, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';
export { REFUSAL_POLICY, classifyRefusal, type RefusalAction, type RefusalContext } from './refusal-policy.js';
export { TradewireError, InvalidArgumentError, RequestError, BadFrameError, type ClientErrorCode } from './errors.js';
export type * from './types.js';
export { bookChecksum, crc32 } from '#libs/contracts';
export type {
  AccountEvent,
  BookLevel,
  DeadmanFired,
  DeadmanFireReason,
  ErrorCode,
  FeedState,
  FeedStatus,
  FeedStatusReason,
  LicencePayload,
  MdChannel,
  MdSubscribeChannel,
  MdRejected,
  MdSubscribed,
  OrderAmendResponse,
  OrderCancelAllResponse,
  OrderCancelResponse,
  OrderSide,
  OrderStatus,
  OrderSubmitResponse,
  OrderType,
  SessionPayload,
  SystemPayload,
  WelcomePayload,
  WireError,
} from '#libs/contracts';
