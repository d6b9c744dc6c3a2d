/**
 * Builds the dashboard the gateway serves at `/`: the TypeScript app under `app/` bundled by esbuild (the SDK, React
 * and socket.io-client included) into `dist/dashboard/`, next to its page, stylesheet and icon. Run by `npm run build`
 * after the gateway's own compile. Everything is a file, nothing inline, so the page runs under a Content-Security-Policy
 * that allows scripts and styles from 'self' only.
 */
import { copyFileSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { DASHBOARD_DIR } from './dashboard-assets.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const appDir = join(repoRoot, 'src/dashboard/app');
const outDir = DASHBOARD_DIR;
const STATIC_FILES = ['index.html', 'style.css', 'favicon.svg'];

async function main(): Promise<void> {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const result = await build({
    entryPoints: [join(appDir, 'main.tsx')],
    outfile: join(outDir, 'app.js'),
    tsconfig: join(appDir, 'tsconfig.json'),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2022', 'chrome110', 'firefox110', 'safari16'],
    jsx: 'automatic',
    minify: true,
    sourcemap: 'linked',
    // React's production build; the bundle never reads the environment otherwise.
    define: { 'process.env.NODE_ENV': '"production"' },
    legalComments: 'linked',
    logLevel: 'warning',
    metafile: true,
  });
  for (const file of STATIC_FILES) copyFileSync(join(appDir, file), join(outDir, file));
  const bundle = readFileSync(join(outDir, 'app.js'));
  const inputs = Object.keys(result.metafile.inputs).length;
  process.stdout.write(`dashboard: app.js ${(bundle.length / 1024).toFixed(1)} KB min, ${(gzipSync(bundle).length / 1024).toFixed(1)} KB gzip (${inputs} modules)\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`dashboard build failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
