// Docker's `filters` query parameter: a JSON object of key -> values, in
// either the map form {"status": {"running": true}} or the legacy list form
// {"status": ["running"]}.
import { BadRequestError } from '../errors.js';
import { tryCompileRe2 } from '../util/regex.js';

export type FilterArgs = Map<string, string[]>;

export function parseFilters(raw: string | null | undefined): FilterArgs {
  const out: FilterArgs = new Map();
  if (!raw) return out;
  let obj: unknown;
  try { obj = JSON.parse(raw); } catch (e) { throw new BadRequestError(`invalid filter: ${(e as Error).message}`); }
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) throw new BadRequestError('invalid filter: expected a JSON object');
  // dockerd (filters.FromJSON) takes a map of booleans or a list of strings
  // per key; anything else in a value is an error, not a filter that
  // matches nothing. (dockerd also refuses the two forms mixed in one
  // object; accepted here, as before.)
  for (const [k, v] of Object.entries(obj as Record<string, unknown>)) {
    if (v === null) out.set(k, []);
    else if (Array.isArray(v) && v.every((s) => typeof s === 'string')) out.set(k, v as string[]);
    else if (typeof v === 'object' && !Array.isArray(v) && Object.values(v).every((b) => b === null || typeof b === 'boolean')) {
      out.set(k, Object.entries(v as Record<string, unknown>).filter(([, b]) => b).map(([s]) => s));
    } else throw new BadRequestError(`invalid filter: value of "${k}" must be a list of strings or a map of booleans`);
  }
  return out;
}

export function validateKeys(args: FilterArgs, allowed: ReadonlySet<string>): void {
  for (const k of args.keys()) if (!allowed.has(k)) throw new BadRequestError(`invalid filter '${k}'`);
}

/**
 * Docker's Args.Match: exact, or the value used as an (unanchored) regular
 * expression. The regex is RE2 (linear time), as dockerd itself uses Go's
 * regexp here; compiled patterns are cached, so `ps --filter name=x` over
 * 30,000 containers compiles once. An invalid or over-long pattern matches
 * nothing, as dockerd skips a value that does not compile.
 */
export function matchAny(values: string[], source: string): boolean {
  return matcherOf(values)(source);
}

/** matchAny with the patterns looked up once, for one test over many sources (a `ps` walk). */
export function matcherOf(values: readonly string[]): (source: string) => boolean {
  const tests = values.map((v) => { const re = tryCompileRe2(v); return (s: string): boolean => v === s || (!!re && re.test(s)); });
  return tests.length === 1 ? tests[0] : (s) => tests.some((t) => t(s));
}

/** Docker's label filter: every "key" or "key=value" given must be present. */
export function matchLabels(values: string[], labels: Readonly<Record<string, string>> | undefined): boolean {
  const l = labels ?? {};
  for (const v of values) {
    const i = v.indexOf('=');
    if (i < 0) { if (!(v in l)) return false; }
    else if (l[v.slice(0, i)] !== v.slice(i + 1)) return false;
  }
  return true;
}

/** `node=` filter: the node's name (exact or regex, as Docker matches), ID or address. */
export function nodeMatches(values: readonly string[], node: { name: string; id: string; addr: string }): boolean {
  return matchAny(values as string[], node.name) || values.includes(node.id) || values.includes(node.addr);
}
