import { NAMESPACES } from '#libs/contracts';
import { sleep } from '../lib/clock.js';
import { scrapeLabelledMetric } from '../lib/metrics.js';
import { totalRssBytes } from '../lib/proc-stats.js';
import { mintToken } from '../lib/tokens.js';
import { clientInstruments } from '../lib/universe.js';
import { openStalledClient, type StalledClient } from '../loadgen/stalled-client.js';
import { decimal, describeCounts, integer, MB, milliseconds, percent, ratio, usToMs } from '../report/format.js';
import type { TargetSpec } from '../targets.js';
import { engineDuration, loadSideNotes, measureWindow } from './measure-window.js';
import type { RunContext, Scenario } from './scenario.js';
import { connectMarketDataClients, withScenarioEnv } from './scenario-env.js';

/** How often the server's slow-client counter is read while waiting for the drop. */
const DROP_POLL_MS = 250;
/** After the run, how long the slow client may read through its backlog to find out whether the server closed it. */
const RESUME_CHECK_MS = 3_000;

interface PassFigures {
  p50: number;
  p99: number;
  updatesPerSecond: number;
  serverCpu: number;
  rssEnd: number;
  notes: string[];
}

interface SlowClientFigures {
  /** 1 when the server dropped the slow client, 0 when it did not; NaN when the slow client never got going. */
  dropped: number;
  dropAfterSeconds: number;
  rssAtStall: number;
  subscribed: number;
}

/**
 * One slow client among N: the fan-out load run twice in the same environment shape — first N clients alone, then the
 * same N plus one client that subscribes to every instrument the others watch and then stops reading (its TCP socket
 * paused). Compares the others' end-to-end latency, says whether and when the server dropped the slow client, and
 * shows the server's memory at the end of each run.
 */
export const slowClientScenario: Scenario = {
  name: 'slowclient',
  title: ({ slowclient: s }) =>
    `Slow client: ${integer(s.clients)} clients × ${s.perClient} of ${integer(s.instruments)} instruments, ` +
    `${integer(s.quoteRate)} quotes/s, throttleMs ${s.throttleMs}, ${s.windowSeconds} s window, ` +
    `without and with one client that stops reading (gateway SLOW_CLIENT_GRACE_MS ${integer(s.graceMs)})`,
  columns: [
    { key: 'p50Alone', header: 'others e2e p50 ms, alone', format: milliseconds },
    { key: 'p99Alone', header: 'p99 ms, alone', format: milliseconds },
    { key: 'p50WithSlow', header: 'p50 ms, with slow client', format: milliseconds },
    { key: 'p99WithSlow', header: 'p99 ms, with slow client', format: milliseconds },
    { key: 'p99Ratio', header: 'p99 with / alone', format: ratio },
    { key: 'updatesPerSecondAlone', header: 'others updates/s, alone', format: integer },
    { key: 'updatesPerSecondWithSlow', header: 'updates/s, with slow client', format: integer },
    { key: 'slowDropped', header: 'slow client', format: (v) => (Number.isNaN(v) ? '–' : v ? 'dropped' : 'not dropped') },
    { key: 'dropAfterSeconds', header: 'dropped after s', format: decimal },
    { key: 'rssEndAloneMb', header: 'RSS end MB, alone', format: integer },
    { key: 'rssEndWithSlowMb', header: 'RSS end MB, with slow client', format: integer },
    { key: 'rssGrowthAfterStallMb', header: 'RSS growth MB after the stall', format: decimal },
    { key: 'serverCpuWithSlow', header: 'server CPU, with slow client', format: percent },
  ],
  async run(context, target) {
    const alone = await runPass(context, target, false);
    const withSlow = await runPass(context, target, true);
    const slow = withSlow.slow;
    const notes = [...alone.notes.map((n) => `alone: ${n}`), ...withSlow.notes.map((n) => `with slow client: ${n}`)];
    notes.push(`the slow client subscribed to ${slow.subscribed} instruments (every one the others watch), then paused its socket`);
    if (!target.slowClientMetric && slow.dropped === 0) {
      notes.push('no slow-client policy: the stalled connection stays open and its backlog stays in the server');
    }
    return {
      figures: {
        p50Alone: alone.p50,
        p99Alone: alone.p99,
        p50WithSlow: withSlow.p50,
        p99WithSlow: withSlow.p99,
        p99Ratio: withSlow.p99 / alone.p99,
        updatesPerSecondAlone: alone.updatesPerSecond,
        updatesPerSecondWithSlow: withSlow.updatesPerSecond,
        slowDropped: slow.dropped,
        dropAfterSeconds: slow.dropAfterSeconds,
        rssEndAloneMb: alone.rssEnd / MB,
        rssEndWithSlowMb: withSlow.rssEnd / MB,
        rssGrowthAfterStallMb: (withSlow.rssEnd - slow.rssAtStall) / MB,
        serverCpuWithSlow: withSlow.serverCpu,
      },
      notes,
    };
  },
};

