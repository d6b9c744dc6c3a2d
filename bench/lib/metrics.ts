/**
 * Reads metrics from a Prometheus text exposition in one request, summing every labelled series of each (e.g. the
 * gateway counts engine events per kind; the bench wants the total). NaN for an endpoint or metric that is missing.
 */
export async function scrapeMetrics<Name extends string>(metricsUrl: string, names: readonly Name[]): Promise<Record<Name, number>> {
  const text = await scrapeExposition(metricsUrl);
  return Object.fromEntries(names.map((name) => [name, sumMetric(text, name)])) as Record<Name, number>;
}

/** The exposition at `metricsUrl`; '' when it cannot be read (unreachable, or too busy to answer). */
export async function scrapeExposition(metricsUrl: string): Promise<string> {
  try {
    const response = await fetch(metricsUrl, { signal: AbortSignal.timeout(5_000) });
    return response.ok ? await response.text() : '';
  } catch {
    return '';
  }
}

export function sumMetric(exposition: string, name: string): number {
  const values = metricValues(exposition, name);
  return values.length ? values.reduce((a, b) => a + b, 0) : Number.NaN;
}

/** The largest of a metric's series (e.g. the worst event-loop stall of several worker processes). */
export function maxMetric(exposition: string, name: string): number {
  const values = metricValues(exposition, name);
  return values.length ? Math.max(...values) : Number.NaN;
}

function metricValues(exposition: string, name: string): number[] {
  const values: number[] = [];
  for (const line of exposition.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    // Only the metric itself, not e.g. `name_created` or `name_bucket`.
    if (rest[0] !== ' ' && rest[0] !== '{') continue;
    const value = Number(rest.slice(rest.lastIndexOf('}') + 1).trim().split(' ')[0]);
    if (Number.isFinite(value)) values.push(value);
  }
  return values;
}

/**
 * One metric summed over the series whose labels include `label` (e.g. `action="disconnected"`): 0 when the endpoint
 * declares the metric but no such series exists yet, NaN when it does not declare it at all (or does not answer).
 */
export async function scrapeLabelledMetric(metricsUrl: string, name: string, label: string): Promise<number> {
  try {
    const response = await fetch(metricsUrl, { signal: AbortSignal.timeout(5_000) });
    if (!response.ok) return Number.NaN;
    const text = await response.text();
    if (!text.includes(`# TYPE ${name} `)) return Number.NaN;
    const series = text.split('\n').filter((line) => line.startsWith(`${name}{`) && line.includes(label));
    const total = sumMetric(series.join('\n'), name);
    return Number.isNaN(total) ? 0 : total;
  } catch {
    return Number.NaN;
  }
}
