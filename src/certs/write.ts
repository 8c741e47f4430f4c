// Writing key material so that a crash never leaves half a file and a key is
// never readable by others, whatever the umask.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { CertError } from './errors.js';

export const KEY_MODE = 0o600;
export const CERT_MODE = 0o644;
export const DIR_MODE = 0o700;

/** Create `dir` (and missing parents) as 0700; an existing directory is left as it is. */
export function ensureDir(dir: string): void {
  try {
    fs.mkdirSync(dir, { recursive: true, mode: DIR_MODE });
  } catch (e) {
    throw new CertError(`cannot create ${dir}: ${(e as Error).message}`);
  }
  if (!fs.statSync(dir).isDirectory()) throw new CertError(`${dir} exists and is not a directory`);
}

/** Refuse, before anything is written, to replace any of `files` unless forced. */
export function refuseOverwrite(files: string[], force = false): void {
  if (force) return;
  for (const f of files) {
    if (fs.existsSync(f)) throw new CertError(`refusing to overwrite ${f}: it exists (use --force to replace it)`);
  }
}

/**
 * Write `data` (text, or bytes such as a zip) to `file` with exactly `mode`:
 * a temp file beside it, created with that mode (a key is never more open
 * than 0600, not even for a moment), chmod'ed past the umask, synced, then
 * renamed over the target.
 */
export function writeFileAtomic(file: string, data: string | Uint8Array, mode: number): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  let fd: number | undefined;
  try {
    fd = fs.openSync(tmp, 'wx', mode & KEY_MODE);
    fs.fchmodSync(fd, mode);
    fs.writeFileSync(fd, data);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(tmp, file);
  } catch (e) {
    if (fd !== undefined) fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw new CertError(`cannot write ${file}: ${(e as Error).message}`);
  }
  syncDir(path.dirname(file));
}

/** Make the rename itself durable; best effort (not every platform can fsync a directory). */
function syncDir(dir: string): void {
  try {
    const fd = fs.openSync(dir, 'r');
    try { fs.fsyncSync(fd); } finally { fs.closeSync(fd); }
  } catch {
    // nothing more to do
  }
}
