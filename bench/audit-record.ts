/**
 * What one audit record costs the event loop: `AuditTrail.orderCommand` against one line of the gateway's own logger
 * (`createLogger`, the same pino with its redaction) on the same kind of asynchronous file destination, alternated in
 * one process so that a noisy machine weighs on both alike. Prints the medians and the ratio.
 *
 *   npm run build && node dist/bench/audit-record.js
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { AuditTrail, type OrderCommandRecord } from '#libs/audit';
import { createLogger } from '#libs/observability';

const RECORDS_PER_RUN = 20_000;
const RUNS = 7;

const record: OrderCommandRecord = {
  user: 'trader-9',
  tenant: 'acme-capital',
  connection: '6f1c2f9e-4d1b-4c59-9a53-1f0b2c3d4e5f',
  namespace: '/orders',
  address: '203.0.113.7',
  command: 'submit',
  clientOrderId: 'c-81',
  account: 'ACC-1001',
  instrument: 'NASDAQ:AAPL',
  side: 'buy',
  type: 'limit',
  quantity: '100',
  price: '189.40',
  timeInForce: 'day',
  outcome: 'accepted',
  durationMs: 21,
  orderId: 'O-1',
  status: 'new',
};

/** Microseconds of event-loop time per call, then a pause for the destination to drain. */
async function timed(write: () => void): Promise<number> {
  const start = process.hrtime.bigint();
  for (let index = 0; index < RECORDS_PER_RUN; index += 1) write();
  const micros = Number(process.hrtime.bigint() - start) / 1_000 / RECORDS_PER_RUN;
  await new Promise((resolveDrained) => setTimeout(resolveDrained, 300));
  return micros;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tradewire-audit-bench-'));
  const auditPath = join(dir, 'audit.jsonl');
  const logPath = join(dir, 'log.jsonl');
  const trail = AuditTrail.open({ kind: 'file', path: auditPath }, { nodeId: 'bench' });
  const logDestination = pino.destination({ dest: logPath, sync: false });
  const logger = createLogger({ level: 'info', nodeId: 'bench', destination: logDestination });
  const audit: number[] = [];
  const log: number[] = [];
  for (let run = 0; run < RUNS; run += 1) {
    audit.push(await timed(() => trail.orderCommand(record)));
    log.push(await timed(() => logger.info(record, 'order command')));
  }
  await trail.close();
  logDestination.end();
  const bytes = statSync(auditPath).size / (RECORDS_PER_RUN * RUNS);
  const auditMedian = median(audit);
  const logMedian = median(log);
  process.stdout.write(
    [
      `audit record (order.command): median ${auditMedian.toFixed(2)} µs, runs ${audit.map((value) => value.toFixed(2)).join(' ')}`,
      `log line (createLogger):      median ${logMedian.toFixed(2)} µs, runs ${log.map((value) => value.toFixed(2)).join(' ')}`,
      `ratio audit/log: ${(auditMedian / logMedian).toFixed(2)}; ${bytes.toFixed(0)} bytes per audit record`,
      '',
    ].join('\n'),
  );
  rmSync(dir, { recursive: true, force: true });
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
