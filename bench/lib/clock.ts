/**
 * Wall-clock epoch milliseconds with sub-millisecond resolution. Engine events carry `ts` as epoch ms, and the client
 * that receives them runs in another process, so latency needs a wall clock both processes share; `Date.now()` alone
 * would round every sample down to whole milliseconds.
 */
export function epochMs(): number {
  return performance.timeOrigin + performance.now();
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
