// Classic Swarm's placement expressions: `<key><op><value>`, e.g.
// `storage==ssd`, `node!=/node-[12]/`, `image==~redis*`.
import { BadRequestError } from '../errors.js';
import { compileRe2, USER_REGEX_LIMITS, type Re2, type RegexLimits } from '../util/regex.js';

export interface Expr {
  key: string;
  op: '==' | '!=';
  /** Value with the soft marker (`~`) removed. */
  value: string;
  /** `~` prefix: honoured on the first scheduling pass only. */
  soft: boolean;
  /** The expression exactly as given. */
  raw: string;
}

const KEY_RE = /^[a-z_][a-z0-9\-_.]+$/i;
// Control characters never belong in an expression (they would end up in labels).
// eslint-disable-next-line no-control-regex -- matching them is the point
const CONTROL_RE = /[\u0000-\u001f\u007f]/;

/** What an expression's value matches with. */
interface Matcher {
  test(s: string): boolean;
}

const compiled = new WeakMap<Expr, Matcher>();

/**
 * Parse one expression. `kind` ("constraint", "affinity", "whitelist") only
 * names the expression in the error: `invalid constraint expression: foo`.
 * Values are matched with RE2 (linear time); a value whose pattern is over
 * `limits` (USER_REGEX_LIMITS unless the caller built the expression from
 * trusted data) is invalid like any malformed one.
 */
export function parseExpr(s: string, kind?: string, limits: Readonly<RegexLimits> = USER_REGEX_LIMITS): Expr {
  const fail = (): never => {
    throw new BadRequestError(`invalid ${kind ? kind + ' ' : ''}expression: ${s}`);
  };
  if (typeof s !== 'string') fail();
  // Classic looks for "==" anywhere first, then "!=", and splits on the first hit.
  let op: '==' | '!=';
  if (s.includes('==')) op = '==';
  else if (s.includes('!=')) op = '!=';
  else return fail();
  const at = s.indexOf(op);
  const key = s.slice(0, at);
  let value = s.slice(at + 2);
  if (!KEY_RE.test(key)) fail();
  const soft = value.startsWith('~');
  if (soft) value = value.slice(1);
  if (value === '' || CONTROL_RE.test(value)) fail();
  const expr: Expr = { key, op, value, soft, raw: s };
  try {
    compiled.set(expr, compile(value, limits));
  } catch {
    fail();
  }
  return expr;
}

/** Parse a list; the first invalid entry throws. */
export function parseExprs(list: readonly string[], kind?: string): Expr[] {
  return list.map((s) => parseExpr(s, kind));
}

/** `key op value` without the soft marker, as classic prints it. */
export function formatExpr(e: Expr): string {
  return `${e.key}${e.op}${e.value}`;
}

export function hasSoft(exprs: readonly Expr[]): boolean {
  return exprs.some((e) => e.soft);
}

/** True when `value` is a `/regex/` rather than a glob. */
export function isRegexValue(value: string): boolean {
  return value.length >= 2 && value.startsWith('/') && value.endsWith('/');
}

function compile(value: string, limits: Readonly<RegexLimits>): Matcher {
  // `/regex/`: an unanchored RE2 search, like Go's regexp.MatchString
  // (inline flags such as `(?i)` work as in classic Swarm).
  if (isRegexValue(value)) return compileRe2(value.slice(1, -1), '', limits);
  // Glob: only `*` is special; the rest is used as a regex, as classic does.
  const re = compileRe2('^' + value.split('*').join('.*') + '$', 'i', limits);
  return asciiGlob(value, re) ?? re;
}

// Most glob values use no regex syntax but `*` and `.` (`node-1`, `ssd`,
// `nginx:1.25`, `ubuntu*`). Affinities test them against every container of
// every node and one RE2 call costs ~0.3 µs, so such globs are matched
// directly on ASCII candidates (same result, a few times faster); anything
// else, and any non-ASCII character met (Unicode case folding, a `.`
// matching a surrogate pair), goes to RE2.
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;
const OTHER_SYNTAX = /[\\+?()|[\]{}^$]/;

