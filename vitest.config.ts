import { fileURLToPath } from 'node:url';
import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

const libsRoot = fileURLToPath(new URL('./libs/', import.meta.url));

export default defineConfig({
  // esbuild cannot emit decorator metadata, which Nest's DI needs: SWC compiles the TypeScript instead.
  plugins: [swc.vite({ module: { type: 'es6' } })],
  resolve: {
    alias: [{ find: /^#libs\/([\w-]+)$/, replacement: `${libsRoot}$1/index.ts` }],
  },
  test: {
    include: ['libs/**/*.spec.ts', 'src/**/*.spec.ts', 'test/**/*.e2e-spec.ts', 'test/**/*.spec.ts'],
    environment: 'node',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // e2e files each start their own redis-server / nats-server and gateway; two workers fit the 2-core CI.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
