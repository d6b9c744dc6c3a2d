import { sleep } from '../lib/clock.js';
import { CpuMeter, ForeignCpuMeter, totalRssBytes } from '../lib/proc-stats.js';
import { NAMESPACES } from '#libs/contracts';
import { decimal, describeCounts, integer, KB, MB, milliseconds, percent, usToMs } from '../report/format.js';
import { foreignCpuNotes } from './measure-window.js';
import type { Scenario } from './scenario.js';
import { withScenarioEnv } from './scenario-env.js';

/**
 * Capacity: K authenticated clients connect to /market-data at R per second and stay connected. Measures the
 * handshake (WebSocket connect → `welcome`), the server's CPU while accepting, and what each connection costs in RSS
 * and heap once they have all settled.
 */
export const capacityScenario: Scenario = {
  name: 'capacity',
  title: ({ capacity }) => `Capacity: ${integer(capacity.connections)} connections at ${integer(capacity.connectRate)}/s`,
  columns: [
    { key: 'connected', header: 'connected', format: integer },
    { key: 'failed', header: 'failed', format: integer },
    { key: 'handshakeP50', header: 'handshake p50 ms', format: milliseconds },
    { key: 'handshakeP99', header: 'p99 ms', format: milliseconds },
    { key: 'handshakeP999', header: 'p99.9 ms', format: milliseconds },
    { key: 'handshakeMax', header: 'max ms', format: milliseconds },
    { key: 'serverCpu', header: 'server CPU while connecting', format: percent },
    { key: 'serverLoopLagMaxMs', header: 'server loop stall max ms', format: milliseconds },
    { key: 'cpuMsPerConnection', header: 'CPU ms/conn', format: decimal },
    { key: 'rssPerConnectionKb', header: 'RSS KB/conn', format: decimal },
    { key: 'heapPerConnectionKb', header: 'heap KB/conn', format: decimal },
    { key: 'rssMb', header: 'RSS MB', format: integer },
  ],
  async run(context, target) {
    const { capacity } = context.options.profile;
    return withScenarioEnv(context, 'capacity', target, { instruments: 1, accounts: 1 }, async (env) => {
      const { pids } = env.server;
      const connectOptions = {
        baseUrl: env.server.baseUrl,
        namespace: NAMESPACES.marketData,
        client: env.client,
        jwtSecret: context.jwtSecret,
        ratePerSecond: capacity.connectRate,
        localAddresses: env.localAddresses,
      };
      // Warm-up: the first handshakes of a fresh process run cold code (lazy compilation, JIT); they connect, leave,
      // and are not counted, so the figures describe a server that has been up for a while.
      const warmup = users(capacity.warmupConnections, 'bench-warmup');
      if (warmup.length) {
        await env.pool.connect({ ...connectOptions, clients: warmup });
        await env.pool.closeClients();
      }
      // Let start-up and warm-up allocation settle before taking the "empty server" reference.
      await sleep(500);
      const rssBefore = totalRssBytes(pids);
      // This scrape also restarts the server's loop-stall measurement, so the next one covers the connections only.
      const { heapBytes: heapBefore } = await env.server.sample();
      const cpu = new CpuMeter(pids);
      const foreign = new ForeignCpuMeter([...pids, ...env.pool.pids, env.nats.pid]);
      const connect = await env.pool.connect({ ...connectOptions, clients: users(capacity.connections, 'bench-user') });
      const connectCpu = cpu.read();
      context.log(`  ${connect.connected} of ${connect.attempted} connected in ${(connect.elapsedMs / 1000).toFixed(1)} s`);
      const foreignCpuPercent = foreign.read();
      const { loopLagMaxMs } = await env.server.sample();
      await sleep(capacity.settleSeconds * 1000);
      const rssAfter = totalRssBytes(pids);
      const { heapBytes: heapAfter } = await env.server.sample();
      const failed = connect.attempted - connect.connected;
      const notes = foreignCpuNotes(foreignCpuPercent);
      if (failed) notes.push(`${failed} connections failed: ${describeCounts(connect.failures)}`);
      const achievedRate = connect.attempted / (connect.elapsedMs / 1000);
      if (connect.loopDelayP99Ms > 10) {
        notes.push(`load-generator event loop lagged while connecting (p99 ${connect.loopDelayP99Ms.toFixed(0)} ms): handshake latency includes it`);
      }
      if (achievedRate < capacity.connectRate * 0.9) notes.push(`connections were opened at only ${integer(achievedRate)}/s`);
      const perConnection = (bytes: number): number => (connect.connected ? bytes / connect.connected / KB : Number.NaN);
      return {
        figures: {
          connected: connect.connected,
          failed,
          handshakeP50: usToMs(connect.handshake.percentile(50)),
          handshakeP99: usToMs(connect.handshake.percentile(99)),
          handshakeP999: usToMs(connect.handshake.percentile(99.9)),
          handshakeMax: usToMs(connect.handshake.percentile(100)),
          serverCpu: connectCpu.percent,
          serverLoopLagMaxMs: loopLagMaxMs,
          cpuMsPerConnection: connect.connected ? (connectCpu.cpuSeconds * 1000) / connect.connected : Number.NaN,
          rssPerConnectionKb: perConnection(rssAfter - rssBefore),
          heapPerConnectionKb: perConnection(heapAfter - heapBefore),
          rssMb: rssAfter / MB,
        },
        notes,
      };
    });
  },
};

function users(count: number, prefix: string): { index: number; sub: string; accounts: string[] }[] {
  return Array.from({ length: count }, (_, index) => ({ index, sub: `${prefix}-${index}`, accounts: [] }));
}
