// Classic Swarm's placement expressions: `<key><op><value>`, e.g.
// `storage==ssd`, `node!=/node-[12]/`, `image==~redis*`.
import { BadRequestError } from '../errors.js';

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

const compiled = new WeakMap<Expr, RegExp>();

/**
 * Parse one expression. `kind` ("constraint", "affinity", "whitelist") only
 * names the expression in the error: `invalid constraint expression: foo`.
 */
export function parseExpr(s: string, kind?: string): Expr {
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
    compiled.set(expr, compile(value));
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

function compile(value: string): RegExp {
  if (isRegexValue(value)) {
    // Unanchored search, like Go's regexp.MatchString. JS has no inline
    // flags, so translate a leading RE2 `(?i)` into the `i` flag.
    let body = value.slice(1, -1);
    let flags = '';
    if (body.startsWith('(?i)')) {
      body = body.slice(4);
      flags = 'i';
    }
    return new RegExp(body, flags);
  }
  // Glob: only `*` is special; the rest is used as a regex, as classic does.
  return new RegExp('^' + value.split('*').join('.*') + '$', 'i');
}

function regexOf(expr: Expr): RegExp {
  let re = compiled.get(expr);
  if (!re) {
    // Expressions built by hand (not via parseExpr): compile on first use.
    re = compile(expr.value);
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
