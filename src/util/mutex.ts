/** Coalesces calls: while one run is in flight, further calls share the next run. */
export function coalesce(fn: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | null = null;
  let queued: Promise<void> | null = null;
  const run = (): Promise<void> => {
    if (!running) {
      running = fn().finally(() => { running = null; });
      return running;
    }
    if (!queued) {
      queued = running.catch(() => undefined).then(() => { queued = null; return run(); });
    }
    return queued;
  };
  return run;
}
