// Linear-time regular expressions for user-supplied patterns (placement
// expressions, `ps --filter name=...`). JavaScript's RegExp backtracks:
// `/^(a+)+b$/` against 31 "a"s and a "-" blocked the process for ~19 s.
// re2js is a port of RE2 (what Go's regexp and so classic Swarm and dockerd
// use): matching time is linear in the input, and the syntax is RE2's,
// inline flags like `(?i)` included.
import type { RE2JS } from 're2js';

// re2js (~1 MB RSS) is required on the first pattern compiled: most managers
// never see a regex constraint or name filter.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const re2 = (): typeof RE2JS => (require('re2js') as typeof import('re2js')).RE2JS;

export interface Re2 {
  /** Unanchored search, like Go's regexp.MatchString. */
  test(s: string): boolean;
  readonly source: string;
  /** Instructions in the compiled program: what one input character may cost. */
  readonly programSize: number;
}

export interface RegexLimits {
  /** Longest pattern accepted, in UTF-16 code units. */
  maxLength: number;
  /** Largest compiled program accepted (RE2 instructions). */
  maxProgramSize: number;
}

/**
 * Bounds for patterns that come from API clients. RE2 makes matching linear,
 * but its cost per input character grows with the program (a lazily built
 * DFA state costs O(program)), and one expression is tested against every
 * container or image name in the cluster. RE2 itself already refuses
 * repeat counts above 1000 and nesting that multiplies them past 1000.
 */
export const USER_REGEX_LIMITS: Readonly<RegexLimits> = { maxLength: 1024, maxProgramSize: 2048 };

/** For patterns the manager builds itself from trusted data (e.g. a list of node names). */
export const NO_REGEX_LIMITS: Readonly<RegexLimits> = { maxLength: Infinity, maxProgramSize: Infinity };

export class RegexError extends Error {}

// Compiled patterns by flags + source. Bounded: each entry may hold a lazily
// built DFA of up to a few MB. Map order is insertion order, so re-inserting
// on a hit makes the first key the least recently used.
const CACHE_SIZE = 128;
/** A compiled pattern, or why it does not compile. */
const cache = new Map<string, Re2 | string>();

/**
 * Compile (or fetch from the cache) an RE2 pattern. `flags` may hold "i"
 * (case-insensitive) and "s" (`.` matches a newline). Throws RegexError when
 * the pattern is invalid or over `limits`.
 */
export function compileRe2(pattern: string, flags = '', limits: Readonly<RegexLimits> = USER_REGEX_LIMITS): Re2 {
  const re = lookup(pattern, flags, limits);
  if (typeof re === 'string') throw new RegexError(re);
  return re;
}

/** compileRe2 without the throw (for hot loops): undefined when the pattern is invalid or over `limits`. */
export function tryCompileRe2(pattern: string, flags = '', limits: Readonly<RegexLimits> = USER_REGEX_LIMITS): Re2 | undefined {
  const re = lookup(pattern, flags, limits);
  return typeof re === 'string' ? undefined : re;
}

/** The compiled pattern, or why it cannot be used. */
function lookup(pattern: string, flags: string, limits: Readonly<RegexLimits>): Re2 | string {
  if (typeof pattern !== 'string') return 'pattern must be a string';
  if (pattern.length > limits.maxLength) {
    return `pattern is ${pattern.length} characters long; the limit is ${limits.maxLength}`;
  }
  const key = `${flags}\u0000${pattern}`;
  let re = cache.get(key);
  if (re) {
    cache.delete(key);
  } else {
    // Invalid patterns are remembered too: `ps --filter name=(` tests one
    // pattern against every container.
    re = build(pattern, flags);
    if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value as string);
  }
  cache.set(key, re);
  // Checked on every call: a pattern cached under looser limits stays bound by these.
  if (typeof re !== 'string' && re.programSize > limits.maxProgramSize) {
    return `pattern compiles to ${re.programSize} instructions; the limit is ${limits.maxProgramSize}`;
  }
  return re;
}

function build(pattern: string, flags: string): Re2 | string {
  let bits = 0;
  for (const f of flags) {
    if (f === 'i') bits |= re2().CASE_INSENSITIVE;
    else if (f === 's') bits |= re2().DOTALL;
    else return `unknown regex flag "${f}"`;
  }
  let compiled: RE2JS;
  try {
    compiled = re2().compile(pattern, bits);
  } catch (err) {
    return (err as Error).message;
  }
  const programSize = compiled.programSize();
  return {
    source: pattern,
    programSize,
    test: flags ? (s: string) => compiled.test(s) : literalTest(pattern) ?? ((s: string) => compiled.test(s)),
  };
}

/** A pattern that is a literal `lit`, anchored at the start (`^`) and/or the end (`$`); undefined if it is more. */
export function literalParts(pattern: string): { start: boolean; end: boolean; lit: string } | undefined {
  const start = pattern.startsWith('^');
  const end = pattern.endsWith('$') && pattern.length > (start ? 1 : 0);
  const lit = pattern.slice(start ? 1 : 0, end ? -1 : undefined);
  return NOT_LITERAL.test(lit) ? undefined : { start, end, lit };
}

/** Characters that make a pattern more than a literal (besides a leading ^ and a trailing $). */
const NOT_LITERAL = /[\\.+*?()|[\]{}^$]/;

/**
 * The same test as RE2's for a pattern that is a literal, optionally
 * anchored (`web`, `^/web$`: what `ps --filter name=` usually gets), in
 * string operations: re2js costs ~2 µs a test, which was most of a filtered
 * `ps` over 30,000 containers.
 */
export function literalTest(pattern: string): ((s: string) => boolean) | undefined {
  const parts = literalParts(pattern);
  if (!parts) return undefined;
  const { start, end, lit } = parts;
  if (start && end) return (s) => s === lit;
  if (start) return (s) => s.startsWith(lit);
  if (end) return (s) => s.endsWith(lit);
  return (s) => s.includes(lit);
}

const META = /[\\.+*?()|[\]{}^$/-]/g;

/** Escape `s` so that it matches itself literally inside an RE2 pattern. */
export function quoteRe2(s: string): string {
  return s.replace(META, '\\$&');
}
