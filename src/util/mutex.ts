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

/** Runs at most `n` of the given calls at once; the rest wait their turn in order. */
export function limiter(n: number): <T>(f: () => Promise<T>) => Promise<T> {
  let free = n;
  const waiting: Array<() => void> = [];
  return async <T>(f: () => Promise<T>): Promise<T> => {
    if (free > 0) free--;
    else await new Promise<void>((resolve) => waiting.push(resolve));
    try {
      return await f();
    } finally {
      const next = waiting.shift();
      if (next) next(); else free++;
    }
  };
}
