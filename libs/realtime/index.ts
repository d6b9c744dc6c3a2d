export { AckInterceptor } from './ack.interceptor.js';
export { RateLimitInterceptor } from './rate-limit.interceptor.js';
export { AuthRefreshDto } from './auth-refresh.dto.js';
export { ConnectionRegistry, type NamespaceStats } from './connection-registry.js';
export { DomainGateway } from './domain-gateway.js';
export { EngineEventIntake, type MalformedReason } from './engine-event-intake.js';
export { EngineRoutes, type EngineDelivery, type EngineEventHandler, type EngineRoute } from './engine-routes.js';
// The engine payload validators live in libs/contracts (shared with the publisher library); re-exported for the gateway.
export { enumValue, toDecimal, validateBook, validateOrder, validatePortfolio, validatePosition, validateQuote, validateSession, validateTrade, type EngineStamp, type Validated } from '#libs/contracts';
export { InProcessContext, engineSubjectOf, engineTransportOf, type EngineTransportId } from './engine-context.js';
export { decodeEnginePayload, EngineMessageDeserializer, MalformedEnginePayload, MAX_ENGINE_EVENT_BYTES } from './engine-message.deserializer.js';
export { GatewayExceptionFilter } from './gateway-exception.filter.js';
export { GatewayRuntime, GATEWAY_RUNTIME_OPTIONS, type GatewayRuntimeOptions } from './gateway-runtime.js';
export { engineConnectionOf, type EngineConnection, type GatewayNamespace, type GatewaySocket, type GatewaySocketData } from './gateway-socket.js';
export { InProcessEngineTransport } from './in-process-engine.transport.js';
export { createRequestValidationPipe } from './request-validation.pipe.js';
export { requestHandlerOf, type RequestHandler } from './request-handler.js';
export { eventPacket, eventPacketPrefix } from './socket-packet.js';
export { engineMessage, type EngineMessage } from './connection-backpressure.js';
export { broadcastEvent, broadcastInProgress } from './packet-broadcast.js';
export {
  DEFAULT_SLOW_CLIENT_POLICY,
  STREAM_KINDS,
  StreamFanout,
  type FanoutMetrics,
  type MergeMode,
  type OverflowMode,
  type SlowClientPolicy,
  type StreamFanoutOptions,
  type StreamKind,
} from './stream-fanout.js';
export { subjectMatches } from './subject-matcher.js';
export { AccountStream, type AccountStreamOptions, type AccountApplyOutcome, type AccountHydrationOutcome } from './account-stream.js';
export type { AccountLogAttachment, AccountLogReader } from './account-log.js';
export { JetStreamAccountLog, type JetStreamAccountLogOptions } from './jetstream-account-log.js';
export { ensureLimitsStream, type StreamLimits, type StreamSetup } from './jetstream-stream.js';
export { AccountStreamGateway } from './account-stream.gateway.js';
export { AccountSubscribeDto, AccountUnsubscribeDto } from './account-subscribe.dto.js';
export { GatewayIoAdapter, type SocketServerSettings } from './gateway-io.adapter.js';
export { EngineInterestRegistry, type EngineInterest } from './engine-interest.js';
export { InterestNatsServer } from './interest-nats.server.js';
export { EngineRedisServer, type AccountEventCapture, type ControlEventCapture } from './engine-redis.server.js';
export { RedisStreamsAccountLog, type AccountLogAppendOutcome, type RedisStreamsAccountLogOptions } from './redis-streams-account-log.js';
export { EngineRejectionFeedback, type EngineFeedbackOutcome, type EngineRejectionFeedbackOptions } from './engine-rejection-feedback.js';
export { JetStreamControlLog, RedisStreamsControlLog, type ControlEventLog, type ControlLogOptions } from './control-event-log.js';
