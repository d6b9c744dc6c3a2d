import { fileURLToPath } from 'node:url';
import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

const libsRoot = fileURLToPath(new URL('./libs/', import.meta.url));

export default defineConfig({
  // SWC compiles the TypeScript under test with legacy decorators and their metadata (`emitDecoratorMetadata`, which
  // esbuild does not emit), so Nest's injection works in unit tests of decorated classes exactly as in the built app.
  plugins: [
    swc.vite({
      jsc: {
        parser: { syntax: 'typescript', decorators: true, tsx: true },
        transform: { legacyDecorator: true, decoratorMetadata: true, react: { runtime: 'automatic' } },
        target: 'es2022',
        keepClassNames: true,
      },
    }),
  ],
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
