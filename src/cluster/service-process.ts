import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export interface ServiceExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * One process of the local fleet (a replica, HAProxy, redis-server, nats-server, the simulator), its output appended
 * to a log file of its own. Each runs in a process group of its own, so that a Ctrl-C in the terminal reaches the
 * cluster alone, which then stops them in order (replicas drain before the Redis and NATS they use go away).
 */
export class ServiceProcess {
  readonly exited: Promise<ServiceExit>;
  private readonly child: ChildProcess;

  private constructor(
    readonly name: string,
    readonly logFile: string,
    command: string,
    args: readonly string[],
    options: { cwd: string; env: NodeJS.ProcessEnv },
  ) {
    const log = openSync(logFile, 'a');
    try {
      this.child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', log, log], detached: true });
    } finally {
      closeSync(log);
    }
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
    // A spawn failure (no such binary) is an exit too: `exited` resolves and `running` is false.
    this.child.once('error', () => undefined);
    ServiceProcess.live.add(this);
    void this.exited.then(() => ServiceProcess.live.delete(this));
  }

  /** Every process started and not yet exited: killed if the cluster itself exits without stopping them. */
  private static readonly live = new Set<ServiceProcess>();

  static start(name: string, logFile: string, command: string, args: readonly string[], options: { cwd: string; env: NodeJS.ProcessEnv }): ServiceProcess {
    return new ServiceProcess(name, logFile, command, args, options);
  }

  /** Last resort on the cluster's own exit: nothing it started may outlive it. Synchronous, as `exit` handlers must be. */
  static killAll(signal: NodeJS.Signals = 'SIGKILL'): void {
    for (const service of ServiceProcess.live) service.signal(signal);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.child.pid !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  signal(signal: NodeJS.Signals): void {
    if (this.running) this.child.kill(signal);
  }

  /** Sends `signal`, then SIGKILL if the process has not exited within `graceMs`. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000): Promise<ServiceExit> {
    if (!this.running) return this.exited;
    this.child.kill(signal);
    const timer = setTimeout(() => this.signal('SIGKILL'), graceMs);
    const exit = await this.exited;
    clearTimeout(timer);
    return exit;
  }

  /** The end of its log, for an error message when it failed to start. */
  logTail(lines = 30): string {
    try {
      return readFileSync(this.logFile, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  }

  /**
   * Polls `probe` until it answers true; fails if the process exits first or `timeoutMs` passes, with the end of its
   * log in the message.
   */
  async waitUntil(what: string, probe: () => Promise<boolean>, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.running) throw new Error(`${this.name} exited before ${what}:\n${this.logTail()}`);
      if (await probe().catch(() => false)) return;
      await sleep(100);
    }
    throw new Error(`${this.name}: timed out after ${timeoutMs} ms waiting for ${what}:\n${this.logTail()}`);
  }
}

/** Whether something accepts TCP connections on host:port. */
export function portAccepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    socket.setTimeout(1_000, () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.connect(port, host);
  });
}

/** Whether `url` answers 200 within a second. */
export async function answersOk(url: string): Promise<boolean> {
  const response = await fetch(url, { signal: AbortSignal.timeout(1_000) });
  await response.body?.cancel();
  return response.status === 200;
}
