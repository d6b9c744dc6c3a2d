import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { LocalFleet, type LocalFleetOptions, type ReplicaRestart } from './local-fleet.js';
import { ServiceProcess } from './service-process.js';

const USAGE = `A local Tradewire fleet without Docker: gateway replicas behind HAProxy (docker/haproxy.cfg, TLS with a
self-signed certificate), a throwaway redis-server and nats-server -js, and the engine simulator.

  npm run cluster [-- options]

  --replicas N          gateway replicas, one process each (default 3)
  --port P              HAProxy's plain HTTP listener (default 8080; 0: any free port)
  --tls-port P          HAProxy's TLS listener, https:// and wss:// (default 8443)
  --stats-port P        HAProxy's statistics page, /stats (default 8404)
  --replica-port P      the first replica's port; the others follow it (default 3011)
  --engine E            simulator: the engine simulator publishes market data and order activity (the default,
                        unless NATS_URL is set); none: your own engine publishes
  --rate N              the simulator's market-data events per second (default 500)
  --check-interval MS   HAProxy's readiness check interval (default docker/haproxy.cfg's 2000); the replicas'
                        drain (DRAIN_DELAY_MS) is three intervals
  --keep                keep the run directory (logs, certificate, HAProxy configuration) after stopping

  Environment: REDIS_URL and NATS_URL use those instead of throwaway servers; every other variable of the gateway
  (JWT_SECRET, LOG_LEVEL, RATE_LIMIT_* …) is passed to each replica. Without JWT_SECRET the fleet makes one and
  prints a dashboard URL with a development token.

  While it runs: SIGHUP (kill -HUP <pid>) or "restart" on stdin restarts every replica, one at a time, each drained
  and back in HAProxy's pool before the next; "status" prints HAProxy's view of each replica.
  Ctrl-C or SIGTERM stops everything (the replicas drain first); a second Ctrl-C kills at once.`;

function portOption(value: string, name: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new Error(`${name} must be a port number, not ${value}`);
  return port;
}