function runPass(context: RunContext, target: TargetSpec, withSlowClient: true): Promise<PassFigures & { slow: SlowClientFigures }>;
function runPass(context: RunContext, target: TargetSpec, withSlowClient: false): Promise<PassFigures>;
function runPass(context: RunContext, target: TargetSpec, withSlowClient: boolean): Promise<PassFigures & { slow?: SlowClientFigures }> {
  const { slowclient: sizes } = context.options.profile;
  const setup = {
    instruments: sizes.instruments,
    accounts: 1,
    serverEnv: target.slowClientEnv(sizes.graceMs),
    dirSuffix: withSlowClient ? '-with-slow' : '-alone',
  };
  return withScenarioEnv(context, 'slowclient', target, setup, async (env) => {
    const connect = await connectMarketDataClients(context, env, sizes.clients);
    const subscribe = await env.pool.subscribeMarketData(env.universe, sizes.perClient, sizes.throttleMs);
    context.log(`  ${withSlowClient ? 'with slow client' : 'alone'}: ${connect.connected} clients, ${subscribe.accepted} streams subscribed`);
    const notes: string[] = [];
    const failedConnections = connect.attempted - connect.connected;
    if (failedConnections) notes.push(`${failedConnections} clients failed to connect: ${describeCounts(connect.failures)}`);
    if (subscribe.rejected || Object.keys(subscribe.failures).length) {
      notes.push(`${subscribe.accepted} of ${sizes.clients * sizes.perClient} subscriptions accepted; ${describeCounts(subscribe.failures)}`);
    }

    let stalled: StalledClient | undefined;
    let rssAtStall = Number.NaN;
    if (withSlowClient) {
      // Everything the others watch, in universe order.
      const watched = new Set(Array.from({ length: sizes.clients }, (_, index) => clientInstruments(index, env.universe, sizes.perClient)).flat());
      stalled = await openStalledClient(env.client, {
        baseUrl: env.server.baseUrl,
        namespace: NAMESPACES.marketData,
        token: await mintToken(context.jwtSecret, { sub: 'bench-slow-client', accounts: [] }),
        instruments: env.universe.filter((id) => watched.has(id)),
        throttleMs: sizes.throttleMs,
        timeoutMs: 30_000,
      });
      rssAtStall = totalRssBytes(env.server.pids);
      context.log(`  slow client subscribed to ${stalled.accepted} instruments and stopped reading`);
    }

    // The gateway counts the clients it drops; poll the counter so the drop is timed to a quarter of a second.
    const metricsUrl = `${env.server.baseUrl}/metrics`;
    const dropMetric = target.slowClientMetric;
    let droppedAt: number | undefined;
    let polling = stalled !== undefined && dropMetric !== undefined;
    const poller = (async () => {
      while (polling && dropMetric) {
        const disconnected = await scrapeLabelledMetric(metricsUrl, dropMetric, 'action="disconnected"');
        if (disconnected > 0) {
          droppedAt = performance.now();
          return;
        }
        await sleep(DROP_POLL_MS);
      }
    })();

    try {
      const engine = env.startEngine({
        quoteRate: sizes.quoteRate,
        instruments: sizes.instruments,
        orderRate: 0,
        accounts: 0,
        durationSeconds: engineDuration(sizes) + sizes.dropWaitSeconds,
      });
      await sleep(sizes.warmupSeconds * 1000);
      const window = await measureWindow(env, engine, sizes.windowSeconds);
      // The window may end before the grace period does: keep the load on until the drop or the deadline.
      if (stalled && dropMetric) {
        const deadline = stalled.pausedAt + sizes.dropWaitSeconds * 1000;
        while (droppedAt === undefined && performance.now() < deadline) await sleep(DROP_POLL_MS);
      }
      const rssEnd = totalRssBytes(env.server.pids);
      polling = false;
      await poller;
      await engine.stop();
      const slowConsumers = await env.nats.slowConsumers();

      const received = window.clients;
      notes.push(...loadSideNotes(window, context.layout.loadCoreCount));
      if (received.updates === 0) notes.push('no update reached a client');
      if (slowConsumers) notes.push(`nats-server cut ${slowConsumers} slow consumer(s): the server fell behind the engine`);
      const pass: PassFigures = {
        p50: usToMs(received.mdLatency.percentile(50)),
        p99: usToMs(received.mdLatency.percentile(99)),
        updatesPerSecond: received.updatesPerSecond,
        serverCpu: window.server.percent,
        rssEnd,
        notes,
      };
      if (!stalled) return pass;

      // A paused socket cannot see the server's close; read through the backlog to find out (and to confirm the metric).
      const closedSeen = await stalled.resumeAndCheckClosed(RESUME_CHECK_MS);
      const dropped = droppedAt !== undefined || closedSeen;
      if (closedSeen && droppedAt === undefined && dropMetric) notes.push('slow client found closed, but the server did not count a SLOW_CLIENT drop');
      if (!closedSeen && droppedAt !== undefined) notes.push(`slow client's connection still open ${RESUME_CHECK_MS / 1000} s after it read again`);
      return {
        ...pass,
        slow: {
          dropped: dropped ? 1 : 0,
          dropAfterSeconds: droppedAt !== undefined ? (droppedAt - stalled.pausedAt) / 1000 : Number.NaN,
          rssAtStall,
          subscribed: stalled.accepted,
        },
      };
    } finally {
      polling = false;
      await poller;
      stalled?.destroy();
    }
  });
}
