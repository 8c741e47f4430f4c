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
const CONTROL_RE = /[\u0000-\u001f\u007f]/;

const compiled = new WeakMap<Expr, Re2>();

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

function compile(value: string, limits: Readonly<RegexLimits>): Re2 {
  // `/regex/`: an unanchored RE2 search, like Go's regexp.MatchString
  // (inline flags such as `(?i)` work as in classic Swarm).
  if (isRegexValue(value)) return compileRe2(value.slice(1, -1), '', limits);
  // Glob: only `*` is special; the rest is used as a regex, as classic does.
  return compileRe2('^' + value.split('*').join('.*') + '$', 'i', limits);
}

function regexOf(expr: Expr): Re2 {
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
  const list = typeof candidate === 'string' ? [candidate] : candidate;
  const any = list.some((c) => re.test(c));
  return expr.op === '==' ? any : !any;
}
