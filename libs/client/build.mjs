/* global URL, console, process */
// Builds @tradewire/client: the ESM package (dist/index.js, dist/react.js and their bundled .d.ts, with what they use
// of libs/contracts inlined), then measures the browser bundle of the core (minified, socket.io-client left out,
// gzipped) and fails the build above the budget.
import { readFile, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'tsdown';

const clientDir = fileURLToPath(new URL('.', import.meta.url));
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const BUDGET_BYTES = 15 * 1024;

const common = {
  cwd: clientDir,
  format: 'esm',
  tsconfig: `${repoRoot}tsconfig.json`,
  deps: { neverBundle: ['socket.io-client', 'react'] },
  checks: { pluginTimings: false },
  logLevel: 'warn',
  config: false,
};

await build({
  ...common,
  entry: { index: 'index.ts', react: 'react.ts' },
  platform: 'neutral',
  target: 'es2022',
  outDir: 'dist',
  clean: true,
  dts: { tsconfig: `${repoRoot}tsconfig.json` },
  sourcemap: true,
});

const sizeDir = `${clientDir}.size-check`;
await build({
  ...common,
  entry: { core: 'index.ts' },
  platform: 'browser',
  target: 'es2020',
  outDir: sizeDir,
  clean: true,
  dts: false,
  minify: true,
});
const minified = await readFile(`${sizeDir}/core.js`);
await rm(sizeDir, { recursive: true, force: true });
const gzipped = gzipSync(minified, { level: 9 }).length;
const kb = (bytes) => `${(bytes / 1024).toFixed(1)} KB`;
console.log(`@tradewire/client core, browser bundle without socket.io-client: ${kb(minified.length)} min, ${kb(gzipped)} min+gzip (budget ${kb(BUDGET_BYTES)})`);
if (gzipped > BUDGET_BYTES) {
  console.error(`@tradewire/client: the core bundle is over its budget of ${kb(BUDGET_BYTES)} min+gzip`);
  process.exit(1);
}
