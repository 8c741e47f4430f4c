// Long-running commands (manage, token-server) stop the same way: on the
// first SIGINT or SIGTERM, log it, stop, and exit 0 when stopped or when the
// grace time is over, whichever comes first. A second signal exits at once
// (128 + the signal's number, as a shell reports a killed process).
import { log } from '../log.js';

const CODES: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };

export function exitOnSignal(stop: () => Promise<unknown>, graceMs: number): void {
  let stopping = false;
  const shutdown = (sig: string): void => {
    if (stopping) {
      log.warn('second signal: exiting now', { signal: sig });
      process.exit(CODES[sig] ?? 1);
    }
    stopping = true;
    log.info('shutting down', { signal: sig, graceMs });
    const t0 = Date.now();
    stop()
      .catch((err: unknown) => log.error('shutdown failed', { error: (err as Error)?.message ?? String(err) }))
      .finally(() => { log.info('stopped', { ms: Date.now() - t0 }); process.exit(0); });
    setTimeout(() => { log.warn('shutdown: grace time over, exiting', { graceMs }); process.exit(0); }, graceMs).unref();
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}
