/* global URL */
// Builds @tradewire/publisher: one ESM entry (dist/index.js and its bundled .d.ts) with what it uses of libs/contracts
// (the gateway's validators) and libs/redis (the account log's append script) inlined; the broker clients stay
// dependencies.
import { fileURLToPath } from 'node:url';
import { build } from 'tsdown';

const publisherDir = fileURLToPath(new URL('.', import.meta.url));
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

await build({
  cwd: publisherDir,
  entry: { index: 'index.ts' },
  format: 'esm',
  platform: 'node',
  target: 'node20',
  outDir: 'dist',
  clean: true,
  tsconfig: `${repoRoot}tsconfig.json`,
  dts: { tsconfig: `${repoRoot}tsconfig.json` },
  sourcemap: true,
  fixedExtension: false,
  deps: { neverBundle: ['@nats-io/jetstream', '@nats-io/transport-node', 'ioredis'] },
  checks: { pluginTimings: false },
  logLevel: 'warn',
  config: false,
});
