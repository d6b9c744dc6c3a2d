import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism } from 'node:os';
import { sleep } from './clock.js';
import { PROJECT_ROOT } from './paths.js';

/**
 * Where processes run. The server under test gets core 0 to itself; everything that makes load (client workers, the
 * engine publisher, nats-server) shares the other cores, so a figure for the server is not inflated by its own load
 * generator stealing cycles — and a load side that saturates shows up in its own CPU figure instead.
 */
export interface CoreLayout {
  pinned: boolean;
  serverCpus: string;
  loadCpus: string;
  cores: number;
  /** Cores the load side may use: a saturated load side means the figures measure the bench, not the server. */
  loadCoreCount: number;
}

/** `pin` false (`--no-pin`): nothing is pinned, as on a machine without taskset. */
export function coreLayout(pin = true): CoreLayout {
  const cores = availableParallelism();
  const pinned = pin && cores >= 2 && hasTaskset();
  return {
    pinned,
    cores,
    serverCpus: '0',
    loadCpus: cores > 2 ? `1-${cores - 1}` : '1',
    loadCoreCount: pinned ? cores - 1 : cores,
  };
}

/** Moves this process (all its threads) to the load CPUs, so that the orchestrator never runs on the server's core. */
export function pinSelfToLoadCpus(layout: CoreLayout): void {
  if (layout.pinned) execFileSync('taskset', ['-a', '-p', '-c', layout.loadCpus, String(process.pid)], { stdio: 'ignore' });
}

function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export interface SpawnOptions {
  /** A taskset CPU list; ignored when pinning is not available. */
  cpus?: string;
  layout: CoreLayout;
  env?: NodeJS.ProcessEnv;
  /** stdout and stderr are appended to this file. */
  logFile: string;
  /** Open a Node IPC channel (the child must be a Node script). */
  ipc?: boolean;
  /** Working directory; the project root by default, where the gateway resolves its relative paths from. */
  cwd?: string;
}

/** Every child this process started, so that none outlives the run however it ends. */
const liveChildren = new Set<ChildProcess>();

export function spawnProcess(command: string, args: string[], options: SpawnOptions): ChildProcess {
  const log = openSync(options.logFile, 'a');
  // taskset execs the command in place, so the pid we get is the command's own pid (what /proc sampling needs),
  // and an IPC descriptor passes through the exec untouched.
  const [file, argv] =
    options.cpus && options.layout.pinned ? ['taskset', ['-c', options.cpus, command, ...args]] : [command, args];
  const child = spawn(file, argv, {
    cwd: options.cwd ?? PROJECT_ROOT,
    env: options.env ?? process.env,
    stdio: options.ipc ? ['ignore', log, log, 'ipc'] : ['ignore', log, log],
  });
  closeSync(log);
  liveChildren.add(child);
  child.once('exit', () => liveChildren.delete(child));
  return child;
}

export function spawnNode(script: string, args: string[], options: SpawnOptions, nodeArgs: string[] = []): ChildProcess {
  return spawnProcess(process.execPath, [...nodeArgs, script, ...args], options);
}

/** Sends `signal`, then SIGKILL if the process has not exited within `graceMs`. */
export async function stopProcess(child: ChildProcess, graceMs = 5_000, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

export function killAllChildren(): void {
  for (const child of liveChildren) child.kill('SIGKILL');
  liveChildren.clear();
}

export function requirePid(child: ChildProcess, what: string): number {
  if (child.pid === undefined) throw new Error(`${what} did not start`);
  return child.pid;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Polls `url` until it answers 200; fails early, with the log's tail, when the process dies first. */
export async function waitForHttpOk(url: string, child: ChildProcess, logFile: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`process exited (${child.exitCode ?? child.signalCode}) before ${url} was ready:\n${logTail(logFile)}`);
    }
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1_000) });
      await response.body?.cancel();
      if (response.status === 200) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`${url} not ready after ${timeoutMs} ms:\n${logTail(logFile)}`);
}

export function logTail(logFile: string, lines = 20): string {
  try {
    return readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
