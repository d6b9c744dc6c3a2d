import { sleep } from '../lib/clock.js';
import { Histogram } from '../lib/histogram.js';
import { CpuMeter, ForeignCpuMeter } from '../lib/proc-stats.js';
import { describeCounts, integer, milliseconds, percent, usToMs } from '../report/format.js';
import type { PoolMeasureResult, PoolSubscribeResult } from '../loadgen/loadgen-pool.js';
import { foreignCpuNotes } from './measure-window.js';
import type { Scenario } from './scenario.js';
import { connectMarketDataClients, withScenarioEnv } from './scenario-env.js';

/** One measured window after the storm. */
interface StormWindow {
  clients: PoolMeasureResult;
  serverCpuPercent: number;
  loadSideCpuPercent: number;
  foreignCpuPercent: number;
  serverLoopLagMaxMs: number;
}

/**
 * Hot instruments after a subscribe storm — what a replica restart or a failover at the open looks like. The engine
 * already publishes a skewed universe (a few hot instruments at thousands of quotes/s each, the rest quiet) when every
 * client, connected and idle, subscribes at the same instant to the hot instruments with `throttleMs`. Measured from
 * that instant, in consecutive windows: the first is the storm, the later ones (merged) the steady state. The uniform
 * floor is the fanout scenario. The baselines do not conflate, so at these rates they would only measure their own
 * backlog: gateway targets only.
 */
