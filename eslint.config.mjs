import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '.data/**', 'portal/dist/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      // The composition root loads adapters lazily with require() to keep cold starts small.
      '@typescript-eslint/no-require-imports': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'off',
    },
  },
  {
    // Tests read arbitrary JSON answers from the API and assert on their shape.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // The portal: plain ES modules for the browser, served as they are (no bundler).
    files: ['portal/**/*.js'],
    languageOptions: {
      sourceType: 'module',
      globals: {
        window: 'readonly', document: 'readonly', navigator: 'readonly', location: 'readonly', fetch: 'readonly', URL: 'readonly',
        URLSearchParams: 'readonly', Blob: 'readonly', XMLHttpRequest: 'readonly', Node: 'readonly', atob: 'readonly', btoa: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', BroadcastChannel: 'readonly', HashChangeEvent: 'readonly', console: 'readonly',
      },
    },
  },
  {
    files: ['bin/**/*.js', 'scripts/**/*.js', '*.js', '*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', module: 'writable', process: 'readonly', __dirname: 'readonly', console: 'readonly' } },
  },
);
