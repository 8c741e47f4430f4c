// ESM resolve hook, registered by register.mjs (runs on the loader thread).
import { pathToFileURL } from 'node:url';
import { isRedirected, typescript5Path } from './rule.mjs';

export async function resolve(specifier, context, nextResolve) {
  const from = context.parentURL;
  if (from && isRedirected(specifier, from)) {
    return nextResolve(pathToFileURL(typescript5Path(specifier)).href, context);
  }
  return nextResolve(specifier, context);
}
