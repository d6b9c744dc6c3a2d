import type { Profile } from '../profiles.js';
import type { Figures, Scenario, ScenarioOutcome } from '../scenarios/scenario.js';
import type { TargetName } from '../targets.js';
import { integer, milliseconds, percent, ratio } from './format.js';

export interface TargetRun {
  target: TargetName;
  outcome?: ScenarioOutcome;
  error?: string;
}

export interface ScenarioRun {
  scenario: Scenario;
  runs: TargetRun[];
}

/** The markdown printed at the end of a run and appended to RESULTS.md. */
export function renderReport(profile: Profile, scenarioRuns: ScenarioRun[]): string {
  const sections = scenarioRuns.map((run) => renderScenario(profile, run));
  sections.push(renderComparison(scenarioRuns), renderWorkersComparison(scenarioRuns), renderTargets(profile, scenarioRuns));
  return sections.filter(Boolean).join('\n\n');
}

function renderScenario(profile: Profile, { scenario, runs }: ScenarioRun): string {
  const header = ['target', ...scenario.columns.map((c) => c.header)];
  const rows = runs.map(({ target, outcome }) => [
    outcome ? target : `${target} (failed)`,
    ...scenario.columns.map((c) => (outcome ? c.format(outcome.figures[c.key] ?? Number.NaN) : '')),
  ]);
  const notes = runs.flatMap(({ target, outcome, error }) =>
    error ? [`- ${target}: **failed**: ${error.split('\n')[0]}`] : (outcome?.notes ?? []).map((note) => `- ${target}: ${note}`),
  );
  return [`### ${scenario.title(profile)}`, '', markdownTable(header, rows), ...(notes.length ? ['', ...notes] : [])].join('\n');
}

/** A figure of the gateway divided by the same figure of a baseline. */
interface ComparedFigure {
  scenario: string;
  key: string;
  label: string;
}

const COMPARED: ComparedFigure[] = [
  { scenario: 'fanout', key: 'framesPerSecond', label: 'fan-out frames/s' },
  { scenario: 'fanout', key: 'updatesPerSecond', label: 'fan-out instrument-updates/s' },
  { scenario: 'fanout', key: 'updatesPerCoreSecond', label: 'fan-out instrument-updates/s per server core' },
  { scenario: 'fanout', key: 'latencyP99', label: 'fan-out e2e p99 (lower is better)' },
  { scenario: 'capacity', key: 'handshakeP99', label: 'handshake p99 (lower is better)' },
  { scenario: 'capacity', key: 'rssPerConnectionKb', label: 'RSS per connection (lower is better)' },
  { scenario: 'accounts', key: 'latencyP99', label: 'order e2e p99 (lower is better)' },
  { scenario: 'ingest', key: 'idlePerCore', label: 'ingest events/s per core, no clients' },
  { scenario: 'storm', key: 'firstP99', label: 'subscribe storm, first window e2e p99 (lower is better)' },
  { scenario: 'storm', key: 'steadyP99', label: 'subscribe storm, steady-state e2e p99 (lower is better)' },
];

function renderComparison(scenarioRuns: ScenarioRun[]): string {
  const baselines = [...new Set(scenarioRuns.flatMap((s) => s.runs.map((r) => r.target)))].filter((t) => t !== 'gateway');
  const rows: string[][] = [];
  for (const compared of COMPARED) {
    const gateway = figuresOf(scenarioRuns, compared.scenario, 'gateway');
    if (!gateway) continue;
    rows.push([
      compared.label,
      ...baselines.map((baseline) => {
        const other = figuresOf(scenarioRuns, compared.scenario, baseline);
        return other ? ratio(gateway[compared.key] / other[compared.key]) : '–';
      }),
    ]);
  }
  if (!rows.length || !baselines.length) return '';
  return ['### Gateway relative to the baselines', '', markdownTable(['figure', ...baselines.map((b) => `gateway / ${b}`)], rows)].join('\n');
}

/** WORKERS=2 (gateway-workers) against one worker (gateway-redis) of the same run, both with Redis, on every core. */
const WORKERS_COMPARED: ComparedFigure[] = [
  { scenario: 'capacity', key: 'handshakeP50', label: 'handshake p50 (lower is better)' },
  { scenario: 'capacity', key: 'handshakeP99', label: 'handshake p99 (lower is better)' },
  { scenario: 'capacity', key: 'cpuMsPerConnection', label: 'server CPU ms per connection, primary included (lower is better)' },
  { scenario: 'capacity', key: 'rssPerConnectionKb', label: 'RSS per connection, every process (lower is better)' },
  { scenario: 'fanout', key: 'updatesPerSecond', label: 'fan-out instrument-updates/s' },
  { scenario: 'fanout', key: 'deliveryPercent', label: 'fan-out updates delivered of those owed' },
  { scenario: 'fanout', key: 'latencyP50', label: 'fan-out e2e p50 (lower is better)' },
  { scenario: 'fanout', key: 'latencyP99', label: 'fan-out e2e p99 (lower is better)' },
  { scenario: 'fanout', key: 'serverCpu', label: 'fan-out server CPU (every process)' },
];

