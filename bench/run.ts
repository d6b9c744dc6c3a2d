import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { resolveEngineSource } from './engine-load.js';
import { PROJECT_ROOT } from './lib/paths.js';
import { coreLayout, killAllChildren, pinSelfToLoadCpus } from './lib/processes.js';
import { benchSecret } from './lib/tokens.js';
import { parseOptions, type ScenarioName, USAGE } from './options.js';
import { renderReport, type ScenarioRun, type TargetRun } from './report/report.js';
import { appendResults, describeRun } from './report/results-file.js';
import { accountsScenario } from './scenarios/accounts.scenario.js';
import { capacityScenario } from './scenarios/capacity.scenario.js';
import { fanoutScenario } from './scenarios/fanout.scenario.js';
import { ingestScenario } from './scenarios/ingest.scenario.js';
import { sdkBookScenario } from './scenarios/sdk-book.scenario.js';
import { sdkReconnectScenario } from './scenarios/sdk-reconnect.scenario.js';
import { slowClientScenario } from './scenarios/slowclient.scenario.js';
import { stormScenario } from './scenarios/storm.scenario.js';
import type { RunContext, Scenario } from './scenarios/scenario.js';
import { TARGETS, type TargetName } from './targets.js';

/**
 * The bench entry point: every selected scenario against every selected target, each in its own hermetic environment,
 * then one markdown report — printed, and appended to bench/RESULTS.md.
 */
const SCENARIOS: Record<ScenarioName, Scenario> = {
  capacity: capacityScenario,
  fanout: fanoutScenario,
  accounts: accountsScenario,
  ingest: ingestScenario,
  slowclient: slowClientScenario,
  sdkreconnect: sdkReconnectScenario,
  sdkbook: sdkBookScenario,
  storm: stormScenario,
};

const options = parseOptions(process.argv.slice(2));
if (options.help) {
  console.log(USAGE);
  process.exit(0);
}

const startedAt = new Date();
const layout = coreLayout(options.pin);
pinSelfToLoadCpus(layout);
const runDir = join(PROJECT_ROOT, 'bench', '.runs', startedAt.toISOString().replace(/[:.]/g, '-'));
mkdirSync(runDir, { recursive: true });
const engineSource = resolveEngineSource(options.engine);
const context: RunContext = {
  options,
  layout,
  runDir,
  jwtSecret: benchSecret(),
  engineSource,
  log: (message) => console.error(`[bench ${((Date.now() - startedAt.getTime()) / 1000).toFixed(1).padStart(6)} s] ${message}`),
};

// Whatever ends this process, no server, nats-server or load generator survives it.
process.on('exit', killAllChildren);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    killAllChildren();
    process.exit(130);
  });
}
setTimeout(() => {
  context.log(`watchdog: the run exceeded ${options.profile.watchdogSeconds} s; stopping everything`);
  killAllChildren();
  process.exit(2);
}, options.profile.watchdogSeconds * 1000).unref();

if (!layout.pinned) {
  context.log(`${options.pin ? 'fewer than 2 cores or no taskset' : '--no-pin'}: server and load generators share CPUs, figures are indicative only`);
}
context.log(`${options.profile.name} run; engine load: ${engineSource}; logs in ${runDir}`);

const scenarioRuns: ScenarioRun[] = [];
for (const name of options.scenarios) {
  const scenario = SCENARIOS[name];
  const targets = options.targets.filter(
    (targetName) =>
      (TARGETS[targetName].scenarios?.includes(name) ?? true) &&
      (scenario.targets?.includes(targetName) ?? true) &&
      (scenario.appliesTo?.(TARGETS[targetName]) ?? true),
  );
  const rounds: TargetRun[][] = [];
  for (let round = 1; round <= options.repeat; round++) {
    const runs: TargetRun[] = [];
    for (const targetName of targets) {
      context.log(`${name} → ${targetName}${options.repeat > 1 ? ` (round ${round} of ${options.repeat})` : ''}`);
      try {
        runs.push({ target: targetName, outcome: await scenario.run(context, TARGETS[targetName]) });
        context.log(`  done`);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        context.log(`${name} → ${targetName} failed: ${message}`);
        runs.push({ target: targetName, error: message });
      }
    }
    rounds.push(runs);
  }
  scenarioRuns.push({ scenario, runs: medianOfRounds(targets, rounds) });
}

const report = renderReport(options.profile, scenarioRuns);
const facts = describeRun({ startedAt, layout, engineSource, socketIoClient: options.socketIoClient, offerDeflate: options.offerDeflate, clientsCompressAll: options.clientsCompressAll });
console.log(`\n${facts}\n\n${report}\n`);
if (options.record) {
  const file = appendResults(`${startedAt.toISOString().slice(0, 16).replace("T", " ")} UTC — ${options.profile.name} run`, facts, report);
  context.log(`appended to ${file}`);
}
context.log('done');
process.exit(anyFailed(scenarioRuns) ? 1 : 0);

/** One run per target: its only round, or each figure's median over the rounds (notes of every round, numbered). */
function medianOfRounds(targets: TargetName[], rounds: TargetRun[][]): TargetRun[] {
  if (rounds.length === 1) return rounds[0] ?? [];
  return targets.map((target) => {
    const runs = rounds.map((round) => round.find((run) => run.target === target));
    const failed = runs.find((run) => run?.error);
    if (failed) return failed;
    const outcomes = runs.flatMap((run) => (run?.outcome ? [run.outcome] : []));
    const keys = [...new Set(outcomes.flatMap((outcome) => Object.keys(outcome.figures)))];
    const figures = Object.fromEntries(keys.map((key) => [key, median(outcomes.map((outcome) => outcome.figures[key] ?? Number.NaN))]));
    const notes = [
      `median of ${outcomes.length} rounds`,
      ...outcomes.flatMap((outcome, i) => outcome.notes.map((note) => `round ${i + 1}: ${note}`)),
    ];
    return { target, outcome: { figures, notes } };
  });
}

function median(values: number[]): number {
  const finite = values.filter((value) => Number.isFinite(value)).sort((a, b) => a - b);
  if (finite.length === 0) return Number.NaN;
  const middle = Math.floor(finite.length / 2);
  return finite.length % 2 ? finite[middle] : (finite[middle - 1] + finite[middle]) / 2;
}

function anyFailed(all: ScenarioRun[]): boolean {
  return all.some((s) => s.runs.some((r) => r.error));
}
