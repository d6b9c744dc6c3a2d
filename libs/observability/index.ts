export { createLogger, PinoNestLogger, OncePerKeyLogger, PINO_LOGGER } from './logger.js';
export type { Logger } from 'pino';
export { GatewayMetrics } from './gateway-metrics.js';
export { ObservabilityModule } from './observability.module.js';
export { METRICS, E2E_LATENCY_BUCKETS } from './metric-names.js';
