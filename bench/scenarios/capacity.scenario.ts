import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sleep } from '../lib/clock.js';
import { benchScript } from '../lib/paths.js';
import { spawnNode } from '../lib/processes.js';
import { CpuMeter, ForeignCpuMeter, totalRssBytes } from '../lib/proc-stats.js';
import { NAMESPACES, type Licence } from '#libs/contracts';
import { BENCH_LICENCE } from '../lib/tokens.js';
import type { ClientSpec } from '../loadgen/loadgen-protocol.js';
import type { Profile } from '../profiles.js';
import { decimal, describeCounts, integer, KB, MB, milliseconds, percent, usToMs } from '../report/format.js';
import { measureAdminNotice, NO_NOTICE, type NoticeOutcome } from './admin-notice.js';
import { connectionBudgetProblems, openFileLimit, portsPerAddress } from '../loadgen/connection-budget.js';
import { describeNetCounters, readNetCounters } from '../lib/net-stats.js';
import { foreignCpuNotes } from './measure-window.js';
import type { RunContext, Scenario } from './scenario.js';
import { withScenarioEnv, type ScenarioEnv } from './scenario-env.js';

/**
 * Capacity: K authenticated clients connect to /market-data at R per second and stay connected. Measures the
 * handshake (WebSocket connect → `welcome`), the server's CPU while accepting, and what each connection costs in RSS
 * and heap once they have all settled; then, on targets with the admin API, how long an operator notice to everyone
 * takes to reach every client (admin-notice.ts).
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
    { key: 'rssLessYoungPerConnectionKb', header: 'RSS less young gen KB/conn', format: decimal },
    { key: 'rssMb', header: 'RSS MB', format: integer },
    { key: 'youngGenerationMb', header: 'young gen MB', format: decimal },
    { key: 'noticeReceived', header: 'notice received', format: integer },
    { key: 'noticeP50Ms', header: 'notice p50 ms', format: milliseconds },
    { key: 'noticeP99Ms', header: 'notice p99 ms', format: milliseconds },
    { key: 'noticeLastMs', header: 'notice last ms', format: milliseconds },
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
        maxPending: capacity.maxPending,
      };
      // Warm-up: the first handshakes of a fresh process run cold code (lazy compilation, JIT); they connect, leave,
      // and are not counted, so the figures describe a server that has been up for a while.
      const claims = capacity.namedExchanges > 0 ? { lic: licenceNaming(capacity.namedExchanges) } : undefined;
      const warmup = users(capacity.warmupConnections, 'bench-warmup', claims);
      if (warmup.length) {
        await env.pool.connect({ ...connectOptions, clients: warmup });
        await env.pool.closeClients();
      }
      // Name what cannot fit (local ports per source address, files per process) before thousands of failures do.
      const budget = connectionBudgetProblems({
        connections: capacity.connections,
        sourceAddresses: env.localAddresses.length,
        portsPerAddress: portsPerAddress(),
        loadWorkers: env.pool.pids.length,
        loadWorkerFileLimit: openFileLimit(env.pool.pids[0]),
        // A cluster's primary hands connections to its workers and holds none itself.
        serverProcesses: Math.max(1, pids.length - 1),
        serverFileLimit: openFileLimit(pids[0]),
      });
      for (const problem of budget) context.log(`  warning: ${problem}`);
      const loadRssBefore = totalRssBytes(env.pool.pids);
      // Let start-up and warm-up allocation settle before taking the "empty server" reference.
      await sleep(500);
      const rssBefore = totalRssBytes(pids);
      // This scrape also restarts the server's loop-stall measurement, so the next one covers the connections only.
      const netBefore = readNetCounters();
      const { heapBytes: heapBefore, youngGenerationBytes: youngBefore } = await env.server.sample();
      const snapshotBefore = await env.server.heapSnapshot?.('before');
      const cpu = new CpuMeter(pids);
      const foreign = new ForeignCpuMeter([...pids, ...env.pool.pids, env.nats.pid]);
      const connect = await env.pool.connect({ ...connectOptions, clients: users(capacity.connections, 'bench-user', claims) });
      const connectCpu = cpu.read();
      const connectNet = describeNetCounters(netBefore, readNetCounters());
      context.log(`  ${connect.connected} of ${connect.attempted} connected in ${(connect.elapsedMs / 1000).toFixed(1)} s`);
      const foreignCpuPercent = foreign.read();
      const { loopLagMaxMs } = await env.server.sample();
      await sleep(capacity.settleSeconds * 1000);
      const rssAfter = totalRssBytes(pids);
      const { heapBytes: heapAfter, youngGenerationBytes: youngAfter } = await env.server.sample();
      const loadRssAfter = totalRssBytes(env.pool.pids);
      const failed = connect.attempted - connect.connected;
      const notes = [...foreignCpuNotes(foreignCpuPercent), ...budget];
      if (snapshotBefore && env.server.heapSnapshot) {
        const snapshotAfter = await env.server.heapSnapshot('connected');
        notes.push(await heapBreakdownNote(context, env.dir, snapshotBefore, snapshotAfter, connect.connected));
      }
      // Sent once every client is connected and the memory figures are taken, so its frames do not disturb them.
      const notice = capacity.notice > 0 && target.adminNotice && connect.connected ? await measureNotices(context, env, capacity) : undefined;
      if (failed) notes.push(`${failed} connections failed: ${describeCounts(connect.failures)}`);
      const achievedRate = connect.attempted / (connect.elapsedMs / 1000);
      if (connect.loopDelayP99Ms > 10) {
        notes.push(`load-generator event loop lagged while connecting (p99 ${connect.loopDelayP99Ms.toFixed(0)} ms): handshake latency includes it`);
      }
      if (connectNet) notes.push(`while connecting ${connectNet}: a handshake that lost a packet waited for TCP to send it again (a SYN after 1 s, then 3 s)`);
      if (achievedRate < capacity.connectRate * 0.9) {
        const held = capacity.maxPending ? ` (at most ${integer(capacity.maxPending)} handshakes in flight: capacity.maxPending)` : '';
        notes.push(`connections were opened at only ${integer(achievedRate)}/s${held}`);
      }
      const perConnection = (bytes: number): number => (connect.connected ? bytes / connect.connected / KB : Number.NaN);
      notes.push(
        `load generators: ${env.pool.pids.length} workers, ${decimal(perConnection(loadRssAfter - loadRssBefore))} KB RSS per client, ${integer(loadRssAfter / MB)} MB in all`,
      );
      if (notice) notes.push(...notice.notes);
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
          // The young generation grows with the burst of handshakes, not with what each connection keeps: RSS
          // without its growth is the figure one more idle connection adds (both are reported).
          rssLessYoungPerConnectionKb: perConnection(rssAfter - rssBefore - (youngAfter - youngBefore)),
          rssMb: rssAfter / MB,
          youngGenerationMb: youngAfter / MB,
          ...(notice?.figures ?? NO_NOTICE),
        },
        notes,
      };
    });
  },
};

/**
 * `count` notices one after the other, after a note of what the machine does at rest with every client connected
 * (the background the notice competes with: seat renewals in Redis, heartbeats); the figures are those of the median
 * notice by last receipt, and a note lists every one's.
 */
