import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, relative } from 'node:path';
import type { CoreLayout } from '../lib/processes.js';
import { PROJECT_ROOT } from '../lib/paths.js';

const RESULTS_FILE = join(PROJECT_ROOT, 'bench', 'RESULTS.md');

const PREAMBLE = `# Benchmark results

Every \`npm run bench\` / \`npm run bench:full\` run appends a section here, newest last.
See [README.md](README.md) for what each scenario does and how to read the tables.
`;

export interface RunFacts {
  startedAt: Date;
  layout: CoreLayout;
  engineSource: string;
  socketIoClient: string;
  offerDeflate: boolean;
  clientsCompressAll: boolean;
}

/** The facts that make a run reproducible and comparable: when, which code, which machine, which command. */
export function describeRun(facts: RunFacts): string {
  const { layout } = facts;
  const pinning = layout.pinned ? `server pinned to CPU ${layout.serverCpus}, load side to CPU ${layout.loadCpus}` : 'not pinned';
  return [
    `- date: ${facts.startedAt.toISOString().replace('T', ' ').slice(0, 19)} UTC`,
    `- commit: ${gitCommit()}`,
    `- cores: ${layout.cores} (${pinning})`,
    `- CPU: ${cpus()[0]?.model ?? 'unknown'}`,
    `- Node: ${process.version}`,
    `- command: \`${command()}\``,
    `- engine load: ${facts.engineSource === 'direct' ? 'bench engine publisher (direct NATS)' : 'simulator CLI'}; Socket.IO client: ${facts.socketIoClient}; clients offer permessage-deflate: ${facts.offerDeflate ? (facts.clientsCompressAll ? 'yes, and compress every message they send (as browsers do)' : 'yes') : 'no'}`,
  ].join('\n');
}

export function appendResults(title: string, facts: string, report: string): string {
  if (!existsSync(RESULTS_FILE)) writeFileSync(RESULTS_FILE, PREAMBLE);
  appendFileSync(RESULTS_FILE, `\n## ${title}\n\n${facts}\n\n${report}\n`);
  return RESULTS_FILE;
}

function gitCommit(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: PROJECT_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'none (no commit yet)';
  }
}

function command(): string {
  const script = relative(PROJECT_ROOT, process.argv[1] ?? 'dist/bench/run.js');
  // The bench's own environment settings change what is measured: they belong to the command.
  const settings = ['BENCH_GATEWAY_WORKERS', 'BENCH_GATEWAY_ENV', 'BENCH_BASE_NODE_ARGS']
    .filter((name) => process.env[name] !== undefined)
    .map((name) => `${name}=${JSON.stringify(process.env[name])}`);
  const direct = [...settings, 'node', script, ...process.argv.slice(2)].join(' ');
  const npmScript = process.env.npm_lifecycle_event;
  return npmScript ? `npm run ${npmScript}` + ` → ${direct}` : direct;
}
