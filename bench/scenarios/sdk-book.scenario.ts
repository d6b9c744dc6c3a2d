import { sleep } from '../lib/clock.js';
import { cpuSeconds } from '../lib/proc-stats.js';
import type { CountsResult } from '../loadgen/sdk-protocol.js';
import { decimal, integer, percent } from '../report/format.js';
import type { Scenario } from './scenario.js';
import { type SdkEnv, withSdkEnv } from './sdk-env.js';

interface ClientRun {
  counts: CountsResult;
  cpuSeconds: number;
  seconds: number;
}

/**
 * What the SDK costs a Node process per market-data update: one @tradewire/client client watching B order books
 * (depth 10, no throttle) while the simulator engine publishes book deltas at R/s, against the same subscription held
 * by socket.io-client alone (receiving and decoding the same frames, nothing else). The SDK applies every update to
 * its book, checks `prevSeq` and the CRC32 checksum, and emits the book. CPU is the client process's own (/proc).
 */
export const sdkBookScenario: Scenario = {
  name: 'sdkbook',
  title: ({ sdkbook: s }) =>
    `SDK cost per book update in Node: 1 client, ${integer(s.books)} books at depth 10, engine ${integer(s.bookRate)} book deltas/s, ` +
    `${s.windowSeconds} s window; @tradewire/client against socket.io-client alone`,
  targets: ['gateway'],
  columns: [
    { key: 'sdkUpdatesPerSecond', header: 'book messages applied/s', format: integer },
    { key: 'verifiedPercent', header: 'book events verified', format: percent },
    { key: 'resyncs', header: 'resyncs', format: integer },
    { key: 'sdkCpu', header: 'SDK process CPU', format: percent },
    { key: 'sdkPerCpuSecond', header: 'SDK: messages applied and verified per CPU-s', format: integer },
    { key: 'barePerCpuSecond', header: 'socket.io-client alone per CPU-s', format: integer },
    { key: 'sdkOwnUs', header: "SDK's own µs/update", format: decimal },
  ],
  async run(context, target) {
    const sizes = context.options.profile.sdkbook;
    if (context.engineSource !== 'simulator') throw new Error('the sdkbook scenario needs the simulator engine load (book deltas)');
    return withSdkEnv(context, 'sdkbook', target, { instruments: sizes.books, replicas: 1, balanced: false, maxConnections: 10 }, async (env) => {
      const engine = env.startEngine({ quoteRate: sizes.bookRate, instruments: sizes.books, durationSeconds: 600, channels: ['book'] });
      // One after the other in the same environment, the bare client first (it warms the gateway up for both).
      const machine = env.machineLoad();
      const bare = await measureClient(env, context.jwtSecret, 'bare', sizes);
      const sdk = await measureClient(env, context.jwtSecret, 'sdk', sizes);
      await engine.stop();
      const sdkApplied = sdk.counts.bookMessages;
      const sdkPerCpu = sdkApplied / sdk.cpuSeconds;
      const barePerCpu = bare.counts.bookMessages / bare.cpuSeconds;
      const notes = [
        `socket.io-client alone: ${integer(bare.counts.bookMessages / bare.seconds)} book messages/s at ${percent((bare.cpuSeconds / bare.seconds) * 100)} CPU`,
        `the SDK emitted ${integer(sdk.counts.bookUpdates / sdk.seconds)} book events/s (one per book per frame)`,
      ];
      notes.push(`during both runs, ${machine()}`);
      if (sdk.counts.errors) notes.push(`the SDK reported ${sdk.counts.errors} errors`);
      if (sdk.counts.booksUnverified) notes.push(`${sdk.counts.booksUnverified} book updates were not verified`);
      return {
        figures: {
          sdkUpdatesPerSecond: sdkApplied / sdk.seconds,
          verifiedPercent: sdk.counts.bookUpdates ? (sdk.counts.booksVerified / sdk.counts.bookUpdates) * 100 : Number.NaN,
          resyncs: sdk.counts.resyncs,
          sdkCpu: (sdk.cpuSeconds / sdk.seconds) * 100,
          sdkPerCpuSecond: sdkPerCpu,
          barePerCpuSecond: barePerCpu,
          sdkOwnUs: (1 / sdkPerCpu - 1 / barePerCpu) * 1e6,
        },
        notes,
      };
    });
  },
};

async function measureClient(env: SdkEnv, jwtSecret: string, kind: 'sdk' | 'bare', sizes: { books: number; warmupSeconds: number; windowSeconds: number }): Promise<ClientRun> {
  const replica = env.replicas[0];
  if (!replica) throw new Error('no replica');
  const worker = env.worker(`${kind}-client`);
  try {
    await worker.open({ url: replica.baseUrl, jwtSecret, clients: [{ sub: `bench-${kind}`, instruments: env.universe.slice(0, sizes.books) }], channels: ['book'], depth: 10, ratePerSecond: 10, kind });
    await sleep(sizes.warmupSeconds * 1000);
    const countsBefore = await worker.counts();
    const cpuBefore = cpuSeconds(worker.pid);
    const startedAt = Date.now();
    await sleep(sizes.windowSeconds * 1000);
    const countsAfter = await worker.counts();
    const cpuAfter = cpuSeconds(worker.pid);
    const seconds = (Date.now() - startedAt) / 1000;
    const counts = Object.fromEntries(Object.entries(countsAfter).map(([key, value]) => [key, value - countsBefore[key as keyof CountsResult]])) as unknown as CountsResult;
    return { counts, cpuSeconds: cpuAfter - cpuBefore, seconds };
  } finally {
    await worker.stop();
  }
}
