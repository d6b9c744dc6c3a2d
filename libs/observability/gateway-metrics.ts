import { Injectable } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import type { Counter, Gauge, Histogram } from 'prom-client';
import { METRICS } from './metric-names.js';

/** Label children are cached: resolving labels costs a hash of the label set, too much per engine event. */
class ChildCache<T> {
  private readonly children = new Map<string, T>();
  constructor(private readonly make: (key: string) => T) {}
  get(key: string): T {
    let child = this.children.get(key);
    if (!child) {
      child = this.make(key);
      this.children.set(key, child);
    }
    return child;
  }
}

type CounterChild = ReturnType<Counter<string>['labels']>;
type GaugeChild = ReturnType<Gauge<string>['labels']>;
type HistogramChild = ReturnType<Histogram<string>['labels']>;

/**
 * What one fan-out (a namespace and its event) records per frame it writes, with its label children resolved once
 * when the fan-out is built: its per-client flush then costs no label lookup at all.
 */
export interface DeliveryRecorder {
  /** One frame of `bytes` carrying `messages` (counted as `messages` sent of the event). */
  sent(bytes: number, messages: number): void;
  /** Engine → frame written, for the oldest update in the frame. */
  latency(seconds: number): void;
}

/** The gateway's own metrics, with helpers cheap enough for the hot path. */
@Injectable()
export class GatewayMetrics {
  private readonly connectionsByNs: ChildCache<GaugeChild>;
  private readonly subscriptionsByNs: ChildCache<GaugeChild>;
  private readonly bytesByNs: ChildCache<CounterChild>;
  private readonly messagesByNsEvent: ChildCache<CounterChild>;
  private readonly latencyByNs: ChildCache<HistogramChild>;
  private readonly engineByKindTransport: ChildCache<CounterChild>;
  private readonly feedbackByKindOutcome: ChildCache<CounterChild>;

  constructor(
    @InjectMetric(METRICS.connections) readonly connections: Gauge<string>,
    @InjectMetric(METRICS.handshakes) readonly handshakes: Counter<string>,
    @InjectMetric(METRICS.subscriptions) readonly subscriptions: Gauge<string>,
    @InjectMetric(METRICS.messagesSent) readonly messagesSent: Counter<string>,
    @InjectMetric(METRICS.bytesSent) readonly bytesSent: Counter<string>,
    @InjectMetric(METRICS.engineEvents) readonly engineEvents: Counter<string>,
    @InjectMetric(METRICS.engineEventsMalformed) readonly engineEventsMalformed: Counter<string>,
    @InjectMetric(METRICS.engineFeedback) readonly engineFeedbackReports: Counter<string>,
    @InjectMetric(METRICS.e2eLatency) readonly e2eLatency: Histogram<string>,
    @InjectMetric(METRICS.clientRequests) readonly clientRequests: Counter<string>,
    @InjectMetric(METRICS.ready) readonly ready: Gauge<string>,
    @InjectMetric(METRICS.slowClients) readonly slowClients: Counter<string>,
    @InjectMetric(METRICS.rateLimited) readonly rateLimitedTotal: Counter<string>,
    @InjectMetric(METRICS.rateLimitStoreFailures) readonly rateLimitStoreFailures: Counter<string>,
    @InjectMetric(METRICS.seats) readonly seats: Gauge<string>,
    @InjectMetric(METRICS.storeDegraded) readonly storesDegraded: Gauge<string>,
    @InjectMetric(METRICS.licenceRefusals) readonly licenceRefusals: Counter<string>,
    @InjectMetric(METRICS.licenceChanges) readonly licenceChanges: Counter<string>,
    @InjectMetric(METRICS.delayedDropped) readonly delayedEventsDropped: Counter<string>,
    @InjectMetric(METRICS.accountLogHydrations) readonly accountLogHydrations: Counter<string>,
    @InjectMetric(METRICS.accountLogAppends) readonly accountLogAppends: Counter<string>,
    @InjectMetric(METRICS.feedStaleInstruments) readonly feedStaleInstruments: Gauge<string>,
    @InjectMetric(METRICS.feedSeqGaps) readonly feedSeqGapsTotal: Counter<string>,
  ) {
    this.connectionsByNs = new ChildCache((ns) => connections.labels(ns));
    this.subscriptionsByNs = new ChildCache((ns) => subscriptions.labels(ns));
    this.bytesByNs = new ChildCache((ns) => bytesSent.labels(ns));
    this.messagesByNsEvent = new ChildCache((key) => {
      const [ns, event] = key.split('|') as [string, string];
      return messagesSent.labels(ns, event);
    });
    this.latencyByNs = new ChildCache((ns) => e2eLatency.labels(ns));
    this.engineByKindTransport = new ChildCache((key) => {
      const [kind, transport] = key.split('|') as [string, string];
      return engineEvents.labels(kind, transport);
    });
    this.feedbackByKindOutcome = new ChildCache((key) => {
      const [kind, outcome] = key.split('|') as [string, string];
      return engineFeedbackReports.labels(kind, outcome);
    });
  }

