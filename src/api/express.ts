// Express, loaded on first use: it and body-parser are ~0.14 s of module
// loading that a manager need not spend before it listens, since the hot
// reads (routes marked `plain`) never touch it (docs/performance.md).
import type { Express } from 'express';

let lib: typeof import('express') | undefined;

/** A new Express application with the settings every handler pair uses. */
export function newExpressApp(): Express {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  lib ??= require('express') as typeof import('express');
  const app = lib();
  app.disable('x-powered-by');
  app.disable('etag');
  return app;
}

/** `make()` on first call, then the same value. */
export function onFirstUse<T>(make: () => T): () => T {
  let made: T | undefined;
  return () => (made ??= make());
}
