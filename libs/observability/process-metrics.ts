import { collectDefaultMetrics, register, type Registry } from 'prom-client';

/**
 * prom-client's default metrics that are gauges named like counters: `promtool check metrics` refuses them, and a
 * `rate()` over them is meaningless. Each has a sibling gauge by type (`nodejs_active_handles{type}`, …) whose sum
 * is the same number, so nothing is lost by leaving them out.
 */
export const GAUGES_NAMED_LIKE_COUNTERS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'] as const;

/** The process and Node.js runtime metrics (`process_*`, `nodejs_*`), every one of them with a well-formed name. */
export function registerProcessMetrics(registry: Registry = register): void {
  collectDefaultMetrics({ register: registry });
  for (const name of GAUGES_NAMED_LIKE_COUNTERS) registry.removeSingleMetric(name);
}
