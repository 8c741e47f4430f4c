// Tear down a cluster from its state.json in a separate process. Test helpers
// spawn this from a process 'exit' hook, where no async work can run.
// Usage: node dist/src/devcluster/reap.js <stateDir>
import { spawn } from 'node:child_process';
import { teardownState } from './engines.js';
import { readState } from './state.js';
import { removeStateDir } from './util.js';

/** Start a detached reaper for stateDir; returns at once. */
export function spawnReaper(stateDir: string): void {
  try {
    const child = spawn(process.execPath, [__filename, stateDir], { detached: true, stdio: 'ignore' });
    child.unref();
  } catch {
    /* best effort: the next run with this stateDir cleans leftovers too */
  }
}

export async function reap(stateDir: string): Promise<boolean> {
  const st = readState(stateDir);
  if (!st) {
    removeStateDir(stateDir);
    return false;
  }
  await teardownState(st);
  return true;
}

if (require.main === module) {
  const dir = process.argv[2];
  if (!dir) {
    process.stderr.write('usage: reap.js <stateDir>\n');
    process.exit(2);
  }
  reap(dir).catch((err: Error) => {
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  });
}
