import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installPackedPackage, repoRoot, run, typeCheckConsumer } from './support/packed-package.js';

const publisherDir = join(repoRoot, 'libs/publisher');

/**
 * `npm pack` of libs/publisher installs into an empty project, imports in Node and type-checks: the package stands
 * alone (the gateway's validators from libs/contracts and the log script from libs/redis are bundled). No registry:
 * the broker clients come from this checkout as local packages.
 */
describe('@tradewire/publisher as a package', () => {
  let consumer: string;

  beforeAll(async () => {
    const installed = await installPackedPackage(publisherDir, ['@nats-io/jetstream', '@nats-io/transport-node', 'ioredis']);
    consumer = installed.consumer;
    expect(installed.files.filter((path) => !path.startsWith('dist/')).sort()).toEqual(['README.md', 'package.json']);
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
    expect(await typeCheckConsumer(consumer)).toBe('');
  }, 60_000);
});
