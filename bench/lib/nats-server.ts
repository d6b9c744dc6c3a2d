import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { type CoreLayout, freePort, requirePid, spawnProcess, stopProcess, waitForHttpOk } from './processes.js';

/** A throwaway nats-server (with JetStream, which the gateway's durable account log uses) for one scenario. */
export interface NatsServer {
  url: string;
  pid: number;
  /** Slow-consumer disconnects so far: a non-zero count means some subscriber fell behind and lost messages. */
  slowConsumers(): Promise<number>;
  stop(): Promise<void>;
}

export async function startNatsServer(runDir: string, name: string, layout: CoreLayout): Promise<NatsServer> {
  const port = await freePort();
  const monitorPort = await freePort();
  const storeDir = join(runDir, `${name}.jetstream`);
  mkdirSync(storeDir, { recursive: true });
  const logFile = join(runDir, `${name}.nats.log`);
  const child = spawnProcess(
    'nats-server',
    ['-a', '127.0.0.1', '-p', String(port), '-m', String(monitorPort), '-js', '-sd', storeDir],
    { cpus: layout.loadCpus, layout, logFile },
  );
  const monitor = `http://127.0.0.1:${monitorPort}`;
  await waitForHttpOk(`${monitor}/healthz`, child, logFile, 10_000);
  return {
    url: `nats://127.0.0.1:${port}`,
    pid: requirePid(child, 'nats-server'),
    async slowConsumers() {
      try {
        const response = await fetch(`${monitor}/varz`, { signal: AbortSignal.timeout(2_000) });
        const varz = (await response.json()) as { slow_consumers?: number };
        return varz.slow_consumers ?? 0;
      } catch {
        return Number.NaN;
      }
    },
    async stop() {
      await stopProcess(child);
      rmSync(storeDir, { recursive: true, force: true });
    },
  };
}
