import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const run = promisify(execFile);
export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/**
 * `npm pack` of one of the project's packages (libs/client, libs/publisher), installed into an empty project of its
 * own: what a customer gets from the registry. No registry is reached: the package's peers come from this checkout's
 * node_modules as local packages. Answers the consumer's directory and the files the tarball held.
 */
export async function installPackedPackage(packageDir: string, localDependencies: readonly string[]): Promise<{ consumer: string; files: string[] }> {
  if (!existsSync(join(packageDir, 'dist/index.js'))) throw new Error(`${packageDir}/dist is missing: run \`npm run build\` first`);
  const consumer = await mkdtemp(join(tmpdir(), 'tradewire-consumer-'));
  const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', consumer], { cwd: packageDir });
  const [packed] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
  const dependencies = Object.fromEntries(localDependencies.map((name) => [name, `file:${join(repoRoot, 'node_modules', name)}`]));
  await writeFile(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module', dependencies }));
  await run('npm', ['install', '--offline', '--no-audit', '--no-fund', `./${packed.filename}`], { cwd: consumer });
  return { consumer, files: packed.files.map((file) => file.path) };
}

/** Type-checks `consumer.ts` of the consumer project strictly against the installed package; answers tsc's output. */
export async function typeCheckConsumer(consumer: string): Promise<string> {
  await writeFile(
    join(consumer, 'tsconfig.json'),
    JSON.stringify({ compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', strict: true, noEmit: true, skipLibCheck: true, types: [] }, files: ['consumer.ts'] }),
  );
  const tsc = join(repoRoot, 'node_modules/typescript/bin/tsc');
  const result = await run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: consumer }).catch((error: { stdout: string }) => ({ stdout: error.stdout }));
  return result.stdout;
}
