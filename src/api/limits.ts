// Request limits of the manager's listener (docs/reliability.md "Hostile
// input" has the table and the reasons). Chosen so any Docker client is fine:
// headers up to dockerd's (Go's) 1 MiB, since the CLI's X-Registry-Auth /
// X-Registry-Config grow with every registry in its config; no limit on the
// whole request, which would cut `docker load`, build contexts and `docker cp`
// into a container; instead a timeout on the headers and one on a body that
// stops moving. Tuned (tests, odd setups) only by hidden environment
// variables, documented in docs/flags.md.
import { parseDuration } from '../util/duration.js';

export interface ApiLimits {
  /** Request line plus headers, bytes (Node's maxHeaderSize; Go's DefaultMaxHeaderBytes). */
  maxHeaderBytes: number;
  /** From the first byte of a request to the end of its headers. */
  headersTimeoutMs: number;
  /** A request body that sends nothing for this long is cut (408); 0 = never. */
  bodyIdleTimeoutMs: number;
}

export const MiB = 1024 * 1024;

export const DEFAULT_LIMITS: Readonly<ApiLimits> = {
  maxHeaderBytes: MiB,
  headersTimeoutMs: 60_000,
  bodyIdleTimeoutMs: 300_000,
};

/** The hidden knobs: environment variable → field. */
export const LIMIT_ENV: Readonly<Record<string, keyof ApiLimits>> = {
  SWARM_API_MAX_HEADER_BYTES: 'maxHeaderBytes',
  SWARM_API_HEADERS_TIMEOUT: 'headersTimeoutMs',
  SWARM_API_BODY_IDLE_TIMEOUT: 'bodyIdleTimeoutMs',
};

/**
 * The limits with any environment overrides: sizes in bytes (optionally
 * with a k/m suffix: 64k, 1m), timeouts as Go durations (5s, 500ms). Throws
 * on a value that is not one, naming the variable.
 */
export function apiLimits(env: NodeJS.ProcessEnv = process.env): ApiLimits {
  const out: ApiLimits = { ...DEFAULT_LIMITS };
  for (const [name, field] of Object.entries(LIMIT_ENV)) {
    const v = env[name];
    if (v === undefined || v === '') continue;
    try {
      out[field] = field === 'maxHeaderBytes' ? parseSize(v) : parseDuration(v);
    } catch {
      throw new Error(`invalid ${name} "${v}": expected ${field === 'maxHeaderBytes' ? 'a size (65536, 64k, 1m)' : 'a duration (5s, 500ms)'}`);
    }
  }
  if (out.maxHeaderBytes < 1024) throw new Error(`SWARM_API_MAX_HEADER_BYTES must be at least 1k, got ${out.maxHeaderBytes}`);
  if (out.headersTimeoutMs <= 0) throw new Error('SWARM_API_HEADERS_TIMEOUT must be more than 0');
  return out;
}

/** "65536", "64k", "1m" (binary units) to bytes. */
export function parseSize(s: string): number {
  const m = /^(\d+)([kKmM]?)$/.exec(s.trim());
  if (!m) throw new Error(`invalid size "${s}"`);
  const n = Number(m[1]) * (m[2] ? (m[2].toLowerCase() === 'k' ? 1024 : MiB) : 1);
  if (!Number.isSafeInteger(n)) throw new Error(`invalid size "${s}"`);
  return n;
}

/**
 * Node checks the headers timeout on a timer, not per socket: this often,
 * so a slow client is cut close to its deadline (Node's default is 30 s).
 */
export function checkingInterval(l: ApiLimits): number {
  return Math.max(100, Math.min(30_000, Math.floor(l.headersTimeoutMs / 4)));
}

/** The answer to a request Node's parser refused (clientError), Docker-style. */
export function clientErrorAnswer(code: string | undefined, l: ApiLimits): { status: number; reason: string; message: string } {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return { status: 431, reason: 'Request Header Fields Too Large', message: `request headers too large (limit ${l.maxHeaderBytes} bytes)` };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, reason: 'Request Timeout', message: `request headers not received within ${l.headersTimeoutMs / 1000}s` };
    default:
      return { status: 400, reason: 'Bad Request', message: `malformed HTTP request${code ? ` (${code})` : ''}` };
  }
}

/** The bytes of that answer: the connection is closed after it. */
export function rawAnswer(a: { status: number; reason: string; message: string }): string {
  const body = JSON.stringify({ message: a.message }) + '\n';
  return `HTTP/1.1 ${a.status} ${a.reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
}
