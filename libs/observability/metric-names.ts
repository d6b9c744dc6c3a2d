/** Prometheus metric names: part of the operations contract (docs/operations.md, docker/prometheus/alerts.yml). */
export const METRICS = {
  connections: 'tradewire_connections',
  handshakes: 'tradewire_handshakes_total',
  subscriptions: 'tradewire_subscriptions',
  messagesSent: 'tradewire_messages_sent_total',
  bytesSent: 'tradewire_bytes_sent_total',
  engineEvents: 'tradewire_engine_events_total',
  engineEventsMalformed: 'tradewire_engine_events_malformed_total',
  e2eLatency: 'tradewire_e2e_latency_seconds',
  clientRequests: 'tradewire_client_requests_total',
  ready: 'tradewire_ready',
  slowClients: 'tradewire_slow_client_events_total',
} as const;

export const E2E_LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
