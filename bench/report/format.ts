/** Cell formatters; NaN (not measured) prints as an en dash. */
const NOT_MEASURED = '–';

export function integer(value: number): string {
  return Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : NOT_MEASURED;
}

export function milliseconds(value: number): string {
  if (!Number.isFinite(value)) return NOT_MEASURED;
  return value < 10 ? value.toFixed(2) : value < 100 ? value.toFixed(1) : value.toFixed(0);
}

export function percent(value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(value < 10 ? 1 : 0)}%` : NOT_MEASURED;
}

export function decimal(value: number): string {
  return Number.isFinite(value) ? value.toFixed(value < 10 ? 2 : 1) : NOT_MEASURED;
}

export function ratio(value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(2)}×` : NOT_MEASURED;
}

export const MB = 1024 * 1024;
export const KB = 1024;

/** Latency histograms record µs; tables show ms. */
export function usToMs(us: number): number {
  return us / 1000;
}

export function describeCounts(counts: Record<string, number>): string {
  return Object.entries(counts)
    .sort((a, b) => b[1] - a[1])
    .map(([key, count]) => `${key} ×${count}`)
    .join(', ');
}
