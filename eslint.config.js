// ESLint: catches bugs, not layout (Prettier owns layout; see .prettierrc.json). Run by `npm run lint` and .ci/run.
//
// Base: ESLint's and typescript-eslint's `recommended` sets (syntax-only), plus a hand-picked set of type-aware
// rules that find real async and typing bugs. The whole `recommendedTypeChecked` set cost 1.6 times the CPU of
// this config on this tree, and its extra findings were ~250 no-unsafe-* reports on JSON.parse results in tests
// and `new Array(n)`, none a bug, so it is not used wholesale.
import { defineConfig } from 'eslint/config';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { fileURLToPath } from 'node:url';

const nodeGlobals = ['process', 'console', 'Buffer', 'URL', 'setTimeout', 'clearTimeout', 'setImmediate'];

export default defineConfig(
  {
    // Build output, the generated API reference, compiled eBPF objects with their C sources, captures.
    ignores: [
      'dist/**',
      'node_modules/**',
      'tmp/**',
      'examples/**',
      'test/fixtures/**',
      'test/**/fixtures/**',
      'docs/api/**',
    ],
  },
  {
    linterOptions: { reportUnusedDisableDirectives: 'error' },
  },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: fileURLToPath(new URL('.', import.meta.url)) },
    },
    rules: {
      // Type-aware rules that catch bugs. Each needs the type checker, so each is chosen, not inherited.
      // A promise nobody awaits loses its rejection (an unhandled rejection kills node). node:test's
      // test()/describe() return promises the runner itself tracks, so they are exempt.
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite', 'before', 'after'] },
          ],
        },
      ],
      // An async function passed where a void callback is expected (an EventEmitter listener, forEach)
      // has its rejection dropped on the floor.
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      // `return promise` inside try/catch skips the catch when the promise rejects (autofixed).
      '@typescript-eslint/return-await': ['error', 'in-try-catch'],
      '@typescript-eslint/prefer-promise-reject-errors': 'error',
      // Throwing a non-Error loses the stack and breaks `instanceof BpfkitError` at the CLI boundary.
      '@typescript-eslint/only-throw-error': 'error',
      // `${obj}` printing "[object Object]" in a user-facing message.
      '@typescript-eslint/no-base-to-string': 'error',
      '@typescript-eslint/no-implied-eval': 'error',
      // An `as` that changes nothing hides the places where a cast does matter (autofixed).
      '@typescript-eslint/no-unnecessary-type-assertion': 'error',
      // A switch over a union or enum that forgets a member (default: counts as handling the rest).
      '@typescript-eslint/switch-exhaustiveness-check': [
        'error',
        { considerDefaultExhaustiveForUnions: true, requireDefaultForNonUnion: false },
      ],
    },
  },
  {
    // The plain-JS launchers (bin/, scripts/, tools/) and ESM consumers run under node, outside tsconfig.
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    languageOptions: { globals: Object.fromEntries(nodeGlobals.map((name) => [name, 'readonly'])) },
  },
  {
    rules: {
      // Bugs, syntax-only.
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      'no-fallthrough': 'error',
      'no-self-compare': 'error',
      'no-template-curly-in-string': 'error',
      'no-unreachable-loop': 'error',
      'no-constant-binary-expression': 'error',
      'array-callback-return': 'error',
      'no-unused-private-class-members': 'error',
      'no-shadow-restricted-names': 'error',
      'default-case-last': 'error',
      radix: 'error',
      // `catch {}` is how this code says "best effort" (cleanup, probing); other empty blocks are suspicious.
      'no-empty': ['error', { allowEmptyCatch: true }],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true },
      ],
    },
  },
  {
    // Tests read the JSON that outside oracles print (llvm-readelf, bpftool, tshark); typing every shape
    // would add nothing the assertions do not already check.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // House rules (ARCHITECTURE.md): syscalls only in src/kernel, and no import the compiler cannot see.
    files: ['src/**/*.ts'],
    ignores: ['src/kernel/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        { paths: [{ name: 'koffi', message: 'FFI and syscalls live in src/kernel only.' }] },
      ],
    },
  },
  {
    files: ['src/**/*.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: 'ImportExpression[source.type!="Literal"]',
          message:
            'No import(variable) in src/: import statically or pass the module in, so the compiler sees the dependency.',
        },
      ],
    },
  },
);
