import { Module } from '@nestjs/common';
import { makeCounterProvider, makeGaugeProvider, makeHistogramProvider } from '@willsoto/nestjs-prometheus';
import type { Counter, Gauge } from 'prom-client';
import { ComplianceMetrics } from './compliance-metrics.js';
import { GatewayMetrics } from './gateway-metrics.js';
import { E2E_LATENCY_BUCKETS, METRICS } from './metric-names.js';
import { registerProcessMetrics } from './process-metrics.js';
import { UsageMeter } from './usage-meter.js';

const metricProviders = [
  makeGaugeProvider({ name: METRICS.connections, help: 'Open client connections', labelNames: ['namespace'] }),
  makeCounterProvider({ name: METRICS.handshakes, help: 'Socket handshakes by outcome (ok or an error code)', labelNames: ['namespace', 'outcome'] }),
  makeGaugeProvider({ name: METRICS.subscriptions, help: 'Active client subscriptions (streams or accounts)', labelNames: ['namespace'] }),
  makeCounterProvider({ name: METRICS.messagesSent, help: 'Frames written to clients', labelNames: ['namespace', 'event'] }),
  makeCounterProvider({ name: METRICS.bytesSent, help: 'Bytes of frames written to clients (before compression)', labelNames: ['namespace'] }),
  makeCounterProvider({ name: METRICS.engineEvents, help: 'Engine events received', labelNames: ['kind', 'transport'] }),
  makeCounterProvider({
    name: METRICS.accountLogHydrations,
    help: 'Account states rebuilt from the durable account log, by outcome (hydrated, failed, timeout)',
    labelNames: ['namespace', 'outcome'],
  }),
  makeCounterProvider({
    name: METRICS.accountLogAppends,
    help: 'Account events appended to the Redis Streams account log by this replica, by outcome (stored, duplicate, failed)',
    labelNames: ['outcome'],
  }),
  makeCounterProvider({ name: METRICS.engineEventsMalformed, help: 'Engine events dropped as malformed', labelNames: ['kind', 'reason'] }),
  makeCounterProvider({
    name: METRICS.engineFeedback,
    help: 'Reports of dropped engine events to publishers (gateway.rejected.<kind>), by outcome: sent, or suppressed by the per-kind rate limit (ENGINE_FEEDBACK_PER_SECOND)',
    labelNames: ['kind', 'outcome'],
  }),
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
  makeCounterProvider({
    name: METRICS.rateLimited,
    help: 'Requests and handshakes refused RATE_LIMITED, by the rule that refused (an event, requests, request-burst, blocked, handshake)',
    labelNames: ['namespace', 'event', 'rule'],
  }),
  makeCounterProvider({
    name: METRICS.rateLimitStoreFailures,
    help: 'Rate-limit decisions the shared store (Redis) could not make, allowed instead (fail open)',
    labelNames: ['store'],
  }),
  makeGaugeProvider({ name: METRICS.seats, help: 'Seats (dashboard connections counted against licences) held by this replica' }),
  makeGaugeProvider({
    name: METRICS.storeDegraded,
    help: '1 while a store shared through Redis (seats, stream_counts, rate_limits) cannot be reached and this replica counts on its own (degraded mode), else 0',
    labelNames: ['store'],
  }),
  makeCounterProvider({
    name: METRICS.licenceRefusals,
    help: 'Licence refusals by code (NOT_ENTITLED, SUBSCRIPTION_LIMIT, CONNECTION_LIMIT) and stage (handshake, subscribe, request, live)',
    labelNames: ['namespace', 'code', 'stage'],
  }),
  makeCounterProvider({
    name: METRICS.licenceChanges,
    help: 'Licence changes applied to live connections, by source (file, redis, engine, refresh) and action (updated, disconnected)',
    labelNames: ['source', 'action'],
  }),
  makeGaugeProvider({
    name: METRICS.feedStaleInstruments,
    help: 'Instruments whose market-data feed is stale (no engine event within the exchange cadence while its session is open, or an engine seq gap), among those whose status clients of this replica watch, per exchange',
    labelNames: ['exchange'],
  }),
  makeCounterProvider({ name: METRICS.feedSeqGaps, help: "Gaps in the engine's own market-data seq seen on watched instruments, per exchange", labelNames: ['exchange'] }),
  makeGaugeProvider({ name: METRICS.ready, help: '1 when the gateway is ready for traffic, 0 while starting or draining' }),
  makeCounterProvider({ name: METRICS.delayedDropped, help: 'Trades held for delayed subscribers and dropped because their stream used up its share of MD_DELAY_MAX_ENTRIES' }),
  makeCounterProvider({ name: METRICS.complianceRefusals, help: 'Market-data subscribe items refused with NOT_COMPLIANT, by board and reason', labelNames: ['board', 'reason'] }),
  makeCounterProvider({
    name: METRICS.complianceStreamsStopped,
    help: 'Live market-data streams stopped with NOT_COMPLIANT after a screen change, by board and reason',
    labelNames: ['board', 'reason'],
  }),
  makeCounterProvider({ name: METRICS.complianceScreenChanges, help: 'Compliance screen changes applied, by source (file or engine)', labelNames: ['source'] }),
  makeCounterProvider({ name: METRICS.complianceScreenReloadFailures, help: 'COMPLIANCE_FILE reloads rejected (the last good screen stayed in force)' }),
  makeGaugeProvider({ name: METRICS.complianceScreenFileRejected, help: '1 while COMPLIANCE_FILE holds a rejected version (the last good screen is in force), else 0' }),
  makeGaugeProvider({ name: METRICS.complianceScreenInfo, help: 'The compliance screen in force (1, labelled with its version)', labelNames: ['version'] }),
  makeGaugeProvider({ name: METRICS.complianceScreenInstruments, help: 'Screened instruments per board and status', labelNames: ['board', 'status'] }),
  // Usage is counted in plain objects on the hot path and read into these at scrape time, per tenant (never per user).
  makeCounterProvider({
    name: METRICS.usageMessages,
    help: 'Messages delivered to clients (market-data messages, account events and snapshots), per tenant and namespace',
    labelNames: ['tenant', 'namespace'],
    inject: [UsageMeter],
    collect(this: Counter<string>, meter: UsageMeter) {
      this.reset();
      for (const row of meter.deliveredByTenant()) this.labels(row.tenant, row.namespace).inc(row.messages);
    },
  }),
  makeCounterProvider({
    name: METRICS.usageBytes,
    help: 'Bytes delivered to clients (before compression), per tenant and namespace',
    labelNames: ['tenant', 'namespace'],
    inject: [UsageMeter],
    collect(this: Counter<string>, meter: UsageMeter) {
      this.reset();
      for (const row of meter.deliveredByTenant()) this.labels(row.tenant, row.namespace).inc(row.bytes);
    },
  }),
  makeGaugeProvider({
    name: METRICS.usageSubscriptions,
    help: 'Market-data subscriptions held now, per tenant, exchange and channel',
    labelNames: ['tenant', 'exchange', 'channel'],
    inject: [UsageMeter],
    collect(this: Gauge<string>, meter: UsageMeter) {
      this.reset();
      for (const row of meter.subscriptionsByTenant()) this.labels(row.tenant, row.exchange, row.channel).set(row.count);
    },
  }),
  makeGaugeProvider({
    name: METRICS.usageAccountSubscriptions,
    help: 'Accounts watched now on the account-stream namespaces, per tenant and namespace',
    labelNames: ['tenant', 'namespace'],
    inject: [UsageMeter],
    collect(this: Gauge<string>, meter: UsageMeter) {
      this.reset();
      for (const row of meter.accountsByTenant()) this.labels(row.tenant, row.namespace).set(row.count);
    },
  }),
];

/** The process metrics' place in the module's graph: registered once, when the module is built. */
const PROCESS_METRICS = Symbol('PROCESS_METRICS');

/**
 * The gateway's metrics, in prom-client's default registry. The application serves that registry where it is
 * configured to (the main port or a port of its own, with or without a bearer token), so no route is fixed here.
 * Not global: a module that counts imports it (a static module, so the metrics are built once, whoever imports it).
 */
@Module({
  providers: [
    {
      provide: PROCESS_METRICS,
      useFactory: () => {
        registerProcessMetrics();
        return PROCESS_METRICS;
      },
    },
    { provide: UsageMeter, useFactory: () => new UsageMeter() },
    ...metricProviders,
    GatewayMetrics,
    ComplianceMetrics,
  ],
  exports: [GatewayMetrics, ComplianceMetrics, UsageMeter],
})
export class ObservabilityModule {}
