// Build-time constants the API reports.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

function pkgVersion(): string {
  for (const p of [join(__dirname, '..', 'package.json'), join(__dirname, '..', '..', 'package.json')]) {
    try { return JSON.parse(readFileSync(p, 'utf8')).version; } catch { /* try next */ }
  }
  return '0.0.0';
}

export const VERSION = pkgVersion();
/** Highest Docker API version we speak; the advertised version is min(this, every healthy engine). */
export const MAX_API_VERSION = '1.47';
/** Lowest API version we accept from clients (older clients are refused, as dockerd does). */
export const MIN_API_VERSION = '1.12';
