// ESLint flat config (`npm run lint`): eslint:recommended + typescript-eslint's
// recommended (non-type-checked) rules over src/, filters/, strategies/, test/
// and bench/ (and the few .mjs/.cjs tooling files).
//
// TypeScript 7: the build uses TypeScript 7 (package "typescript" ^7), whose npm
// package has no JavaScript compiler API, but typescript-eslint's parser needs
// one. The first import below redirects typescript-eslint's `require("typescript")`
// to TypeScript 5.9, installed as the npm alias "typescript5"; package.json's
// `overrides` ("typescript": "$typescript") lets npm accept typescript-eslint's
// peer range next to TypeScript 7. See tools/typescript5/register.mjs.
import './tools/typescript5/register.mjs';
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: ['dist/**', 'node_modules/**', 'test/fixtures/**'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      // Docker's JSON bodies are handled as `any` on purpose.
      '@typescript-eslint/no-explicit-any': 'off',
      // Unused is an error, except names that say so with a leading underscore.
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          args: 'after-used',
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          caughtErrorsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
          ignoreRestSiblings: true,
        },
      ],
    },
  },
  {
    files: ['**/*.mjs', '**/*.cjs'],
    languageOptions: { globals: globals.node },
  },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
