export { TradewirePublisher, type AccountEvent, type OrderCommandHandlers, type PublisherOptions, type RejectionSubscription, type TransportChoice, type WithOptionalTs } from './tradewire-publisher.js';
export { InvalidEventError, InvalidSubjectError, PublisherClosedError, PublisherError, TransportError } from './errors.js';
export { NatsPublisherTransport, type NatsTransportOptions } from './nats-transport.js';
export { RedisPublisherTransport, type RedisTransportOptions } from './redis-transport.js';
export type { EventRoute, PublisherTransport } from './transport.js';
export {
  ENGINE_REJECTION_SUBJECTS,
  engineRejectionSubject,
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
  type EngineRejectionReason,
  type EngineSession,
  type EngineTrade,
  type Licence,
  type OrderFields,
  type PortfolioFields,
  type PositionFields,
} from '#libs/contracts';
