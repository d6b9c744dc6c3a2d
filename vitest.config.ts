import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const libsRoot = fileURLToPath(new URL('./libs/', import.meta.url));

export default defineConfig({
  // Tests import only decorator-free modules (contracts, pure functions); the gateway itself runs as a built child
  // process, compiled by tsc with decorator metadata, exactly as in production.
  resolve: {
    alias: [{ find: /^#libs\/([\w-]+)$/, replacement: `${libsRoot}$1/index.ts` }],
  },
  test: {
    include: ['libs/**/*.spec.ts', 'src/**/*.spec.ts', 'bench/**/*.spec.ts', 'test/**/*.e2e-spec.ts', 'test/**/*.spec.ts'],
    environment: 'node',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // e2e files each start their own redis-server / nats-server and gateway; two workers fit the 2-core CI.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