async function measureNotices(context: RunContext, env: ScenarioEnv, settings: Profile['capacity']): Promise<NoticeOutcome> {
  const { notice: count, noticeSettleSeconds, noticeTimeoutSeconds: timeoutSeconds } = settings;
  await sleep(noticeSettleSeconds * 1000);
  const rest = [new CpuMeter(env.server.pids), new CpuMeter(env.redis ? [env.redis.pid] : []), new CpuMeter([env.nats.pid]), new CpuMeter(env.pool.pids)];
  await sleep(RESTING_SAMPLE_MS);
  const [server, redis, nats, load] = rest.map((meter) => meter.read().percent.toFixed(0));
  const restNote = `at rest with every client connected: the server used ${server}%, redis-server ${redis}%, nats-server ${nats}% and the load generators ${load}% of a core (${RESTING_SAMPLE_MS / 1000} s)`;
  const outcomes: NoticeOutcome[] = [];
  for (let round = 0; round < count; round++) {
    if (round > 0) await sleep(BETWEEN_NOTICES_MS);
    outcomes.push(await measureAdminNotice(context, env, timeoutSeconds));
  }
  const byLast = [...outcomes].sort((a, b) => a.figures.noticeLastMs - b.figures.noticeLastMs);
  // The upper median when the count is even: the slower of the middle two.
  const median = byLast[Math.floor(byLast.length / 2)];
  const rounds =
    count > 1
      ? [`admin notice ×${count}, last receipt ${outcomes.map((each) => milliseconds(each.figures.noticeLastMs)).join(' / ')} ms, p50 ${outcomes.map((each) => milliseconds(each.figures.noticeP50Ms)).join(' / ')} ms: the figures and notes are the median one's`]
      : [];
  return { figures: median.figures, notes: [restNote, ...rounds, ...median.notes] };
}

/** How long the machine is watched at rest before the notices. */
const RESTING_SAMPLE_MS = 3_000;
/**
 * Between two notices: the load generators' and workers' queues drained, the GC after the last one done, and the seat
 * renewals that waited for it caught up (up to half a renewal period's seats at once, about 2 s of Redis at 100,000).
 */
const BETWEEN_NOTICES_MS = 8_000;

/**
 * Breaks the two snapshots down by holder (heap-breakdown.cli.js, in a process of its own with room to read them) into
 * `heap-breakdown.md` beside them; returns a note with the total and the largest holders.
 */
async function heapBreakdownNote(context: RunContext, dir: string, before: string, after: string, connections: number): Promise<string> {
  const output = join(dir, 'heap-breakdown.md');
  const child = spawnNode(benchScript('heap-breakdown.cli.js'), [before, after, '--connections', String(connections)], { cpus: context.layout.loadCpus, layout: context.layout, logFile: output }, [
    '--max-old-space-size=8192',
  ]);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  const rows = readFileSync(output, 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('| ') && !line.startsWith('| holder') && !line.startsWith('| ---'))
    .map((line) => line.split('|').map((cell) => cell.trim().replaceAll('*', '')));
  const total = rows.find((cells) => cells[1] === 'all')?.[2];
  if (code !== 0 || total === undefined) return `heap snapshots: the breakdown failed (exit ${code}), see ${output}`;
  const largest = rows.filter((cells) => cells[1] !== 'all').slice(0, 6).map((cells) => `${cells[1]} ${cells[2]}`);
  return `heap snapshots: ${total} bytes of heap per connection; largest holders ${largest.join(', ')}; every holder in ${output}. The snapshots disturb the RSS figure`;
}

function users(count: number, prefix: string, claims: Record<string, unknown> | undefined): ClientSpec[] {
  return Array.from({ length: count }, (_, index) => ({ index, sub: `${prefix}-${index}`, accounts: [], ...(claims ? { claims } : {}) }));
}

/** The bench licence, naming `count` exchanges (real time) besides `*`. */
function licenceNaming(count: number): Licence {
  const named = Object.fromEntries(Array.from({ length: count }, (_, i) => [`X${String(i).padStart(3, '0')}`, 'realtime' as const]));
  return { ...BENCH_LICENCE, exchanges: { ...named, '*': 'realtime' } };
}
