import { Global, Module } from '@nestjs/common';
import { makeCounterProvider, makeGaugeProvider, makeHistogramProvider, PrometheusModule } from '@willsoto/nestjs-prometheus';
import { GatewayMetrics } from './gateway-metrics.js';
import { E2E_LATENCY_BUCKETS, METRICS } from './metric-names.js';

const metricProviders = [
  makeGaugeProvider({ name: METRICS.connections, help: 'Open client connections', labelNames: ['namespace'] }),
  makeCounterProvider({ name: METRICS.handshakes, help: 'Socket handshakes by outcome (ok or an error code)', labelNames: ['namespace', 'outcome'] }),
  makeGaugeProvider({ name: METRICS.subscriptions, help: 'Active client subscriptions (streams or accounts)', labelNames: ['namespace'] }),
  makeCounterProvider({ name: METRICS.messagesSent, help: 'Frames written to clients', labelNames: ['namespace', 'event'] }),
  makeCounterProvider({ name: METRICS.bytesSent, help: 'Bytes of frames written to clients (before compression)', labelNames: ['namespace'] }),
  makeCounterProvider({ name: METRICS.engineEvents, help: 'Engine events received', labelNames: ['kind', 'transport'] }),
  makeCounterProvider({ name: METRICS.engineEventsMalformed, help: 'Engine events dropped as malformed', labelNames: ['kind', 'reason'] }),
  makeHistogramProvider({
    name: METRICS.e2eLatency,
    help: 'Engine event time (ts) to socket write, per frame (oldest update in the frame)',
    labelNames: ['namespace'],
    buckets: E2E_LATENCY_BUCKETS,
  }),
  makeCounterProvider({ name: METRICS.clientRequests, help: 'Client requests by outcome (ok or an error code)', labelNames: ['namespace', 'event', 'outcome'] }),
  makeCounterProvider({
    name: METRICS.slowClients,
    help: 'Slow-client policy actions: behind (fell behind), dropped (oldest updates dropped), resync (book snapshot instead), disconnected',
    labelNames: ['namespace', 'action'],
  }),
  makeGaugeProvider({ name: METRICS.ready, help: '1 when the gateway is ready for traffic, 0 while starting or draining' }),
];

@Global()
@Module({
  imports: [PrometheusModule.register({ path: '/metrics', defaultMetrics: { enabled: true } })],
  providers: [...metricProviders, GatewayMetrics],
  exports: [GatewayMetrics],
})
export class ObservabilityModule {}
