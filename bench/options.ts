import { parseArgs } from 'node:util';
import type { EngineSourceOption } from './engine-load.js';
import type { ClientKind } from './loadgen/bench-client.js';
import { FULL, overrideProfile, type Profile, QUICK } from './profiles.js';
import { BASELINE_NAMES, ON_REQUEST_TARGETS, TARGET_NAMES, type TargetName } from './targets.js';

export const SCENARIO_NAMES = ['capacity', 'fanout', 'accounts', 'ingest', 'slowclient', 'storm', 'sdkreconnect', 'sdkbook'] as const;
export type ScenarioName = (typeof SCENARIO_NAMES)[number];

/**
 * The slow-client scenario waits for kernel buffers to fill (~20 s per target), the storm scenario measures 30 s per
 * target and the SDK scenarios start fleets of their own (about a minute together): opt-in for the quick run.
 */
const QUICK_DEFAULT_SCENARIOS: readonly ScenarioName[] = SCENARIO_NAMES.filter((name) => !['slowclient', 'storm', 'sdkreconnect', 'sdkbook'].includes(name));

export interface BenchOptions {
  profile: Profile;
  targets: TargetName[];
  scenarios: ScenarioName[];
  engine: EngineSourceOption;
  socketIoClient: Exclude<ClientKind, 'raw-ws'>;
  /** Clients offer permessage-deflate, as browsers do. */
  offerDeflate: boolean;
  /** `--deflate browser`: clients also compress every message they send, as browsers do. */
  clientsCompressAll: boolean;
  /** Loopback source addresses to spread client connections over (1 = let the kernel choose, no bind). */
  sourceAddresses: number;
  record: boolean;
  /**
   * `--no-pin`: no process is pinned to a core, the scheduler places server and load side alike. For runs whose load
   * side needs more than its one core of a 2-core machine (100,000 connections); the figures then describe the machine.
   */
  pin: boolean;
  /** Run the server under test with `node --cpu-prof`; profiles land in the run's folder under bench/.runs/. */
  cpuProfile: boolean;
  /**
   * The capacity scenario takes a heap snapshot of the server before and after connecting its clients, and breaks down
   * what a connection holds (lib/heap-breakdown.ts). The snapshots pause the server and leave memory behind them: the
   * scenario's RSS figure is disturbed.
   */
  heapSnapshots: boolean;
  /** Rounds of every scenario × target, interleaved; each figure is reported as the median over the rounds. */
  repeat: number;
  help: boolean;
}

export const USAGE = `Usage: node dist/bench/run.js [--quick | --full] [options]

  --quick                 small sizes, under 3 minutes (default)
  --full                  the issue's targets (19,000 connections; 2,000 clients x 20 of 500 at 50,000 quotes/s)
  --targets LIST          gateway,raw-ws,socketio-rooms,socketio-loop | baselines | all   (default: all), or
                          gateway-base: the gateway at BENCH_BASE_GATEWAY (another commit's dist/src/main.js), for A/B;
                          gateway-redis,gateway-workers: WORKERS=1 and WORKERS=2, both with Redis, on every core
  --scenarios LIST        capacity,fanout,accounts,ingest,slowclient,storm,sdkreconnect,sdkbook  (default: all with
                          --full; with --quick all but slowclient, storm and the sdk ones, which keeps npm run bench
                          under 3 minutes; storm, sdkreconnect and sdkbook run against the gateway only)
  --engine SOURCE         auto | simulator | direct: the engine load (default auto: the simulator CLI when built)
  --client KIND           lean | lean-tcp | socket.io-client: client used against Socket.IO targets (default lean;
                          lean-tcp: the same protocol on a WebSocket client over a plain TCP socket, for runs whose
                          load generators' own CPU decides the result, e.g. 100,000 connections on 2 cores)
  --deflate on|off|browser
                          clients offer permessage-deflate like browsers and socket.io-client (default on); browser:
                          they also compress every message they send, whatever its size, as browsers do
  --source-addresses N    spread client connections over 127.0.0.2..N+1 when local ports run short (default 1: no bind)
  --set SECTION.FIELD=N   override one size, e.g. --set fanout.clients=1000 (repeatable; see bench/profiles.ts)
  --no-record             do not append this run to bench/RESULTS.md
  --no-pin                pin no process to a core (default: the server on CPU 0, the load side on the others); for
                          runs whose load side outgrows its core, e.g. 100,000 connections on 2 cores
  --cpu-prof              profile the server under test (node --cpu-prof), one .cpuprofile per scenario in bench/.runs/
  --heap-snapshots        capacity: heap snapshots before and after connecting, and what one connection holds, by
                          holder, in bench/.runs/ (disturbs the RSS figure; snapshots over ~500 MB, some 12,000
                          connections, cannot be read: add --set capacity.connections=4000)
  --repeat N              run every scenario × target N times, the targets interleaved round by round, and report
                          each figure's median (for comparisons within the machine's noise; default 1)
  --help`;

