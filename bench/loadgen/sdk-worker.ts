import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { benchScript } from '../lib/paths.js';
import { type CoreLayout, requirePid, spawnNode, stopProcess } from '../lib/processes.js';
import type { CountsResult, OpenResult, RecoveryResult, SdkWorkerCommand, SdkWorkerReply } from './sdk-protocol.js';

type Body<C> = C extends SdkWorkerCommand ? Omit<C, 'id'> : never;

/** The orchestrator's handle on one SDK worker process (on the load cores). */
export class SdkWorker {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();

  private constructor(readonly process: ChildProcess) {
    process.on('message', (reply: SdkWorkerReply) => {
      const entry = this.pending.get(reply.id);
      if (!entry) return;
      this.pending.delete(reply.id);
      if (reply.ok) entry.resolve(reply.result);
      else entry.reject(new Error(`SDK worker: ${reply.error}`));
    });
    // A send racing the worker's exit must not crash the harness: the call is rejected instead.
    process.on('error', () => undefined);
    process.once('exit', (code, signal) => {
      for (const entry of this.pending.values()) entry.reject(new Error(`SDK worker exited (${code ?? signal})`));
      this.pending.clear();
    });
  }

  static start(layout: CoreLayout, dir: string, name: string): SdkWorker {
    return new SdkWorker(spawnNode(benchScript('loadgen/sdk.worker.js'), [], { cpus: layout.loadCpus, layout, logFile: join(dir, `${name}.log`), ipc: true }));
  }

  get pid(): number {
    return requirePid(this.process, 'SDK worker');
  }

  open(body: Omit<Body<Extract<SdkWorkerCommand, { cmd: 'open' }>>, 'cmd'>): Promise<OpenResult> {
    return this.call({ cmd: 'open', ...body }) as Promise<OpenResult>;
  }

  async arm(): Promise<void> {
    await this.call({ cmd: 'arm' });
  }

  recovery(): Promise<RecoveryResult> {
    return this.call({ cmd: 'recovery' }) as Promise<RecoveryResult>;
  }

  counts(): Promise<CountsResult> {
    return this.call({ cmd: 'counts' }) as Promise<CountsResult>;
  }

  async stop(): Promise<void> {
    if (this.process.exitCode !== null || this.process.signalCode !== null) return;
    await this.call({ cmd: 'close' }).catch(() => undefined);
    await stopProcess(this.process, 2_000);
  }

  private call(body: Body<SdkWorkerCommand>): Promise<unknown> {
    const id = this.nextId++;
    if (!this.process.connected) return Promise.reject(new Error('the SDK worker has exited'));
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.process.send({ ...body, id });
    });
  }
}
