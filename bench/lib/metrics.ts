/**
 * Reads one metric from a Prometheus text exposition, summing every labelled series of it (e.g. the gateway counts
 * engine events per kind; the bench wants the total). NaN when the endpoint or the metric is missing.
 */
export async function scrapeMetric(metricsUrl: string, name: string): Promise<number> {
  let text: string;
  try {
    const response = await fetch(metricsUrl, { signal: AbortSignal.timeout(5_000) });
    if (!response.ok) return Number.NaN;
    text = await response.text();
  } catch {
    return Number.NaN;
  }
  return sumMetric(text, name);
}

export function sumMetric(exposition: string, name: string): number {
  let total = 0;
  let found = false;
  for (const line of exposition.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    // Only the metric itself, not e.g. `name_created` or `name_bucket`.
    if (rest[0] !== ' ' && rest[0] !== '{') continue;
    const value = Number(rest.slice(rest.lastIndexOf('}') + 1).trim().split(' ')[0]);
    if (Number.isFinite(value)) {
      total += value;
      found = true;
    }
  }
  return found ? total : Number.NaN;
}
