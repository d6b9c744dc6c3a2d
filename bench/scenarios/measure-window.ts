import { sleep } from '../lib/clock.js';
import { type CpuWindow, CpuMeter, ForeignCpuMeter } from '../lib/proc-stats.js';
import type { EngineLoad } from '../engine-load.js';
import type { PoolMeasureResult } from '../loadgen/loadgen-pool.js';
import type { ScenarioEnv } from './scenario-env.js';

export interface WindowMeasurement {
  /** What the engine published during the window, per second. */
  publishedQuotesPerSecond: number;
  publishedOrdersPerSecond: number;
  /** Engine events the server consumed during the window, per second (from its /metrics; NaN if not exposed). */
  absorbedPerSecond: number;
  /** The server's worst event-loop stall during the window, in ms. */
  serverLoopLagMaxMs: number;
  /** The server's heap at the end of the window. */
  serverHeapBytes: number;
  server: CpuWindow;
  /** Load generators + engine publisher + nats-server. */
  loadSide: CpuWindow;
  /** CPU used by processes that are not part of the bench (100 = one core): other work on a shared machine. */
  foreignCpuPercent: number;
  clients: PoolMeasureResult;
}

/**
 * One measurement window on a running engine load: the same instants bound the client counts, the engine's published
 * counts, the server's consumed-event counter and both sides' CPU, so every rate in a row is over the same seconds.
 */
export async function measureWindow(env: ScenarioEnv, engine: EngineLoad, windowSeconds: number): Promise<WindowMeasurement> {
  const [publishedBefore, before] = await Promise.all([engine.mark(), env.server.sample()]);
  // A saturated server answers /metrics late: its counter's rate is over the time between the two answers.
  const sampledBeforeAt = performance.now();
  const server = new CpuMeter(env.server.pids);
  const loadSidePids = [...env.pool.pids, engine.pid, env.nats.pid];
  const loadSide = new CpuMeter(loadSidePids);
  const foreign = new ForeignCpuMeter([...env.server.pids, ...loadSidePids]);
  await env.pool.measureStart();
  await sleep(windowSeconds * 1000);
  const clients = await env.pool.measureStop();
  const serverCpu = server.read();
  const loadSideCpu = loadSide.read();
  const foreignCpuPercent = foreign.read();
  const [after, publishedAfter] = await Promise.all([env.server.sample(), engine.mark()]);
  const sampleSeconds = (performance.now() - sampledBeforeAt) / 1000;
  const publishSeconds = (publishedAfter.atMs - publishedBefore.atMs) / 1000;
  return {
    publishedQuotesPerSecond: (publishedAfter.quotes - publishedBefore.quotes) / publishSeconds,
    publishedOrdersPerSecond: (publishedAfter.orders - publishedBefore.orders) / publishSeconds,
    absorbedPerSecond: (after.engineEvents - before.engineEvents) / sampleSeconds,
    serverLoopLagMaxMs: after.loopLagMaxMs,
    serverHeapBytes: after.heapBytes,
    server: serverCpu,
    loadSide: loadSideCpu,
    foreignCpuPercent,
    clients,
  };
}

/** Notes that tell a reader when a row measured the load generator rather than the server. */
export function loadSideNotes(measurement: WindowMeasurement, loadCoreCount: number): string[] {
  const notes = foreignCpuNotes(measurement.foreignCpuPercent);
  if (measurement.loadSide.percent > 90 * loadCoreCount) {
    notes.push(`load side busy (${measurement.loadSide.percent.toFixed(0)}% of ${loadCoreCount} core(s)): figures may be limited by the load generator`);
  }
  if (measurement.clients.loopDelayP99Ms > 50) {
    notes.push(`load-generator event loop lagged (p99 ${measurement.clients.loopDelayP99Ms.toFixed(0)} ms): client-side latency is included`);
  }
  if (measurement.clients.disconnects) notes.push(`${measurement.clients.disconnects} clients were disconnected during the window`);
  return notes;
}

/** The orchestrator counts as foreign too, but it idles during a window: a few percent is noise, more is someone else. */
export function foreignCpuNotes(foreignCpuPercent: number): string[] {
  return foreignCpuPercent > 10
    ? [`other processes on this machine used ${foreignCpuPercent.toFixed(0)}% of a core meanwhile: figures are disturbed`]
    : [];
}

/**
 * How long an engine load may run. The scenario stops it right after its window; this is only the safety limit, with
 * room for a window that starts late because a saturated server or load generator answers slowly.
 */
export function engineDuration(phase: { warmupSeconds: number; windowSeconds: number }): number {
  return phase.warmupSeconds + phase.windowSeconds + Math.max(30, phase.windowSeconds);
}
