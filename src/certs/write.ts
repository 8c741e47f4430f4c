// Writing key material so that a crash never leaves half a file and a key is
// never readable by others, whatever the umask.
import * as fs from 'node:fs';
import { writeFileAtomic as writeAtomic } from '../util/atomicwrite.js';
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

/** Write `data` (text, or bytes such as a zip) to `file` with exactly `mode`, atomically (src/util/atomicwrite.ts). */
export function writeFileAtomic(file: string, data: string | Uint8Array, mode: number): void {
  try {
    writeAtomic(file, data, mode);
  } catch (e) {
    throw new CertError(`cannot write ${file}: ${(e as Error).message}`);
  }
}
