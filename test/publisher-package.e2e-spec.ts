import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const repoRoot = fileURLToPath(new URL('../', import.meta.url));
const publisherDir = join(repoRoot, 'libs/publisher');

/**
 * `npm pack` of libs/publisher installs into an empty project, imports in Node and type-checks: the package stands
 * alone (the gateway's validators from libs/contracts and the log script from libs/redis are bundled). No registry:
 * the broker clients come from this checkout as local packages.
 */
describe('@tradewire/publisher as a package', () => {
  let consumer: string;

  beforeAll(async () => {
    if (!existsSync(join(publisherDir, 'dist/index.js'))) throw new Error('libs/publisher/dist is missing: run `npm run build` first');
    consumer = await mkdtemp(join(tmpdir(), 'tradewire-publisher-consumer-'));
    const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', consumer], { cwd: publisherDir });
    const [packed] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
    expect(packed.files.map((f) => f.path).filter((p) => !p.startsWith('dist/')).sort()).toEqual(['README.md', 'package.json']);
    const local = (name: string) => `file:${join(repoRoot, 'node_modules', name)}`;
    await writeFile(
      join(consumer, 'package.json'),
      JSON.stringify({
        name: 'consumer',
        private: true,
        type: 'module',
        dependencies: { '@nats-io/jetstream': local('@nats-io/jetstream'), '@nats-io/transport-node': local('@nats-io/transport-node'), ioredis: local('ioredis') },
      }),
    );
    await run('npm', ['install', '--offline', '--no-audit', '--no-fund', `./${packed.filename}`], { cwd: consumer });
  }, 120_000);
  afterAll(async () => {
    if (consumer) await rm(consumer, { recursive: true, force: true });
  });

  it('imports in Node and refuses what the gateway would drop, with its validator', async () => {
    await writeFile(
      join(consumer, 'probe.mjs'),
      `import { TradewirePublisher, InvalidEventError } from '@tradewire/publisher';
const sent = [];
const publisher = new TradewirePublisher({ name: 'memory', send: (subject, event) => sent.push(subject), flush: async () => {}, close: async () => {} }, { sequenceAccountEvents: true });
publisher.quote('NASDAQ:AAPL', { bid: '1', ask: '2', bidSize: 1, askSize: 1, last: '1.5', lastSize: 1, volume: 10 });
let refused = null;
try { publisher.trade('NASDAQ:AAPL', { price: '-1', size: '1', side: 'buy', tradeId: 't' }); } catch (error) { refused = error instanceof InvalidEventError ? error.reason : String(error); }
console.log(JSON.stringify({ sent, refused, next: publisher.nextSeq('ACC-1', 'order') }));
`,
    );
    const { stdout } = await run(process.execPath, ['probe.mjs'], { cwd: consumer });
    expect(JSON.parse(stdout)).toEqual({ sent: ['md.quote.NASDAQ.AAPL'], refused: 'price is negative', next: 1 });
  });

  it('type-checks a consumer against its bundled declarations', async () => {
    const declarations = await readFile(join(consumer, 'node_modules/@tradewire/publisher/dist/index.d.ts'), 'utf8');
    expect(declarations).not.toContain('#libs/');
    await writeFile(
      join(consumer, 'consumer.ts'),
      `import { TradewirePublisher, type EngineRejection, type OrderFields } from '@tradewire/publisher';
export async function main(): Promise<void> {
  const publisher = await TradewirePublisher.connect({ nats: { servers: 'nats://127.0.0.1:4222' } }, { sequenceAccountEvents: true });
  const order: OrderFields = { orderId: 'O-1', clientOrderId: 'c-1', symbol: 'NASDAQ:AAPL', side: 'buy', type: 'limit', status: 'new', execType: 'new', quantity: '1', filledQuantity: '0', leavesQuantity: '1' };
  publisher.order('ACC-1', order);
  await publisher.onRejected((rejection: EngineRejection) => void rejection.reason, ['order']);
  // @ts-expect-error a side the contract does not have: this fails only if the declarations resolved
  publisher.trade('NASDAQ:AAPL', { price: '1', size: '1', side: 'BUYING', tradeId: 't' });
}
`,
    );
    await writeFile(
      join(consumer, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', strict: true, noEmit: true, skipLibCheck: true, types: [] }, files: ['consumer.ts'] }),
    );
    const tsc = join(repoRoot, 'node_modules/typescript/bin/tsc');
    const result = await run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: consumer }).catch((error: { stdout: string }) => ({ stdout: error.stdout, failed: true }));
    expect(result.stdout).toBe('');
  }, 60_000);
});
