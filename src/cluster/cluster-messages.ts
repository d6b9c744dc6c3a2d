import type { WorkerIdentity } from '../config/index.js';
import type { MetricsText } from '../http/metrics-endpoint.js';

/**
 * What the primary and its workers tell each other over the cluster's IPC channel. The channel also carries Node's
 * own cluster messages and prom-client's metric requests; each side looks only at the types it knows.
 */

/** How the primary tells a worker which slot it fills (read by `workerIdentityFromEnvironment`). */
const WORKER_SLOT_ENV = 'TRADEWIRE_WORKER_SLOT';
const WORKER_GENERATION_ENV = 'TRADEWIRE_WORKER_GENERATION';

export function workerEnvironment(identity: WorkerIdentity): Record<string, string> {
  return { [WORKER_SLOT_ENV]: String(identity.slot), [WORKER_GENERATION_ENV]: String(identity.generation) };
}

/** This process's identity when the gateway's own primary forked it; undefined for any other process. */
export function workerIdentityFromEnvironment(env: NodeJS.ProcessEnv): WorkerIdentity | undefined {
  const slot = Number(env[WORKER_SLOT_ENV]);
  const generation = Number(env[WORKER_GENERATION_ENV]);
  return Number.isInteger(slot) && slot >= 1 && Number.isInteger(generation) && generation >= 0 ? { slot, generation } : undefined;
}

export type WorkerToPrimary =
  /** Ready to serve; other workers relay its sessions' requests to `relayPort` (loopback). */
  | { type: 'tradewire:worker-ready'; nodeId: string; relayPort: number }
  /** Listening on PORT: from now on, a worker that exits has died rather than failed to start. */
  | { type: 'tradewire:worker-serving' }
  /** What it holds and whether it accepts on PORT (accept-balance.ts): every 250 ms when either changed, and at once when it opens or closes its listener. */
  | { type: 'tradewire:worker-load'; connections: number; accepting: boolean }
  | { type: 'tradewire:metrics-request'; requestId: number };

export type PrimaryToWorker =
  /** Every ready worker's relay port, by slot: sent to all of them whenever a worker comes or goes. */
  | { type: 'tradewire:peers'; relayPorts: Record<string, number> }
  /** Listen on PORT now. */
  | { type: 'tradewire:serve' }
  /** Open (true) or close (false) this worker's listener on PORT, to keep the workers' connection counts level. */
  | { type: 'tradewire:accept'; accept: boolean }
  | ({ type: 'tradewire:metrics-answer'; requestId: number } & MetricsText)
  | { type: 'tradewire:metrics-failed'; requestId: number; error: string };

const WORKER_TO_PRIMARY_TYPES: ReadonlySet<string> = new Set<WorkerToPrimary['type']>(['tradewire:worker-ready', 'tradewire:worker-serving', 'tradewire:worker-load', 'tradewire:metrics-request']);
const PRIMARY_TO_WORKER_TYPES: ReadonlySet<string> = new Set<PrimaryToWorker['type']>(['tradewire:peers', 'tradewire:serve', 'tradewire:accept', 'tradewire:metrics-answer', 'tradewire:metrics-failed']);

function typeOf(message: unknown): string | undefined {
  if (typeof message !== 'object' || message === null) return undefined;
  const type = (message as { type?: unknown }).type;
  return typeof type === 'string' ? type : undefined;
}

export function isWorkerToPrimary(message: unknown): message is WorkerToPrimary {
  return WORKER_TO_PRIMARY_TYPES.has(typeOf(message) ?? '');
}

export function isPrimaryToWorker(message: unknown): message is PrimaryToWorker {
  return PRIMARY_TO_WORKER_TYPES.has(typeOf(message) ?? '');
}