function positiveInteger(value: string, name: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1) throw new Error(`${name} must be a whole number ≥ 1, not ${value}`);
  return number;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      replicas: { type: 'string', default: '3' },
      port: { type: 'string', default: '8080' },
      'tls-port': { type: 'string', default: '8443' },
      'stats-port': { type: 'string', default: '8404' },
      'replica-port': { type: 'string', default: '3011' },
      engine: { type: 'string' },
      rate: { type: 'string', default: '500' },
      'check-interval': { type: 'string', default: '2000' },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const engine = values.engine ?? (process.env.NATS_URL ? 'none' : 'simulator');
  if (engine !== 'simulator' && engine !== 'none') throw new Error(`--engine must be simulator or none, not ${engine}`);
  const log = (line: string) => process.stdout.write(`cluster: ${line}\n`);

  // Every option checked before anything is started.
  const options: LocalFleetOptions = {
    replicas: positiveInteger(values.replicas, '--replicas'),
    ports: {
      http: portOption(values.port, '--port'),
      https: portOption(values['tls-port'], '--tls-port'),
      stats: portOption(values['stats-port'], '--stats-port'),
      firstReplica: portOption(values['replica-port'], '--replica-port'),
    },
    redisUrl: process.env.REDIS_URL,
    natsUrl: process.env.NATS_URL,
    engine,
    simulatorRate: positiveInteger(values.rate, '--rate'),
    healthCheck: { intervalMs: positiveInteger(values['check-interval'], '--check-interval'), fall: 2, rise: 2 },
    baseEnv: process.env,
    log,
  };
  const runDir = mkdtempSync(join(tmpdir(), 'tradewire-cluster-'));
  const removeRunDir = () => {
    if (!values.keep) rmSync(runDir, { recursive: true, force: true });
  };
  // Nothing the fleet starts may outlive it, however this process ends (but a SIGKILL of it).
  process.once('exit', () => ServiceProcess.killAll('SIGKILL'));
  // Interrupted while it starts: nothing serves clients yet, so nothing needs to drain.
  const abandonStart = () => {
    log('interrupted while starting: stopping what was started');
    ServiceProcess.killAll('SIGKILL');
    removeRunDir();
    process.exit(130);
  };
  process.once('SIGINT', abandonStart);
  process.once('SIGTERM', abandonStart);
  // A hangup would end this process without its exit handler: ignored until the fleet has started.
  const tooEarly = () => log('SIGHUP: the fleet is still starting; a rolling restart needs it started');
  process.on('SIGHUP', tooEarly);
  log('starting …');
  const fleet = await LocalFleet.start({ ...options, runDir });

  const token = fleet.dashboardToken ? `/?token=${fleet.dashboardToken}` : '/';
  const replicas = fleet.replicas.map((replica) => `${replica.name} ${replica.url} (pid ${replica.pid ?? '?'})`).join(`\n${' '.repeat(13)}`);
  // The development token goes to the terminal only, as `npm start` does.
  process.stdout.write(
    `\nTradewire fleet of ${fleet.replicas.length} replicas behind HAProxy (pid ${process.pid}).\n` +
      `  Dashboard: ${fleet.urls.https}${token}\n` +
      `             ${fleet.urls.http}${token}   (plain HTTP)\n` +
      (fleet.dashboardToken ? '' : '             (signed with your JWT_SECRET: add ?token=<a token of yours>)\n') +
      `  TLS:       a self-signed certificate for localhost and 127.0.0.1: trust it or accept the browser's warning\n` +
      `  HAProxy:   ${fleet.urls.stats}\n` +
      `  Replicas:  ${replicas}\n` +
      `  Redis:     ${fleet.redisUrl}\n  NATS:      ${fleet.natsUrl}\n` +
      `  Engine:    ${engine === 'simulator' ? `the simulator, ${values.rate} market-data events/s` : 'none started: publish into NATS yourself'}\n` +
      `  Logs:      ${fleet.runDir}${values.keep ? '' : ' (removed at stop; --keep keeps it)'}\n\n` +
      `Rolling restart: kill -HUP ${process.pid}, or type "restart". "status": HAProxy's view. Ctrl-C stops.\n\n`,
  );

  const restart = () => {
    log('rolling restart of every replica, one at a time');
    fleet.rollingRestart().then(
      (restarts: ReplicaRestart[]) => log(`rolling restart done: ${restarts.map((r) => `${r.name} ${(r.inPoolMs / 1000).toFixed(1)} s`).join(', ')}`),
      (error: unknown) => log(`rolling restart stopped: ${error instanceof Error ? error.message : String(error)}`),
    );
  };
  const status = () => {
    fleet.poolStates().then(
      (states) => log([...states].map(([name, state]) => `${name} ${state}`).join(', ')),
      (error: unknown) => log(`HAProxy's statistics cannot be read: ${String(error)}`),
    );
  };
  let stops = 0;
  const stop = (signal: string) => {
    if (++stops > 1) {
      log('killing everything now');
      fleet.kill();
      process.exit(130);
    }
    log(`${signal}: stopping (the replicas drain for ${(fleet.drainDelayMs / 1000).toFixed(1)} s; Ctrl-C again kills at once)`);
    fleet.stop().then(
      () => {
        removeRunDir();
        log('stopped');
        process.exit(0);
      },
      (error: unknown) => {
        log(`stopping failed: ${String(error)}`);
        process.exit(1);
      },
    );
  };
  process.off('SIGINT', abandonStart);
  process.off('SIGTERM', abandonStart);
  process.off('SIGHUP', tooEarly);
  process.on('SIGHUP', restart);
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  createInterface({ input: process.stdin }).on('line', (line) => {
    const command = line.trim();
    if (command === 'restart') restart();
    else if (command === 'status') status();
    else if (command !== '') log(`unknown command "${command}": restart or status`);
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`cluster failed: ${error instanceof Error ? error.message : String(error)}\n`);
  ServiceProcess.killAll('SIGKILL');
  process.exit(1);
});
