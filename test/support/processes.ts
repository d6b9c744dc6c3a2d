import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 15_000, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(`timed out waiting for ${what}${lastError instanceof Error ? `: ${lastError.message}` : ''}`);
}

async function portAccepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.connect(port, '127.0.0.1');
  });
}

/** A child process with its output kept, for diagnosis when a test fails. */
export class ManagedProcess {
  output = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(readonly child: ChildProcess) {
    child.stdout?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    // 'close', not 'exit': it comes once the output pipes are drained too, so `output` is complete by then.
    this.exited = new Promise((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 10_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (!this.running) return this.exited;
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    const result = await this.exited;
    clearTimeout(timer);
    return result;
  }
}

/** A throwaway redis-server on a free port, nothing kept on disk. */
export class RedisServer {
  private constructor(
    readonly port: number,
    private process: ManagedProcess,
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(port?: number): Promise<RedisServer> {
    const chosen = port ?? (await freePort());
    const process = new ManagedProcess(spawn('redis-server', ['--port', String(chosen), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'pipe' }));
    await waitFor(`redis-server on ${chosen}`, async () => ((await portAccepts(chosen)) ? true : undefined));
    return new RedisServer(chosen, process);
  }

  async stop(): Promise<void> {
    await this.process.stop('SIGTERM');
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.startAgain();
  }

  /** After `stop()`: a fresh, empty redis-server on the same port (what a restart without persistence leaves). */
  async startAgain(): Promise<void> {
    const again = await RedisServer.start(this.port);
    this.process = again.process;
  }
}

/** A throwaway nats-server on a free port, with JetStream unless told otherwise. */
export class NatsServer {
  private constructor(
    readonly port: number,
    private process: ManagedProcess,
    private readonly storeDir: string,
    private readonly jetstream: boolean,
  ) {}

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /** Stops the server and starts it again on the same port with the same JetStream store, `downMs` later. */
  async restart(downMs = 0): Promise<void> {
    await this.process.stop('SIGTERM');
    if (downMs > 0) await new Promise((resolve) => setTimeout(resolve, downMs));
    const again = await NatsServer.start(this.port, this.storeDir, { jetstream: this.jetstream });
    this.process = again.process;
  }

  static async start(port?: number, storeDir?: string, options: { jetstream?: boolean } = {}): Promise<NatsServer> {
    const chosen = port ?? (await freePort());
    const dir = storeDir ?? mkdtempSync(join(tmpdir(), 'tradewire-nats-'));
    const jetstream = options.jetstream === false ? [] : ['-js', '-sd', dir];
    const process = new ManagedProcess(spawn('nats-server', ['-a', '127.0.0.1', '-p', String(chosen), ...jetstream], { stdio: 'pipe' }));
    await waitFor(`nats-server on ${chosen}`, async () => ((await portAccepts(chosen)) ? true : undefined));
    return new NatsServer(chosen, process, dir, options.jetstream !== false);
  }

  async stop(): Promise<void> {
    await this.process.stop('SIGTERM');
    rmSync(this.storeDir, { recursive: true, force: true });
  }
}