function renderWorkersComparison(scenarioRuns: ScenarioRun[]): string {
  const rows: string[][] = [];
  for (const compared of WORKERS_COMPARED) {
    const two = figuresOf(scenarioRuns, compared.scenario, 'gateway-workers');
    const one = figuresOf(scenarioRuns, compared.scenario, 'gateway-redis');
    if (two && one) rows.push([compared.label, ratio(two[compared.key] / one[compared.key])]);
  }
  if (!rows.length) return '';
  return ['### WORKERS=2 relative to one worker (both with Redis, on every core)', '', markdownTable(['figure', 'gateway-workers / gateway-redis'], rows)].join('\n');
}

function renderTargets(profile: Profile, scenarioRuns: ScenarioRun[]): string {
  const fanout = figuresOf(scenarioRuns, 'fanout', 'gateway');
  const rawWs = figuresOf(scenarioRuns, 'fanout', 'raw-ws');
  const capacity = figuresOf(scenarioRuns, 'capacity', 'gateway');
  const accounts = figuresOf(scenarioRuns, 'accounts', 'gateway');
  const slowClient = figuresOf(scenarioRuns, 'slowclient', 'gateway');
  const rows: string[][] = [];

  const framesShare = fanout && rawWs ? (fanout.framesPerSecond / rawWs.framesPerSecond) * 100 : Number.NaN;
  rows.push(['fan-out frames/s vs raw ws baseline', '≥ 80%', percent(framesShare), verdict(framesShare >= 80, framesShare)]);
  // The gateway batches several updates into one frame and raw ws sends one per update, so frames/s alone penalises
  // batching; the same comparison on instrument-updates/s is shown beside it.
  const updatesShare = fanout && rawWs ? (fanout.updatesPerSecond / rawWs.updatesPerSecond) * 100 : Number.NaN;
  rows.push(['fan-out instrument-updates/s vs raw ws baseline', '≥ 80%', percent(updatesShare), verdict(updatesShare >= 80, updatesShare)]);

  // The trading floor (issue 4): a throttled fan-out must stay within one interval of the engine, hold its memory,
  // and deliver far more per core than plain Socket.IO.
  if (profile.fanout.throttleMs > 0) {
    const bound = profile.fanout.throttleMs + 25;
    const p99 = fanout?.latencyP99 ?? Number.NaN;
    rows.push([`trading floor e2e p99 (throttleMs ${profile.fanout.throttleMs})`, `≤ ${bound} ms`, `${milliseconds(p99)} ms`, verdict(p99 <= bound, p99)]);
    const growth = fanout?.rssGrowthPercent ?? Number.NaN;
    rows.push([`trading floor memory over the ${profile.fanout.windowSeconds} s window`, '≤ 5% RSS growth', percent(growth), verdict(growth <= 5, growth)]);
    const rooms = figuresOf(scenarioRuns, 'fanout', 'socketio-rooms');
    const perCore = fanout && rooms ? fanout.updatesPerCoreSecond / rooms.updatesPerCoreSecond : Number.NaN;
    const reflectedPerCore = fanout && rooms ? fanout.reflectedPerCoreSecond / rooms.reflectedPerCoreSecond : Number.NaN;
    rows.push(['trading floor updates sent/s per server core vs plain Socket.IO rooms', '≥ 10×', ratio(perCore), verdict(perCore >= 10, perCore)]);
    rows.push([
      'trading floor engine updates reflected/s per server core vs plain Socket.IO rooms (a conflated quote stands for those it replaced)',
      '≥ 10×',
      ratio(reflectedPerCore),
      verdict(reflectedPerCore >= 10, reflectedPerCore),
    ]);
  }

  // Issue 5: licences from a registry, compliance screening, seats and rate limits in Redis cost < 5% of fan-out.
  const checked = figuresOf(scenarioRuns, 'fanout', 'gateway-checked');
  const checkedShare = fanout && checked ? (checked.updatesPerCoreSecond / fanout.updatesPerCoreSecond) * 100 : Number.NaN;
  rows.push([
    'fan-out updates/s per core with every check (gateway-checked) vs without',
    '≥ 95%',
    checked && fanout ? `${percent(checkedShare)} (${integer(checked.updatesPerSecond)} vs ${integer(fanout.updatesPerSecond)} updates/s)` : '–',
    verdict(checkedShare >= 95, checkedShare),
  ]);

  const handshakeP99 = capacity?.handshakeP99 ?? Number.NaN;
  rows.push([
    `handshake p99 at ${integer(profile.capacity.connectRate)} new connections/s`,
    '≤ 20 ms',
    `${milliseconds(handshakeP99)} ms`,
    verdict(handshakeP99 <= 20, handshakeP99),
  ]);

  const wanted = 19_000;
  if (profile.capacity.connections >= wanted) {
    const connected = capacity?.connected ?? Number.NaN;
    const perConnection = capacity?.rssPerConnectionKb ?? Number.NaN;
    rows.push([
      `${integer(wanted)} authenticated connections in one process`,
      '≤ 20 KB RSS each',
      `${integer(connected)} connected, ${perConnection.toFixed(1)} KB each`,
      verdict(connected >= wanted && perConnection <= 20, perConnection),
    ]);
  } else {
    rows.push([`${integer(wanted)} authenticated connections in one process`, '≤ 20 KB RSS each', 'full run only', 'n/a']);
  }

  const orderP99 = accounts?.latencyP99 ?? Number.NaN;
  rows.push([
    `order update engine→client p99 at ${integer(profile.accounts.orderRate)} events/s`,
    '≤ 5 ms',
    `${milliseconds(orderP99)} ms`,
    verdict(orderP99 <= 5, orderP99),
  ]);

  const p99Ratio = slowClient?.p99Ratio ?? Number.NaN;
  const dropped = slowClient?.slowDropped === 1;
  const dropAfter = slowClient?.dropAfterSeconds ?? Number.NaN;
  rows.push([
    "slow client: others' p99 within 1.5x of the run without it, and the slow client dropped",
    '≤ 1.5×, dropped',
    slowClient
      ? `${milliseconds(slowClient.p99Alone)} → ${milliseconds(slowClient.p99WithSlow)} ms (${ratio(p99Ratio)}), ` +
        (dropped ? `dropped${Number.isFinite(dropAfter) ? ` after ${dropAfter.toFixed(1)} s` : ''}` : 'not dropped')
      : '–',
    verdict(p99Ratio <= 1.5 && dropped, p99Ratio),
  ]);
  // Issue 10: SDK clients are back to flowing data within 2 s of a replica restart.
  const sdk = figuresOf(scenarioRuns, 'sdkreconnect', 'gateway');
  if (sdk) {
    const clients = profile.sdkreconnect.clients;
    const worst = Math.max(sdk.termP99 ?? Number.NaN, sdk.killP99 ?? Number.NaN);
    const allBack = sdk.termRecovered === sdk.termAffected && sdk.killRecovered === sdk.killAffected && sdk.termAffected > 0 && sdk.killAffected > 0;
    rows.push([
      `${integer(clients)} SDK clients back to flowing data after a replica restart (SIGTERM / SIGKILL), p99`,
      '< 2,000 ms, all back',
      `${milliseconds(sdk.termP99 ?? Number.NaN)} / ${milliseconds(sdk.killP99 ?? Number.NaN)} ms, ` +
        `${integer(sdk.termRecovered ?? Number.NaN)} of ${integer(sdk.termAffected ?? Number.NaN)} / ${integer(sdk.killRecovered ?? Number.NaN)} of ${integer(sdk.killAffected ?? Number.NaN)} back`,
      verdict(worst < 2_000 && allBack, worst),
    ]);
  }
  const storm = figuresOf(scenarioRuns, 'storm', 'gateway');
  if (storm) {
    // Issue 11: hot instruments keep their latency from the first second after every client subscribed at once.
    const bound = profile.storm.throttleMs + 25;
    const hot = `${integer(profile.storm.clients)} clients × ${profile.storm.perClient} hot instruments at ${integer(profile.storm.hotRate)} quotes/s each`;
    rows.push([`subscribe storm (${hot}): e2e p99 over the first ${profile.storm.windowSeconds} s`, `≤ ${bound} ms`, `${milliseconds(storm.firstP99)} ms`, verdict(storm.firstP99 <= bound, storm.firstP99)]);
    rows.push([`subscribe storm (${hot}): e2e p99 in steady state`, `≤ ${bound} ms`, `${milliseconds(storm.steadyP99)} ms`, verdict(storm.steadyP99 <= bound, storm.steadyP99)]);
  }
  // Issue 13: an operator notice reaches every connected client within 2 s.
  const noticeLast = capacity?.noticeLastMs ?? Number.NaN;
  if (capacity && Number.isFinite(noticeLast)) {
    rows.push([
      `admin notice to every connected client (${integer(capacity.noticeOwed)}), the last one's receipt`,
      '≤ 2,000 ms, all',
      `${milliseconds(noticeLast)} ms, ${integer(capacity.noticeReceived)} of ${integer(capacity.noticeOwed)}`,
      verdict(noticeLast <= 2_000 && capacity.noticeReceived === capacity.noticeOwed, noticeLast),
    ]);
  }
  return ['### Targets (gateway)', '', markdownTable(['target', 'required', 'measured', 'result'], rows)].join('\n');
}

function verdict(pass: boolean, measured: number): string {
  if (!Number.isFinite(measured)) return 'not measured';
  return pass ? 'PASS' : 'MISS';
}

function figuresOf(scenarioRuns: ScenarioRun[], scenario: string, target: TargetName): Figures | undefined {
  return scenarioRuns.find((s) => s.scenario.name === scenario)?.runs.find((r) => r.target === target)?.outcome?.figures;
}

export function markdownTable(header: string[], rows: string[][]): string {
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  const align = header.map((_, i) => (i === 0 ? '---' : '---:'));
  return [line(header), line(align), ...rows.map(line)].join('\n');
}
