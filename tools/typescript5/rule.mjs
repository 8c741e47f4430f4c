// Which "typescript" requests go to TypeScript 5.9, and where that is (see register.mjs).
import { createRequire } from 'node:module';

const SEP = /[\\/]/;
// This folder is the local package "typescript5" (file:tools/typescript5);
// npm installs its one dependency, typescript@5.9, in ./node_modules/typescript.
const here = createRequire(import.meta.url);

/**
 * True for "typescript" and "typescript/..." asked for by library code in some
 * node_modules: never by the project's own files, never by TypeScript itself.
 * @param {string} request
 * @param {string} from the requesting file, as a path or a file: URL
 */
export function isRedirected(request, from) {
  if (request !== 'typescript' && !request.startsWith('typescript/')) return false;
  const parts = from.split(SEP);
  const nm = parts.lastIndexOf('node_modules');
  return nm >= 0 && parts[nm + 1] !== 'typescript';
}

/**
 * The absolute path of `request` inside TypeScript 5.9.
 * @param {string} request
 */
export function typescript5Path(request) {
  return here.resolve(request);
}
