// Lint: typescript-eslint's recommended rules and the import rules that keep the layers apart
// (DESIGN.md, "Layers": contracts and leaves never import the CNM objects above them).
import { createNodeResolver, importX } from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

/** The CNM object graph: these import each other on purpose, as libnetwork's root package does. */
const CNM_OBJECTS = ['controller', 'controller-options', 'network', 'endpoint', 'sandbox', 'sandbox-gateway', 'restore'].map((name) => `lib/${name}.ts`);
/** Contracts, leaves and drivers: below the CNM objects, so they never import one. */
const BELOW_THE_OBJECTS = ['lib/drivers/**', 'lib/ipam/**', 'lib/store/**', 'lib/util/**', 'lib/options.ts'];

export default tseslint.config(
  { ignores: ['dist/**', 'build/**', 'build-cmake/**', 'node_modules/**', 'bench/**', 'examples/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      // The code marks what it leaves unused with a leading underscore (and tsc checks the rest).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // A hole in an array literal is a typo, except where a test makes one on purpose (and says so).
      'no-sparse-arrays': 'error',
    },
  },
  {
    // The test runner and its fixtures are plain CommonJS scripts.
    files: ['**/*.js'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['lib/**/*.ts'],
    plugins: { 'import-x': importX },
    settings: { 'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.js', '.json', '.node'] })] },
    rules: {
      'import-x/no-restricted-paths': [
        'error',
        {
          zones: [
            {
              target: BELOW_THE_OBJECTS,
              from: CNM_OBJECTS,
              message:
                'drivers, IPAM, the store, options and utilities sit below the CNM objects: take what you need from a contract (drivers/api, ipam/types, store/records) instead',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['lib/**/*.ts'],
    ignores: CNM_OBJECTS,
    rules: { 'import-x/no-cycle': 'error' },
  },
);
