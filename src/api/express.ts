// Express, loaded once start-up is over (or on first use, if sooner): it and
// body-parser are ~0.14 s of module loading that a manager need not spend
// before it listens, since the hot reads (routes marked `plain`) never touch
// it (docs/performance.md).
import type { Express } from 'express';

let lib: typeof import('express') | undefined;

// eslint-disable-next-line @typescript-eslint/no-require-imports
const load = (): typeof import('express') => (lib ??= require('express') as typeof import('express'));

/**
 * Load it now, once start-up is over (engines tried once): the first write
 * (a `docker run`'s create) then does not pay the loading.
 */
export function preloadExpress(): void { load(); }

/** A new Express application with the settings every handler pair uses. */
export function newExpressApp(): Express {
  const app = load()();
  app.disable('x-powered-by');
  app.disable('etag');
  return app;
}

/** `make()` on first call, then the same value. */
export function onFirstUse<T>(make: () => T): () => T {
  let made: T | undefined;
  return () => (made ??= make());
}