export const stormScenario: Scenario = {
  name: 'storm',
  title: ({ storm }) =>
    `Subscribe storm on hot instruments: ${integer(storm.clients)} clients subscribe at once to ${storm.perClient} of ${storm.hotInstruments} hot ` +
    `instruments at ${integer(storm.hotRate)} quotes/s each (${storm.quietInstruments} quiet at ${storm.quietRate}/s), throttleMs ${storm.throttleMs}, ` +
    `${storm.windows} × ${storm.windowSeconds} s windows from the storm`,
  columns: [
    { key: 'firstP50', header: 'first window e2e p50 ms', format: milliseconds },
    { key: 'firstP99', header: 'first p99 ms', format: milliseconds },
    { key: 'firstMax', header: 'first max ms', format: milliseconds },
    { key: 'firstLoopLagMaxMs', header: 'first loop stall max ms', format: milliseconds },
    { key: 'firstDeliveryPercent', header: 'first delivered', format: percent },
    { key: 'firstServerCpu', header: 'first server CPU', format: percent },
    { key: 'steadyP50', header: 'steady e2e p50 ms', format: milliseconds },
    { key: 'steadyP99', header: 'steady p99 ms', format: milliseconds },
    { key: 'steadyLoopLagMaxMs', header: 'steady loop stall max ms', format: milliseconds },
    { key: 'steadyDeliveryPercent', header: 'steady delivered', format: percent },
    { key: 'steadyServerCpu', header: 'steady server CPU', format: percent },
    { key: 'subscribeAckP99', header: 'subscribe ack p99 ms', format: milliseconds },
    { key: 'loadSideCpu', header: 'load-side CPU', format: percent },
  ],
  appliesTo: (target) => target.conflates === true,
  async run(context, target) {
    const { storm } = context.options.profile;
    const instruments = storm.hotInstruments + storm.quietInstruments;
    return withScenarioEnv(context, 'storm', target, { instruments, accounts: 1 }, async (env) => {
      const connect = await connectMarketDataClients(context, env, storm.clients);
      context.log(`  ${connect.connected} clients connected; engine load for ${storm.leadSeconds} s before the storm`);
      const totalSeconds = storm.leadSeconds + storm.windows * storm.windowSeconds;
      const engine = env.startEngine({
        quoteRate: storm.quietInstruments * storm.quietRate,
        instruments,
        orderRate: 0,
        accounts: 0,
        durationSeconds: totalSeconds + 60,
        hot: { instruments: storm.hotInstruments, ratePerInstrument: storm.hotRate },
        source: 'direct',
      });
      await sleep(storm.leadSeconds * 1000);
      await env.server.sample(); // resets the server's loop-lag maximum: each window reads its own
      const hot = env.universe.slice(0, storm.hotInstruments);
      const windows: StormWindow[] = [];
      let subscribed: PoolSubscribeResult | undefined;
      let subscribeError: string | undefined;
      for (let w = 0; w < storm.windows; w++) {
        const server = new CpuMeter(env.server.pids);
        const loadSidePids = [...env.pool.pids, engine.pid, env.nats.pid];
        const loadSide = new CpuMeter(loadSidePids);
        const foreign = new ForeignCpuMeter([...env.server.pids, ...loadSidePids]);
        await env.pool.measureStart();
        if (w === 0) {
          // Every client's request in flight at once; the window runs while they are answered.
          context.log(`  storm: ${storm.clients} × ${storm.perClient} subscriptions at once`);
          void env.pool.subscribeMarketData(hot, storm.perClient, storm.throttleMs, storm.clients).then(
            (result) => (subscribed = result),
            (error: unknown) => (subscribeError = error instanceof Error ? error.message : String(error)),
          );
        }
        await sleep(storm.windowSeconds * 1000);
        const clients = await env.pool.measureStop();
        const sample = await env.server.sample();
        windows.push({
          clients,
          serverCpuPercent: server.read().percent,
          loadSideCpuPercent: loadSide.read().percent,
          foreignCpuPercent: foreign.read(),
          serverLoopLagMaxMs: sample.loopLagMaxMs,
        });
      }
      await engine.stop();
      const slowConsumers = await env.nats.slowConsumers();

      const notes: string[] = [];
      if (subscribeError) notes.push(`the storm's subscribe failed: ${subscribeError}`);
      if (!subscribed) notes.push(`not every subscribe was answered within the ${storm.windows * storm.windowSeconds} s measured`);
      const accepted = subscribed?.accepted ?? 0;
      if (subscribed && (subscribed.rejected || Object.keys(subscribed.failures).length)) {
        notes.push(`${accepted} of ${storm.clients * storm.perClient} subscriptions accepted; ${describeCounts(subscribed.failures)}`);
      }
      if (connect.attempted !== connect.connected) notes.push(`${connect.attempted - connect.connected} clients failed to connect: ${describeCounts(connect.failures)}`);
      if (slowConsumers) notes.push(`nats-server cut ${slowConsumers} slow consumer(s): the server fell behind the engine`);
      const foreignMax = Math.max(...windows.map((w) => w.foreignCpuPercent));
      notes.push(...foreignCpuNotes(foreignMax));
      const loopP99Max = Math.max(...windows.map((w) => w.clients.loopDelayP99Ms));
      if (loopP99Max > 50) notes.push(`load-generator event loop lagged (p99 ${loopP99Max.toFixed(0)} ms): client-side latency is included`);
      notes.push(
        `per ${storm.windowSeconds} s window: e2e p99 ms ${windows.map((w) => milliseconds(usToMs(w.clients.mdLatency.percentile(99)))).join(' → ')}; ` +
          `server loop stall max ms ${windows.map((w) => milliseconds(w.serverLoopLagMaxMs)).join(' → ')}; ` +
          `server CPU ${windows.map((w) => percent(w.serverCpuPercent)).join(' → ')}`,
      );

      // Owed: each subscription at most one quote per throttle interval (conflation), or every quote if fewer come.
      const owedPerSubscription = storm.throttleMs > 0 ? Math.min(storm.hotRate, 1000 / storm.throttleMs) : storm.hotRate;
      const owedPerSecond = owedPerSubscription * storm.clients * storm.perClient;
      const [first, ...rest] = windows;
      const steady = rest.length ? rest : windows;
      const steadyLatency = Histogram.from(steady.map((w) => w.clients.mdLatency.snapshot()));
      const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
      return {
        figures: {
          firstP50: usToMs(first.clients.mdLatency.percentile(50)),
          firstP99: usToMs(first.clients.mdLatency.percentile(99)),
          firstMax: usToMs(first.clients.mdLatency.percentile(100)),
          firstLoopLagMaxMs: first.serverLoopLagMaxMs,
          firstDeliveryPercent: (first.clients.updatesPerSecond / owedPerSecond) * 100,
          firstServerCpu: first.serverCpuPercent,
          steadyP50: usToMs(steadyLatency.percentile(50)),
          steadyP99: usToMs(steadyLatency.percentile(99)),
          steadyLoopLagMaxMs: Math.max(...steady.map((w) => w.serverLoopLagMaxMs)),
          steadyDeliveryPercent: (mean(steady.map((w) => w.clients.updatesPerSecond)) / owedPerSecond) * 100,
          steadyServerCpu: mean(steady.map((w) => w.serverCpuPercent)),
          subscribeAckP99: subscribed ? usToMs(subscribed.latency.percentile(99)) : Number.NaN,
          loadSideCpu: mean(windows.map((w) => w.loadSideCpuPercent)),
        },
        notes,
      };
    });
  },
};
