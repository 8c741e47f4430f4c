// Make the lint tools load TypeScript 5.9 while the build stays on TypeScript 7.
//
// Why: the project builds with TypeScript 7 (package "typescript" ^7, the native
// Go compiler). Its npm package ships no JavaScript compiler API
// (require("typescript") gives only a version stub), but typescript-eslint's
// parser and dependency-cruiser's TypeScript extractor both `require`/`import`
// "typescript" and need that API.
//
// How:
//   - this folder is a tiny local package, "typescript5": "file:tools/typescript5"
//     in the root devDependencies, whose only dependency is typescript@~5.9.3.
//     npm installs it in tools/typescript5/node_modules/typescript, so its
//     `tsc` bin is not linked into node_modules/.bin: `npx tsc` stays TypeScript 7;
//   - package.json's scoped override {"typescript-eslint": {"typescript": "$typescript"}}
//     lets npm accept typescript-eslint's peer range (<6.1) next to TypeScript 7;
//   - this module sends every request for "typescript" or "typescript/..." made
//     by a package inside node_modules (other than TypeScript itself) to
//     TypeScript 5.9. Project files never import "typescript", and `tsc` runs in
//     its own process, so the build is untouched. Both module systems:
//       CommonJS require() (typescript-eslint, dependency-cruiser's version
//       probe) through Module._resolveFilename, and ESM import()
//       (dependency-cruiser's loader) through a module.register() hook.
//
// Loaded by eslint.config.mjs (first import) and by tools/deps.mjs (`npm run deps`).
// Drop this folder once typescript-eslint and dependency-cruiser work with TypeScript 7.
import Module, { register } from 'node:module';
import { isRedirected, typescript5Path } from './rule.mjs';

const original = Module._resolveFilename;
Module._resolveFilename = function resolveTypescript5(request, parent, ...rest) {
  const from = parent && parent.filename;
  return original.call(this, from && isRedirected(request, from) ? typescript5Path(request) : request, parent, ...rest);
};

register('./hooks.mjs', import.meta.url);
