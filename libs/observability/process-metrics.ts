import { collectDefaultMetrics, Gauge, register, type Registry } from 'prom-client';

/**
 * prom-client's default metrics that are gauges named like counters: `promtool check metrics` refuses them, and a
 * `rate()` over them is meaningless. Each has a sibling gauge by type (`nodejs_active_handles{type}`, …) whose sum
 * is the same number, so nothing is lost by leaving them out.
 */
export const GAUGES_NAMED_LIKE_COUNTERS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'] as const;

const PROCESS_START_TIME = 'process_start_time_seconds';

/** The process and Node.js runtime metrics (`process_*`, `nodejs_*`), every one of them with a well-formed name. */
export function registerProcessMetrics(registry: Registry = register): void {
  collectDefaultMetrics({ register: registry });
  for (const name of GAUGES_NAMED_LIKE_COUNTERS) registry.removeSingleMetric(name);
  // prom-client's own is left out when a cluster's metrics are gathered (aggregator `omit`: one start time cannot
  // stand for several processes). The gateway's workers label their series apart, so each keeps its own.
  registry.removeSingleMetric(PROCESS_START_TIME);
  const startedAtSeconds = Math.round(Date.now() / 1000 - process.uptime());
  new Gauge({
    name: PROCESS_START_TIME,
    help: 'Start time of the process since unix epoch in seconds.',
    registers: [registry],
    aggregator: 'first',
    collect(this: Gauge) {
      this.set(startedAtSeconds);
    },
  });
}
