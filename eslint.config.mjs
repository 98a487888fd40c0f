// @ts-check
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'coverage/', 'node_modules/', 'spec/.tmp/', 'reports/', '.stryker-tmp/', 'spec/support/doc-globals.d.ts'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // `import x = require()` is how lib/ loads CommonJS modules without an interop helper.
      '@typescript-eslint/no-require-imports': ['error', { allowAsImport: true }],
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      // `() => void list.push(x)` and `return next()` are idioms here, not confusion.
      '@typescript-eslint/no-confusing-void-expression': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      // `void promise` is no handler: a discarded promise must end in one (issue 9).
      '@typescript-eslint/no-floating-promises': ['error', { ignoreVoid: false }],
    },
  },
  {
    files: ['**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { ...tseslint.configs.disableTypeChecked.languageOptions, globals: globals.node },
  },
  {
    // A preload for spec processes (spec/support/clock-shift.cjs): plain CommonJS.
    files: ['**/*.cjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { ...tseslint.configs.disableTypeChecked.languageOptions, sourceType: 'commonjs', globals: globals.node },
    rules: { ...tseslint.configs.disableTypeChecked.rules, '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // The dashboard page's script runs in the browser, as plain JavaScript.
    files: ['lib/dashboard/assets/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { ...tseslint.configs.disableTypeChecked.languageOptions, sourceType: 'script', globals: globals.browser },
  },
  {
    // Type tests touch values only to have them type-checked.
    files: ['spec/types/**'],
    // Type tests call functions only to check what compiles; nothing runs them.
    rules: { '@typescript-eslint/no-meaningless-void-operator': 'off', '@typescript-eslint/no-floating-promises': 'off' },
  },
  {
    files: ['spec/**/*.ts'],
    rules: {
      // mocha's describe/it return values are not promises to await.
      '@typescript-eslint/no-floating-promises': 'off',
      // Specs wait on conditions (spec/support/wait.ts's until), never on the clock: a fixed wait is
      // too short on a busy machine and too long on a quiet one. A component that is itself defined by
      // time (a slow listener, a trickling client, a window to let pass) uses tick() with a reason.
      'no-restricted-syntax': [
        'error',
        { selector: "CallExpression[callee.name='tick']", message: 'A fixed wait in a spec: wait on the condition with until(), or say why time itself is under test (eslint-disable-next-line … -- why).' },
        { selector: "NewExpression[callee.name='Promise'] CallExpression[callee.name='setTimeout']", message: 'A hand-made sleep in a spec: use until() from spec/support/wait.ts.' },
        { selector: "ImportDeclaration[source.value=/timers\\/promises$/]", message: 'A timer-based wait in a spec: use until() from spec/support/wait.ts.' },
      ],
    },
  },
  {
    files: ['spec/support/wait.ts'],
    rules: { 'no-restricted-syntax': 'off' },
  },
);
