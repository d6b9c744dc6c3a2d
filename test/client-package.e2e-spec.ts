import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installPackedPackage, repoRoot, run, typeCheckConsumer } from './support/packed-package.js';

const clientDir = join(repoRoot, 'libs/client');

/**
 * `npm pack` of libs/client gives a tarball that npm installs into an empty project, and that project imports it in
 * Node and type-checks against it: the package stands alone (what it uses of libs/contracts is bundled, JS and types).
 * Tests reach no registry: the consumer takes socket.io-client and react from this checkout as local packages.
 */
describe('@tradewire/client as a package', () => {
  let consumer: string;

  beforeAll(async () => {
    const installed = await installPackedPackage(clientDir, ['socket.io-client', 'react', '@types/react']);
    consumer = installed.consumer;
    expect(installed.files.filter((path) => !path.startsWith('dist/')).sort()).toEqual(['README.md', 'package.json']);
  }, 120_000);
  afterAll(async () => {
    if (consumer) await rm(consumer, { recursive: true, force: true });
  });

  it('imports in Node: the core and the react entry', async () => {
    await writeFile(
      join(consumer, 'probe.mjs'),
      `import { TradewireClient, REFUSAL_POLICY, bookChecksum, FullJitterBackoff, InvalidArgumentError } from '@tradewire/client';
import { TradewireProvider, useQuote, useBook, useOrders, usePositions, usePortfolio, useTrades, useQuotes, useConnectionState } from '@tradewire/client/react';
const client = new TradewireClient({ url: 'http://127.0.0.1:1', getToken: () => 'token' });
let refused = null;
try { client.marketData.subscribe({ instruments: ['bad'], channels: ['quote'] }); } catch (error) { refused = error instanceof InvalidArgumentError ? error.code : String(error); }
client.close();
console.log(JSON.stringify({
  state: client.state, refused, tokenExpired: REFUSAL_POLICY.TOKEN_EXPIRED, checksum: bookChecksum([['189.53', '1200'], ['189.55', '800']], [['189.51', '100'], ['189.50', '500'], ['189.49', '1500'], ['189.47', '250']]),
  backoff: new FullJitterBackoff().ceiling(10),
  hooks: [TradewireProvider, useQuote, useBook, useOrders, usePositions, usePortfolio, useTrades, useQuotes, useConnectionState].map((f) => typeof f),
}));
`,
    );
    const { stdout } = await run(process.execPath, ['probe.mjs'], { cwd: consumer });
    expect(JSON.parse(stdout)).toEqual({
      state: 'disconnected',
      refused: 'INVALID_ARGUMENT',
      tokenExpired: 'refresh',
      checksum: 2521589819,
      backoff: 20_000,
      hooks: Array(9).fill('function'),
    });
  });

  it('type-checks a consumer against its bundled declarations', async () => {
    const declarations = await readFile(join(consumer, 'node_modules/@tradewire/client/dist/index.d.ts'), 'utf8');
    expect(declarations).not.toContain('#libs/');
    await writeFile(
      join(consumer, 'consumer.ts'),
      `import { TradewireClient, type Book, type Order, type WireError } from '@tradewire/client';
import { useBook } from '@tradewire/client/react';
const client = new TradewireClient({ url: 'https://gateway.example.com', getToken: async () => 'token' });
const md = client.marketData.subscribe({ instruments: ['NASDAQ:AAPL'], channels: ['book'], depth: 10 });
md.on('book', (book: Book) => { const checksum: number = book.checksum; const verified: boolean = book.verified; void checksum; void verified; });
client.orders.subscribe().on('order', (order: Order) => { const status: 'filled' | string = order.status; void status; });
const refusal: WireError['code'] = 'RATE_LIMITED';
// @ts-expect-error a checksum is a number: this fails only if the declarations resolved
const wrong: string = client.marketData.book('NASDAQ:AAPL')!.checksum;
void refusal; void wrong; void useBook;
void client.orders.submit({ account: 'ACC-1', instrument: 'NASDAQ:AAPL', side: 'buy', type: 'limit', quantity: '10', price: '189.50' }).then((answer) => answer.clientOrderId.length);
`,
    );
    expect(await typeCheckConsumer(consumer)).toBe('');
  }, 60_000);
});
