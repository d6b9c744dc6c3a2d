import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { importX } from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';

/**
 * Boundaries (README, "Layout"): a library is used only through its index (`#libs/<name>`), never by a path into it,
 * and nothing under libs/ reaches into src/ (libs are shared with the SDK and between domains; src is the app).
 * `no-restricted-imports` checks the import's text, so it holds for tests too; `import-x/no-cycle` follows the resolved
 * files (through the `#libs/*` paths of tsconfig.json) and refuses import cycles, type-only ones included: a type
 * cycle is still two modules that cannot be understood apart. test/lint-boundaries.spec.ts proves each rule fails.
 */
const DEEP_LIB_IMPORT = {
  regex: '(^#libs/[\\w-]+/)|((^|/)libs/[\\w-]+/(?!index\\.js$))',
  message: 'Import a library through its index: `#libs/<name>` (README, "Layout").',
};
const SRC_FROM_LIB = {
  regex: '(^|/)src/|^\\.\\./\\.\\./src',
  message: 'libs/ must not import src/: move what both need into a library.',
};

/**
 * Which libraries each library may use: a layering, so that no two libraries depend on each other, not even by a
 * type (import-x/no-cycle follows value imports only). A lib missing here may use none.
 */
const LIB_LAYERS = {
  contracts: [],
  observability: [],
  redis: [],
  auth: ['contracts'],
  client: ['contracts'],
  licensing: ['contracts', 'observability'],
  'rate-limit': ['contracts', 'observability'],
  realtime: ['auth', 'contracts', 'licensing', 'observability', 'rate-limit', 'redis'],
  publisher: ['contracts', 'redis'],
};
const LIB_NAMES = Object.keys(LIB_LAYERS);

function libBoundaries(lib) {
  const forbidden = LIB_NAMES.filter((other) => other !== lib && !LIB_LAYERS[lib].includes(other));
  const patterns = [DEEP_LIB_IMPORT, SRC_FROM_LIB];
  if (forbidden.length > 0) {
    patterns.push({ regex: `^#libs/(${forbidden.join('|')})$`, message: `libs/${lib} may use only ${LIB_LAYERS[lib].map((l) => `#libs/${l}`).join(', ') || 'no other library'} (eslint.config.js, LIB_LAYERS).` });
  }
  return { files: [`libs/${lib}/**/*.ts`, `libs/${lib}/**/*.tsx`], ignores: ['**/*.spec.ts', '**/spec-support/**'], rules: { 'no-restricted-imports': ['error', { patterns }] } };
}

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'docker/**', 'test-artifacts/**', 'libs/client/dist/**', 'libs/publisher/dist/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { 'import-x': importX },
    settings: {
      'import-x/extensions': ['.ts', '.tsx', '.js', '.mjs'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts', '.tsx'] },
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: `${import.meta.dirname}/tsconfig.json` })],
    },
    rules: {
      // Async socket and transport handlers are where lost promises hide.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-extraneous-class': 'off',
      '@typescript-eslint/unbound-method': 'off',
      'no-restricted-imports': ['error', { patterns: [DEEP_LIB_IMPORT] }],
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
    },
  },
  {
    files: ['libs/**/*.ts', 'libs/**/*.tsx'],
    rules: { 'no-restricted-imports': ['error', { patterns: [DEEP_LIB_IMPORT, SRC_FROM_LIB] }] },
  },
  ...LIB_NAMES.map(libBoundaries),
  {
    files: ['eslint.config.js', 'libs/client/build.mjs', 'libs/publisher/build.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
  },
);
