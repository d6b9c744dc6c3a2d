import { sleep } from '../lib/clock.js';
import { RssSampler } from '../lib/proc-stats.js';
import { decimal, describeCounts, integer, MB, milliseconds, percent, usToMs } from '../report/format.js';
import { engineDuration, loadSideNotes, measureWindow } from './measure-window.js';
import type { Scenario } from './scenario.js';
import { connectMarketDataClients, withScenarioEnv } from './scenario-env.js';

/**
 * Fan-out, the "trading floor": N clients each watch S of U instruments (a seeded uniform sample, the same for every
 * target) and the engine publishes Q quotes per second spread evenly over the U instruments. Measures frames and
 * instrument-updates delivered per second, how many of the updates owed were delivered, engine→client latency, and
 * the server's CPU and memory.
 */
export const fanoutScenario: Scenario = {
  name: 'fanout',
  title: ({ fanout }) =>
    `Fan-out: ${integer(fanout.clients)} clients × ${fanout.perClient} of ${integer(fanout.instruments)} instruments, ` +
    `${integer(fanout.quoteRate)} quotes/s, throttleMs ${fanout.throttleMs}, ${fanout.windowSeconds} s window`,
  columns: [
    { key: 'framesPerSecond', header: 'frames/s', format: integer },
    { key: 'updatesPerSecond', header: 'updates/s', format: integer },
    { key: 'updatesPerFrame', header: 'updates/frame', format: decimal },
    { key: 'deliveryPercent', header: 'delivered', format: percent },
    { key: 'latencyP50', header: 'e2e p50 ms', format: milliseconds },
    { key: 'latencyP99', header: 'p99 ms', format: milliseconds },
    { key: 'latencyP999', header: 'p99.9 ms', format: milliseconds },
    { key: 'latencyMax', header: 'max ms', format: milliseconds },
    { key: 'serverCpu', header: 'server CPU', format: percent },
    { key: 'serverLoopLagMaxMs', header: 'server loop stall max ms', format: milliseconds },
    { key: 'updatesPerCoreSecond', header: 'updates/s per core', format: integer },
    { key: 'reflectedPerCoreSecond', header: 'engine updates reflected/s per core', format: integer },
    { key: 'absorbedPerSecond', header: 'engine events/s in', format: integer },
    { key: 'rssPeakMb', header: 'RSS peak MB', format: integer },
    { key: 'rssGrowthPercent', header: 'RSS growth over window', format: percent },
    { key: 'heapMb', header: 'heap MB', format: integer },
    { key: 'loadSideCpu', header: 'load-side CPU', format: percent },
  ],
  async run(context, target) {
    const { fanout } = context.options.profile;
    return withScenarioEnv(context, 'fanout', target, { instruments: fanout.instruments, accounts: 1 }, async (env) => {
      const memory = new RssSampler(env.server.pids, 1_000);
      const connect = await connectMarketDataClients(context, env, fanout.clients);
      context.log(`  ${connect.connected} clients connected`);
      const subscribe = await env.pool.subscribeMarketData(env.universe, fanout.perClient, fanout.throttleMs);
      context.log(`  ${subscribe.accepted} streams subscribed; engine load for ${fanout.warmupSeconds} + ${fanout.windowSeconds} s`);
      const engine = env.startEngine({
        quoteRate: fanout.quoteRate,
        instruments: fanout.instruments,
        orderRate: 0,
        accounts: 0,
        durationSeconds: engineDuration(fanout),
      });
      await sleep(fanout.warmupSeconds * 1000);
      const windowStartMs = memory.elapsedMs();
      const window = await measureWindow(env, engine, fanout.windowSeconds);
      const windowEndMs = memory.elapsedMs();
      await engine.stop();
      const slowConsumers = await env.nats.slowConsumers();
      const rss = memory.stop();

      // Updates owed: each published quote is owed to every subscriber of its instrument (quotes are spread evenly),
      // except that a throttled subscription is owed at most one quote per interval (conflation).
      const perInstrumentPerSecond = window.publishedQuotesPerSecond / fanout.instruments;
      const owedPerSubscription = fanout.throttleMs > 0 ? Math.min(perInstrumentPerSecond, 1000 / fanout.throttleMs) : perInstrumentPerSecond;
      const owedPerSecond = owedPerSubscription * subscribe.accepted;
      // Engine updates reflected on the clients' screens: a baseline sends every update it gets to; the gateway's
      // conflated quote stands for every quote it replaced, so when it delivers all it owes under the throttle, every
      // engine update is reflected within one interval.
      const conflates = target.conflates === true && fanout.throttleMs > 0;
      const reflectedPerSecond = conflates
        ? perInstrumentPerSecond * subscribe.accepted * Math.min(1, owedPerSecond > 0 ? window.clients.updatesPerSecond / owedPerSecond : 0)
        : window.clients.updatesPerSecond;
      const { clients: received } = window;
      const notes = loadSideNotes(window, context.layout.loadCoreCount);
      const failedConnections = connect.attempted - connect.connected;
      if (failedConnections) notes.push(`${failedConnections} clients failed to connect: ${describeCounts(connect.failures)}`);
      if (subscribe.rejected || Object.keys(subscribe.failures).length) {
        notes.push(`${subscribe.accepted} of ${fanout.clients * fanout.perClient} subscriptions accepted; ${describeCounts(subscribe.failures)}`);
      }
      if (received.updates === 0) {
        notes.push(`no update reached a client: does the ${context.engineSource} engine load publish to the scenario's instruments?`);
      }
      if (slowConsumers) notes.push(`nats-server cut ${slowConsumers} slow consumer(s): the server fell behind the engine`);
      notes.push(`RSS over the scenario (MB): ${sampleSeries(rss.series.map((s) => s.rss / MB), 12)}`);
      return {
        figures: {
          framesPerSecond: received.framesPerSecond,
          updatesPerSecond: received.updatesPerSecond,
          updatesPerFrame: received.frames ? received.updates / received.frames : Number.NaN,
          deliveryPercent: owedPerSecond > 0 ? (received.updatesPerSecond / owedPerSecond) * 100 : Number.NaN,
          latencyP50: usToMs(received.mdLatency.percentile(50)),
          latencyP99: usToMs(received.mdLatency.percentile(99)),
          latencyP999: usToMs(received.mdLatency.percentile(99.9)),
          latencyMax: usToMs(received.mdLatency.percentile(100)),
          serverCpu: window.server.percent,
          updatesPerCoreSecond: window.server.cpuSeconds > 0 ? received.updatesPerSecond / (window.server.percent / 100) : Number.NaN,
          reflectedPerCoreSecond: window.server.cpuSeconds > 0 ? reflectedPerSecond / (window.server.percent / 100) : Number.NaN,
          absorbedPerSecond: window.absorbedPerSecond,
          rssPeakMb: rss.peak / MB,
          rssGrowthPercent: rssTrendPercent(rss.series.filter((s) => s.atMs >= windowStartMs && s.atMs <= windowEndMs).map((s) => s.rss)),
          heapMb: window.serverHeapBytes / MB,
          serverLoopLagMaxMs: window.serverLoopLagMaxMs,
          loadSideCpu: window.loadSide.percent,
        },
        notes,
      };
    });
  },
};

/**
 * Memory growth over the window: the mean RSS of its last third against its first third. RSS saw-tooths with every
 * garbage collection, so two single samples would measure where the collector happened to be, not a trend.
 */
function rssTrendPercent(window: number[]): number {
  const third = Math.floor(window.length / 3);
  if (third < 1) return Number.NaN;
  const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
  const first = mean(window.slice(0, third));
  return ((mean(window.slice(-third)) - first) / first) * 100;
}

/** At most `count` evenly spaced values of a series, rounded, for a one-line "memory over time". */
function sampleSeries(values: number[], count: number): string {
  const finite = values.filter((v) => Number.isFinite(v));
  if (finite.length <= count) return finite.map((v) => v.toFixed(0)).join(' → ');
  const step = (finite.length - 1) / (count - 1);
  return Array.from({ length: count }, (_, i) => finite[Math.round(i * step)].toFixed(0)).join(' → ');
}
