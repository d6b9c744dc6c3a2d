import { sleep } from '../lib/clock.js';
import { scrapeMetrics } from '../lib/metrics.js';
import type { RecoveryResult } from '../loadgen/sdk-protocol.js';
import { describeCounts, integer, milliseconds } from '../report/format.js';
import type { Scenario } from './scenario.js';
import { type Replica, withSdkEnv } from './sdk-env.js';

/**
 * A replica restart under SDK clients: C clients of @tradewire/client (one Node process, as a service would run them),
 * each watching the quotes of one of U instruments, connect through HAProxy to two replicas (source balancing puts them
 * all on one). That replica is restarted twice: SIGTERM (the rolling restart: readiness drops, the `shutdown` notice
 * says when to come back, the SDK reconnects within that window with jitter) and SIGKILL (a crash: the SDK notices
 * the closed connection and backs off with full jitter). For each client: the time from leaving `connected` to its
 * first market data after reconnecting — reconnect, handshake, resubscribe, snapshot.
 */
export const sdkReconnectScenario: Scenario = {
  name: 'sdkreconnect',
  title: ({ sdkreconnect: s }) =>
    `SDK clients across a replica restart: ${integer(s.clients)} @tradewire/client clients (quotes of 1 of ${integer(s.instruments)} instruments, ` +
    `${integer(s.quoteRate)} quotes/s) behind HAProxy with 2 replicas, shutdown window ${integer(s.reconnectWindowMs)} ms; time from leaving connected to data again`,
  targets: ['gateway'],
  columns: [
    { key: 'termAffected', header: 'SIGTERM: clients moved', format: integer },
    { key: 'termRecovered', header: 'back', format: integer },
    { key: 'termP50', header: 'p50 ms', format: milliseconds },
    { key: 'termP99', header: 'p99 ms', format: milliseconds },
    { key: 'termMax', header: 'max ms', format: milliseconds },
    { key: 'killAffected', header: 'SIGKILL: clients moved', format: integer },
    { key: 'killRecovered', header: 'back', format: integer },
    { key: 'killP50', header: 'p50 ms', format: milliseconds },
    { key: 'killP99', header: 'p99 ms', format: milliseconds },
    { key: 'killMax', header: 'max ms', format: milliseconds },
  ],
  async run(context, target) {
    const sizes = context.options.profile.sdkreconnect;
    // As in production: readiness drops 1 s before clients are told to leave; whoever reconnects to the leaving replica
    // before HAProxy has taken it out (2 failed checks, 2 s apart) is refused and sent to the other at once.
    const serverEnv = { DRAIN_DELAY_MS: '1000', SHUTDOWN_TIMEOUT_MS: '10000', SHUTDOWN_RECONNECT_WINDOW_MS: String(sizes.reconnectWindowMs) };
    return withSdkEnv(context, 'sdkreconnect', target, { instruments: sizes.instruments, replicas: 2, balanced: true, maxConnections: sizes.clients * 2 + 100, serverEnv }, async (env) => {
      const balancer = env.balancer;
      if (!balancer) throw new Error('no load balancer');
      const engine = env.startEngine({ quoteRate: sizes.quoteRate, instruments: sizes.instruments, durationSeconds: 600 });
      const worker = env.worker('sdk-clients');
      const opened = await worker.open({
        url: balancer.url,
        jwtSecret: context.jwtSecret,
        clients: Array.from({ length: sizes.clients }, (_, i) => ({ sub: `bench-user-${i}`, instruments: [env.universe[i % env.universe.length] ?? ''] })),
        channels: ['quote'],
        depth: 10,
        ratePerSecond: sizes.connectRate,
        kind: 'sdk',
      });
      context.log(`  ${opened.withData} of ${opened.opened} SDK clients receiving quotes after ${(opened.elapsedMs / 1000).toFixed(1)} s`);
      const notes: string[] = [];
      if (opened.withData < opened.opened) notes.push(`${opened.opened - opened.withData} clients had no data before the restarts`);

      const figures: Record<string, number> = {};
      for (const [prefix, signal] of [['term', 'SIGTERM'], ['kill', 'SIGKILL']] as const) {
        await sleep(sizes.settleSeconds * 1000);
        const serving = await servingReplica(env.replicas);
        await worker.arm();
        const machine = env.machineLoad();
        const exited = new Promise<void>((resolve) => serving.process.once('exit', () => resolve()));
        serving.process.kill(signal);
        await exited;
        const recovery = await waitForRecovery(worker.recovery.bind(worker), sizes.recoveryTimeoutSeconds * 1000);
        notes.push(`${signal}: while the clients recovered, ${machine()}`);
        // Then the replica comes back on its port. Not at once: on this machine both replicas share one core, and a
        // booting replica would slow the other's handshakes in a way separate hosts do not.
        await serving.restart();
        // Only the clients of the restarted replica move; any the balancer had put on the other one stay where they are.
        const affected = recovery.downAt.filter(Number.isFinite).length;
        const gaps = recovery.downAt.map((down, i) => (recovery.dataAt[i] ?? Number.NaN) - down).filter(Number.isFinite).sort((a, b) => a - b);
        figures[`${prefix}Affected`] = affected;
        figures[`${prefix}Recovered`] = gaps.length;
        figures[`${prefix}P50`] = percentile(gaps, 50);
        figures[`${prefix}P99`] = percentile(gaps, 99);
        figures[`${prefix}Max`] = gaps.at(-1) ?? Number.NaN;
        const sortedOf = (values: number[]) => values.filter(Number.isFinite).sort((a, b) => a - b);
        const connectMs = sortedOf(recovery.downAt.map((down, i) => (recovery.backAt[i] ?? Number.NaN) - down));
        const restoredMs = sortedOf(recovery.backAt.map((back, i) => (recovery.restoredAt[i] ?? Number.NaN) - back));
        const dataMs = sortedOf(recovery.backAt.map((back, i) => (recovery.dataAt[i] ?? Number.NaN) - back));
        const p50p99 = (values: number[]) => `p50 ${milliseconds(percentile(values, 50))} / p99 ${milliseconds(percentile(values, 99))} ms`;
        notes.push(`${signal}: left → connected again ${p50p99(connectMs)}; connected → subscriptions restored ${p50p99(restoredMs)}; connected → first data ${p50p99(dataMs)}`);
        if (gaps.length < affected) {
          const backWithoutData = recovery.backAt.filter((back, i) => Number.isFinite(back) && !Number.isFinite(recovery.dataAt[i])).length;
          notes.push(`${signal}: ${affected - gaps.length} clients without data after ${sizes.recoveryTimeoutSeconds} s, ${backWithoutData} of them connected again (states now: ${describeCounts(recovery.states)})`);
        }
        context.log(`  ${signal}: ${gaps.length} back, p50 ${milliseconds(figures[`${prefix}P50`] ?? Number.NaN)} ms, p99 ${milliseconds(figures[`${prefix}P99`] ?? Number.NaN)} ms`);
      }
      const counts = await worker.counts();
      if (counts.errors) notes.push(`the SDK reported ${counts.errors} errors`);
      await engine.stop();
      return { figures, notes };
    });
  },
};

/** The replica holding the clients (HAProxy's source hashing sends every loopback client to the same one). */
async function servingReplica(replicas: Replica[]): Promise<Replica> {
  let best: { replica: Replica; connections: number } | undefined;
  for (const replica of replicas) {
    const { tradewire_connections: connections } = await scrapeMetrics(`${replica.baseUrl}/metrics`, ['tradewire_connections']);
    if (Number.isFinite(connections) && (!best || connections > best.connections)) best = { replica, connections };
  }
  if (!best) throw new Error('no replica answers /metrics');
  return best.replica;
}

/** Waits until every client that left `connected` has data again (after a moment for them all to notice), or the timeout. */
async function waitForRecovery(read: () => Promise<RecoveryResult>, timeoutMs: number): Promise<RecoveryResult> {
  const startedAt = Date.now();
  for (;;) {
    const recovery = await read();
    const left = recovery.downAt.filter(Number.isFinite).length;
    const back = recovery.dataAt.filter(Number.isFinite).length;
    if ((left > 0 && back >= left && Date.now() - startedAt > 3_000) || Date.now() - startedAt > timeoutMs) return recovery;
    await sleep(250);
  }
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}
