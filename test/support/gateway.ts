import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { io, type Manager, type Socket } from 'socket.io-client';
import type { AckResponse, ClientToServer, Namespace, RequestAnswer, RequestPayload, RequestsOf, ServerToClientEvents, WelcomePayload, WireError } from '#libs/contracts';
import { freePort, ManagedProcess, waitFor } from './processes.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const TEST_SECRET = 'test-secret-that-is-at-least-32-characters-long';

/** One record of a gateway's audit trail (docs/operations.md, "Audit trail"). */
export type AuditLine = Record<string, unknown> & { kind: string; ts: number; node: string };

/** Every test gateway audits to a file of its own here (unless a test sets AUDIT_LOG), read by `auditRecords()`. */
let auditDir: string | undefined;
let auditFiles = 0;
function nextAuditFile(): string {
  if (!auditDir) {
    const dir = mkdtempSync(join(tmpdir(), 'tradewire-audit-'));
    auditDir = dir;
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  return join(auditDir, `audit-${process.pid}-${++auditFiles}.jsonl`);
}

/** The file an AUDIT_LOG value names, as the gateway reads it; undefined for off, stdout and stderr. */
function auditFileOf(value: string): string | undefined {
  if (value === 'off' || value === 'stdout' || value === 'stderr') return undefined;
  const path = value.startsWith('file:') ? value.slice('file:'.length) : value;
  return isAbsolute(path) ? path : resolve(repoRoot, path);
}

/** The real gateway (dist/src/main.js, built by `npm test`) as a child process, exactly as it runs in production. */
export class GatewayProcess {
  /** The audit trail as it stood when the gateway stopped (its file is then removed, when it was the default one). */
  private auditAtStop: string | undefined;

  private constructor(
    readonly port: number,
    readonly process: ManagedProcess,
    /** Where this gateway's audit trail is written, when it is a file. */
    readonly auditFile: string | undefined,
    private readonly ownsAuditFile: boolean,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** `port`: a given one, e.g. to restart a gateway where its clients will look for it; else a free one. */
  static async start(env: Record<string, string> = {}, options: { waitReady?: boolean; port?: number } = {}): Promise<GatewayProcess> {
    const port = options.port ?? (await freePort());
    const ownsAuditFile = env.AUDIT_LOG === undefined;
    const auditLog = env.AUDIT_LOG ?? nextAuditFile();
    const child = spawn(process.execPath, ['dist/src/main.js'], {
      cwd: repoRoot,
      env: {
        PATH: process.env.PATH ?? '',
        NODE_ENV: 'test',
        PORT: String(port),
        LOG_LEVEL: 'warn',
        JWT_SECRET: TEST_SECRET,
        SIMULATOR: 'off',
        DRAIN_DELAY_MS: '300',
        NODE_ID: `test-${port}`,
        AUDIT_LOG: auditLog,
        ...env,
      },
      stdio: 'pipe',
    });
    const gateway = new GatewayProcess(port, new ManagedProcess(child), auditFileOf(auditLog), ownsAuditFile);
    if (options.waitReady !== false) {
      try {
        await waitFor(`gateway on ${port} ready`, async () => {
          if (!gateway.process.running) throw new Error(`gateway exited:\n${gateway.process.output}`);
          const response = await fetch(`${gateway.url}/health/ready`);
          return response.status === 200 ? true : undefined;
        });
      } catch (error) {
        await gateway.stop();
        throw new Error(`${String(error)}\n--- gateway output ---\n${gateway.process.output}`);
      }
    }
    return gateway;
  }

  async stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    const exit = await this.process.stop('SIGTERM');
    if (this.auditFile && this.auditAtStop === undefined) {
      this.auditAtStop = readAudit(this.auditFile);
      if (this.ownsAuditFile) rmSync(this.auditFile, { force: true });
    }
    return exit;
  }

  /** The records of this gateway's audit trail so far (after `stop()`: all of them), in the order written. */
  auditRecords(): AuditLine[] {
    if (!this.auditFile) throw new Error('this gateway does not audit to a file');
    const text = this.auditAtStop ?? readAudit(this.auditFile);
    return text
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as AuditLine);
  }

  /** Waits until the audit trail holds a record that `match` accepts; returns it. */
  async audited(match: (record: AuditLine) => boolean, what = 'audit record', timeoutMs = 5_000): Promise<AuditLine> {
    return waitFor(what, () => this.auditRecords().find(match), timeoutMs);
  }

  /**
   * Waits until the gateway has printed a line matching `pattern`. Its output comes through a pipe, apart from its
   * HTTP and socket answers: a line written before an answer may still be read after it.
   */
  async printed(pattern: string | RegExp, timeoutMs = 5_000): Promise<void> {
    const matches = () => (typeof pattern === 'string' ? this.process.output.includes(pattern) : pattern.test(this.process.output));
    await waitFor(`gateway output ${String(pattern)}`, () => (matches() ? true : undefined), timeoutMs);
  }

  async metrics(): Promise<string> {
    return (await fetch(`${this.url}/metrics`)).text();
  }

  /** The value of one sample of the Prometheus exposition, 0 when absent. */
  async metric(name: string, labels: Record<string, string> = {}): Promise<number> {
    const text = await this.metrics();
    for (const line of text.split('\n')) {
      if (!line.startsWith(name)) continue;
      const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line);
      if (!match || match[1] !== name) continue;
      const present = Object.fromEntries([...(match[3] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
      if (Object.entries(labels).every(([k, v]) => present[k] === v)) return Number(match[4]);
    }
    return 0;
  }
}

/**
 * A client socket of namespace N: what it listens to is the server's events, what it emits the namespace's requests
 * (the contract's map, libs/contracts `NamespaceRequests`). `request(socket, event, payload)` is checked against it.
 */
export type NamespaceSocket<N extends Namespace = Namespace> = Socket<ServerToClientEvents, ClientToServer<N>> & { readonly [namespaceOf]: N };
/**
 * A type-only brand (no such property exists): it carries the namespace for `request` to infer, and keeps a plain
 * socket.io-client `Socket` (whose events are untyped) from passing for a namespace's socket.
 */
declare const namespaceOf: unique symbol;

export interface ConnectedClient<N extends Namespace = Namespace> {
  socket: NamespaceSocket<N>;
  welcome: WelcomePayload;
}

export function connectClient<N extends Namespace>(baseUrl: string, namespace: N, options: Parameters<typeof io>[1] = {}): Promise<ConnectedClient<N>> {
  const socket = io(`${baseUrl}${namespace}`, { transports: ['websocket'], reconnection: false, forceNew: true, ...options }) as NamespaceSocket<N>;
  return new Promise((resolve, reject) => {
    socket.once('welcome', (welcome: WelcomePayload) => resolve({ socket, welcome }));
    socket.once('connect_error', (error: Error & { data?: WireError }) => {
      socket.close();
      reject(error);
    });
  });
}

/** A socket of namespace N on a shared manager (one connection multiplexing namespaces, as the SDK does). */
export function managerSocket<N extends Namespace>(manager: Manager, namespace: N, options: Parameters<Manager['socket']>[1] = {}): NamespaceSocket<N> {
  return manager.socket(namespace, options) as NamespaceSocket<N>;
}

/**
 * The same socket, untyped: for what the contract's types rule out on purpose (a request without an ack, a malformed
 * payload in a bad-input test).
 */
export function unchecked(socket: NamespaceSocket): Socket {
  return socket;
}

/** Connects expecting a refusal; resolves with `connect_error`'s message and data. */
export async function expectRefused(baseUrl: string, namespace: Namespace, options: Parameters<typeof io>[1] = {}): Promise<{ message: string; data: WireError }> {
  try {
    const { socket } = await connectClient(baseUrl, namespace, options);
    socket.close();
  } catch (error) {
    const e = error as Error & { data?: WireError };
    return { message: e.message, data: e.data as WireError };
  }
  throw new Error('handshake was accepted');
}

/**
 * A request typed by the socket's namespace: the event must be one of its requests, the payload that request's, and
 * the answer is that request's (libs/contracts `NamespaceRequests`). A wrong one does not compile.
 */
export function request<N extends Namespace, E extends keyof RequestsOf<N> & string>(
  socket: NamespaceSocket<N>,
  event: E,
  payload: RequestPayload<RequestsOf<N>, E>,
  timeoutMs = 5_000,
): Promise<AckResponse<RequestAnswer<RequestsOf<N>, E>>> {
  return requestRaw(socket, event, payload, timeoutMs);
}

/**
 * The escape hatch for bad-input tests: sends whatever it is given (a malformed payload, an event the namespace does
 * not serve), unchecked. The answer's type is the caller's claim (`unknown` unless given); the gateway's validation,
 * not the compiler, is what such a test exercises.
 */
export function requestRaw<Answer = unknown>(socket: Socket | NamespaceSocket, event: string, payload?: unknown, timeoutMs = 5_000): Promise<AckResponse<Answer>> {
  return (socket as Socket).timeout(timeoutMs).emitWithAck(event, payload) as Promise<AckResponse<Answer>>;
}

/** Collects every payload of `event` on `socket` from now on. */
export function collect<T>(socket: Socket, event: string): T[] {
  const items: T[] = [];
  socket.on(event, (payload: T) => items.push(payload));
  return items;
}

export function nextEvent<T>(socket: Socket, event: string, timeoutMs = 5_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} within ${timeoutMs} ms`)), timeoutMs);
    socket.once(event, (payload: T) => {
      clearTimeout(timer);
      resolve(payload);
    });
  });
}

export { sleep } from './polling.js';

function readAudit(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw error;
  }
}
