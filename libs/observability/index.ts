export { createLogger, PinoNestLogger, OncePerKeyLogger, PINO_LOGGER } from './logger.js';
export { errorSummary, type ErrorSummary } from './error-summary.js';
export type { Logger } from 'pino';
export { GatewayMetrics, type DeliveryRecorder } from './gateway-metrics.js';
export { SharedStoreStatus, type SharedStore, type StoreOutage } from './shared-store-status.js';
export { ObservabilityModule } from './observability.module.js';
export { GAUGES_NAMED_LIKE_COUNTERS, registerProcessMetrics } from './process-metrics.js';
export { METRICS, E2E_LATENCY_BUCKETS } from './metric-names.js';
export { ComplianceMetrics } from './compliance-metrics.js';
export {
  DEFAULT_MAX_DEPARTED_USERS,
  UsageMeter,
  type DeliveryCounters,
  type TenantUsageReport,
  type UsageMeterOptions,
  type UsagePeriodFigures,
  type UsageReport,
  type UserUsageReport,
} from './usage-meter.js';