  connectionOpened(namespace: string): void {
    this.connectionsByNs.get(namespace).inc();
  }
  connectionClosed(namespace: string): void {
    this.connectionsByNs.get(namespace).dec();
  }
  handshake(namespace: string, outcome: string): void {
    this.handshakes.labels(namespace, outcome).inc();
  }
  subscriptionsChanged(namespace: string, delta: number): void {
    if (delta !== 0) this.subscriptionsByNs.get(namespace).inc(delta);
  }
  sent(namespace: string, event: string, bytes: number, messages = 1): void {
    this.messagesByNsEvent.get(`${namespace}|${event}`).inc(messages);
    this.bytesByNs.get(namespace).inc(bytes);
  }
  latency(namespace: string, seconds: number): void {
    this.latencyByNs.get(namespace).observe(seconds);
  }
  /** The same series as `sent` and `latency`, bound to one namespace and event for a hot path. */
  deliveryRecorder(namespace: string, event: string): DeliveryRecorder {
    const messages = this.messagesByNsEvent.get(`${namespace}|${event}`);
    const bytes = this.bytesByNs.get(namespace);
    const latency = this.latencyByNs.get(namespace);
    return {
      sent: (frameBytes, count) => {
        messages.inc(count);
        bytes.inc(frameBytes);
      },
      latency: (seconds) => latency.observe(seconds),
    };
  }
  engineEvent(kind: string, transport: string): void {
    this.engineByKindTransport.get(`${kind}|${transport}`).inc();
  }
  malformedEngineEvent(kind: string, reason: string): void {
    this.engineEventsMalformed.labels(kind, reason).inc();
  }
  /** One drop's report to publishers: sent, or suppressed by the per-kind rate limit (once per event of a junk flood). */
  engineFeedback(kind: string, outcome: 'sent' | 'suppressed'): void {
    this.feedbackByKindOutcome.get(`${kind}|${outcome}`).inc();
  }
  clientRequest(namespace: string, event: string, outcome: string): void {
    this.clientRequests.labels(namespace, event, outcome).inc();
  }
  slowClient(namespace: string, action: 'behind' | 'dropped' | 'resync' | 'disconnected'): void {
    this.slowClients.labels(namespace, action).inc();
  }
  rateLimited(namespace: string, event: string, rule: string): void {
    this.rateLimitedTotal.labels(namespace, event, rule).inc();
  }
  rateLimitStoreFailed(store: string): void {
    this.rateLimitStoreFailures.labels(store).inc();
  }
  seatsInUse(seats: number): void {
    this.seats.set(seats);
  }
  storeDegraded(store: string, degraded: boolean): void {
    this.storesDegraded.labels(store).set(degraded ? 1 : 0);
  }
  licenceRefusal(namespace: string, code: string, stage: 'handshake' | 'subscribe' | 'request' | 'live', count = 1): void {
    if (count > 0) this.licenceRefusals.labels(namespace, code, stage).inc(count);
  }
  licenceChange(source: string, action: 'updated' | 'disconnected'): void {
    this.licenceChanges.labels(source, action).inc();
  }
  accountHydration(namespace: string, outcome: 'hydrated' | 'failed' | 'timeout'): void {
    this.accountLogHydrations.labels(namespace, outcome).inc();
  }
  accountLogAppend(outcome: 'stored' | 'duplicate' | 'failed'): void {
    this.accountLogAppends.labels(outcome).inc();
  }

  /** Feed health, set once per check (not on the hot path). */
  feedStale(exchange: string, instruments: number): void {
    this.feedStaleInstruments.labels(exchange).set(instruments);
  }
  feedSeqGaps(exchange: string, gaps: number): void {
    if (gaps > 0) this.feedSeqGapsTotal.labels(exchange).inc(gaps);
  }

  delayedDropped(count: number): void {
    this.delayedEventsDropped.inc(count);
  }
  setReady(ready: boolean): void {
    this.ready.set(ready ? 1 : 0);
  }
}
