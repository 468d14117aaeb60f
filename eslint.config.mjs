import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const infrastructure = ['@nestjs/*', 'typeorm', 'typeorm/*', 'pg', 'kafkajs', '@electric-sql/*', '@kurrent/*'];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '.data/**', 'jest.config.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // The package's CommonJS bin launchers.
    files: ['bin/**/*.js'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', __dirname: 'readonly', process: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // Domain code is pure: no framework, no persistence, no transport.
    files: ['apps/*/src/domain/**/*.ts', 'libs/contracts/**/*.ts', 'libs/statistics/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: infrastructure, message: 'Domain code must stay free of frameworks and I/O.' },
            { group: ['**/application/**', '**/infrastructure/**', '**/api/**'], message: 'Domain must not depend on outer layers.' },
          ],
        },
      ],
    },
  },
);
