/** The subset of the gateway's environment the baseline servers read, so the harness starts every target alike. */
export interface BaselineEnv {
  port: number;
  natsUrl: string;
  jwtSecret: string;
  nodeId: string;
}

export function readBaselineEnv(): BaselineEnv {
  const { PORT, NATS_URL, JWT_SECRET, NODE_ID } = process.env;
  if (!PORT || !NATS_URL || !JWT_SECRET) throw new Error('PORT, NATS_URL and JWT_SECRET are required');
  return { port: Number(PORT), natsUrl: NATS_URL, jwtSecret: JWT_SECRET, nodeId: NODE_ID ?? 'baseline' };
}

/**
 * A baseline must never outlive the bench: it exits when the harness's IPC channel closes (the harness died) and,
 * failing that, after BENCH_MAX_LIFETIME_S.
 */
export function exitWithHarness(): void {
  process.on('disconnect', () => process.exit(0));
  process.on('SIGTERM', () => process.exit(0));
  process.on('SIGINT', () => process.exit(0));
  const lifetimeSeconds = Number(process.env.BENCH_MAX_LIFETIME_S ?? 3_600);
  setTimeout(() => process.exit(0), lifetimeSeconds * 1000).unref();
}
