import { parseArgs } from 'node:util';
import { breakdown, holderTotals, type BreakdownRow } from './lib/heap-breakdown.js';
import { integer } from './report/format.js';

/**
 * What one idle connection holds, from two heap snapshots of the same server taken with N and N + `--connections`
 * connections open (the capacity scenario's `--heap-snapshots`, or `node --heapsnapshot-signal=SIGUSR2` by hand):
 * prints a Markdown table of bytes and objects per connection by holder (lib/heap-breakdown.ts), and with `--fields`
 * each holder split by the field the bytes hang from. Give it room (a 150 MB snapshot takes about 1.5 GB to read):
 *
 *   node --max-old-space-size=8192 dist/bench/heap-breakdown.cli.js before.heapsnapshot after.heapsnapshot --connections 2000
 */
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    connections: { type: 'string' },
    fields: { type: 'boolean', default: false },
    top: { type: 'string', default: '40' },
  },
});
const [beforeFile, afterFile] = positionals;
const connections = Number(values.connections);
if (!beforeFile || !afterFile || !Number.isInteger(connections) || connections <= 0) {
  process.stderr.write('usage: heap-breakdown.cli.js BEFORE.heapsnapshot AFTER.heapsnapshot --connections N [--fields] [--top N]\n');
  process.exit(2);
}
// One snapshot at a time: each is read whole.
const before = holderTotals(beforeFile);
const after = holderTotals(afterFile);
const rows = breakdown(before, after, connections, values.fields).slice(0, Number(values.top));
const total = (after.totalBytes - before.totalBytes) / connections;
process.stdout.write(table(rows, total));

function table(rows: BreakdownRow[], totalPerConnection: number): string {
  const lines = [`| holder | bytes per connection | objects per connection |`, `| --- | ---: | ---: |`];
  for (const row of rows) {
    if (Math.abs(row.bytesPerConnection) < 1) continue;
    lines.push(`| ${row.holder} | ${integer(row.bytesPerConnection)} | ${row.objectsPerConnection.toFixed(1)} |`);
  }
  lines.push(`| **all** | **${integer(totalPerConnection)}** | |`);
  return `${lines.join('\n')}\n`;
}