function asciiGlob(value: string, re: Re2): Matcher | undefined {
  if (!PRINTABLE_ASCII.test(value) || OTHER_SYNTAX.test(value)) return undefined;
  const segs = value.toLowerCase().split('*');
  const first = segs[0];
  const last = segs[segs.length - 1];
  const middle = segs.slice(1, -1);
  // Every pattern character but `*` takes at least one UTF-16 unit.
  const minLen = segs.reduce((n, seg) => n + seg.length, 0);
  const dots = (value.match(/\./g) ?? []).length;
  if (segs.length === 1) {
    return {
      test(s: string): boolean {
        const n = s.length;
        if (n < minLen) return false;
        // Longer only if `.`s matched surrogate pairs (two units each).
        if (n > minLen) return n - minLen <= dots && !isAscii(s) ? re.test(s) : false;
        const hit = segmentAt(first, s, 0);
        return hit === BAIL ? re.test(s) : hit;
      },
    };
  }
  return {
    test(s: string): boolean {
      const n = s.length;
      if (n < minLen) return false;
      // Most candidates fail on the fixed prefix; an ASCII mismatch there is final.
      const head = segmentAt(first, s, 0);
      if (head === false) return false;
      // Non-ASCII, or a newline (`.*` does not cross one): RE2 decides.
      if (head === BAIL || NOT_PLAIN.test(s)) return re.test(s);
      const lower = s.toLowerCase();
      const end = n - last.length;
      let pos = first.length;
      // Leftmost placement of each fixed-length segment is optimal.
      for (const seg of middle) {
        const at = find(seg, lower, pos, end);
        if (at < 0) return false;
        pos = at + seg.length;
      }
      return end >= pos && segmentAt(last, lower, end) === true;
    },
  };
}

// Anything but ASCII without a newline.
// eslint-disable-next-line no-control-regex -- a character class over all of ASCII
const NOT_PLAIN = /[^\x00-\x09\x0b-\x7f]/;

/** First position >= from where lower-case `seg` matches ASCII `lower`, ending by `end`; -1 if none. */
function find(seg: string, lower: string, from: number, end: number): number {
  if (!seg.includes('.')) {
    const at = lower.indexOf(seg, from);
    return at >= 0 && at + seg.length <= end ? at : -1;
  }
  for (let at = from; at + seg.length <= end; at++) if (segmentAt(seg, lower, at) === true) return at;
  return -1;
}

const BAIL = 2;

/** Does lower-case `seg` (`.` = any character) match `s` at `at`? BAIL on a non-ASCII character. */
function segmentAt(seg: string, s: string, at: number): boolean | typeof BAIL {
  for (let i = 0; i < seg.length; i++) {
    let c = s.charCodeAt(at + i);
    if (c > 0x7f) return BAIL;
    const w = seg.charCodeAt(i);
    if (w === 0x2e /* . */) {
      if (c === 0x0a) return false;
      continue;
    }
    if (c >= 0x41 && c <= 0x5a) c += 0x20;
    if (c !== w) return false;
  }
  return true;
}

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

function regexOf(expr: Expr): Matcher {
  let re = compiled.get(expr);
  if (!re) {
    // Expressions built by hand (not via parseExpr): compile on first use.
    re = compile(expr.value, USER_REGEX_LIMITS);
    compiled.set(expr, re);
  }
  return re;
}

/**
 * `==`: some candidate matches. `!=`: no candidate matches (so an empty
 * candidate list, e.g. a missing label, satisfies `!=`).
 */
export function matchExpr(expr: Expr, candidate: string | readonly string[]): boolean {
  const re = regexOf(expr);
  const any = typeof candidate === 'string' ? re.test(candidate) : candidate.some((c) => re.test(c));
  return expr.op === '==' ? any : !any;
}

/**
 * The lower-cased value when `expr`'s pattern is a plain word: a glob of
 * printable ASCII without `*`, `.` or other regex syntax. Such a pattern
 * matches an ASCII candidate exactly when the candidate's lower-case form
 * equals this (see asciiGlob); a non-ASCII candidate can still match it by
 * Unicode case folding, which only the pattern's own test decides.
 */
export function literalOf(expr: Expr): string | undefined {
  const v = expr.value;
  if (isRegexValue(v) || !PRINTABLE_ASCII.test(v) || OTHER_SYNTAX.test(v) || v.includes('*') || v.includes('.')) return undefined;
  return v.toLowerCase();
}

/**
 * Does one candidate match `expr`'s pattern (its operator left out)? For
 * loops over many candidates: the pattern is looked up once, not per call.
 */
export function patternTest(expr: Expr): (candidate: string) => boolean {
  const re = regexOf(expr);
  return (candidate) => re.test(candidate);
}
