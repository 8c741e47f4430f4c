// Long-running commands (manage, token-server) stop the same way: on the
// first SIGINT or SIGTERM, log it, stop, and exit 0 when stopped or after a grace time.
import { log } from '../log.js';

export function exitOnSignal(stop: () => Promise<unknown>, graceMs: number): void {
  let stopping = false;
  const shutdown = (sig: string): void => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down', { signal: sig });
    stop().finally(() => process.exit(0));
    setTimeout(() => process.exit(0), graceMs).unref();
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}