export function parseOptions(argv: string[]): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      full: { type: 'boolean', default: false },
      targets: { type: 'string', default: 'all' },
      scenarios: { type: 'string' },
      engine: { type: 'string', default: 'auto' },
      client: { type: 'string', default: 'lean' },
      deflate: { type: 'string', default: 'on' },
      'source-addresses': { type: 'string', default: '1' },
      set: { type: 'string', multiple: true, default: [] },
      'no-record': { type: 'boolean', default: false },
      'no-pin': { type: 'boolean', default: false },
      'cpu-prof': { type: 'boolean', default: false },
      'heap-snapshots': { type: 'boolean', default: false },
      repeat: { type: 'string', default: '1' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.quick && values.full) throw new Error('choose one of --quick and --full');
  const engine = values.engine;
  if (engine !== 'auto' && engine !== 'simulator' && engine !== 'direct') throw new Error(`--engine: unknown source '${engine}'`);
  const client = values.client;
  if (client !== 'lean' && client !== 'lean-tcp' && client !== 'socket.io-client') throw new Error(`--client: unknown kind '${client}'`);
  if (values.deflate !== 'on' && values.deflate !== 'off' && values.deflate !== 'browser') throw new Error(`--deflate: on, off or browser, not '${values.deflate}'`);
  const repeat = Number(values.repeat);
  if (!Number.isInteger(repeat) || repeat < 1 || repeat > 20) throw new Error('--repeat: 1..20');
  const sourceAddresses = Number(values['source-addresses']);
  if (!Number.isInteger(sourceAddresses) || sourceAddresses < 1 || sourceAddresses > 250) throw new Error('--source-addresses: 1..250');
  return {
    profile: overrideProfile(values.full ? FULL : QUICK, values.set),
    targets: parseTargets(values.targets),
    scenarios: parseList(values.scenarios ?? (values.full ? SCENARIO_NAMES : QUICK_DEFAULT_SCENARIOS).join(','), SCENARIO_NAMES, '--scenarios'),
    engine,
    socketIoClient: client,
    offerDeflate: values.deflate !== 'off',
    clientsCompressAll: values.deflate === 'browser',
    sourceAddresses,
    record: !values['no-record'],
    pin: !values['no-pin'],
    cpuProfile: values['cpu-prof'],
    heapSnapshots: values['heap-snapshots'],
    repeat,
    help: values.help,
  };
}

function parseTargets(text: string): TargetName[] {
  const expanded = text
    .split(',')
    .flatMap((name) => (name === 'all' ? TARGET_NAMES.filter((target) => !ON_REQUEST_TARGETS.includes(target)) : name === 'baselines' ? [...BASELINE_NAMES] : [name]));
  return parseList(expanded.join(','), TARGET_NAMES, '--targets');
}

function parseList<T extends string>(text: string, allowed: readonly T[], flag: string): T[] {
  const names = [...new Set(text.split(',').map((s) => s.trim()).filter(Boolean))];
  for (const name of names) if (!(allowed as readonly string[]).includes(name)) throw new Error(`${flag}: unknown '${name}' (one of ${allowed.join(', ')})`);
  // Keep the canonical order, so tables always list targets and scenarios the same way.
  return allowed.filter((name) => names.includes(name));
}
