import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The project root, found by walking up from this compiled file to the nearest package.json, so the harness works
 * from `dist/bench/...` and wherever the checkout lives.
 */
export const PROJECT_ROOT = findProjectRoot(dirname(fileURLToPath(import.meta.url)));

/** Compiled bench entry points, next to this file's own compiled directory. */
export const BENCH_DIST = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export function benchScript(relative: string): string {
  return join(BENCH_DIST, relative);
}

function findProjectRoot(start: string): string {
  let dir = start;
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) return process.cwd();
    dir = parent;
  }
  return dir;
}
