// The access policy (issue 17): who may do what, read from a YAML or JSON file.
// A request's user is the CN of its client certificate. Parsing is strict and
// every refusal names the file and line, since a typo here locks people out
// (or lets them in).
import * as fs from 'node:fs';
import { LineCounter, isAlias, isMap, isScalar, isSeq, parseDocument, type Document, type Node, type Pair } from 'yaml';
import { PolicyError } from './errors.js';
import { fingerprintProblem } from './fingerprint.js';

export { PolicyError };

export { LEVELS, isLevel, atLeast, maxLevel, type Level, type Team, type Policy } from './levels.js';
import { isLevel, type Level, type Policy, type Team } from './levels.js';

const KEYS = ['admins', 'users', 'teams', 'revoked', 'managers'] as const;
const LEVEL_LIST = 'none, view, restricted or full';
const q = (s: string): string => JSON.stringify(s);

/** Walks the YAML nodes, failing at the first problem with its line. */
class Reader {
  constructor(private readonly doc: Document, private readonly lc: LineCounter, private readonly source: string) {}

  fail(node: unknown, reason: string): never {
    const range = (node as Node | null | undefined)?.range;
    throw new PolicyError(reason, this.source, range ? this.lc.linePos(range[0]).line : undefined);
  }

  /** Aliases (`*x`) stand for what they name. */
  node(n: unknown): unknown {
    return isAlias(n) ? n.resolve(this.doc) : n;
  }

  /** A null value (`key:` with nothing, `~`, `null`) reads as an empty section. */
  isNull(n: unknown): boolean {
    return n === null || n === undefined || (isScalar(n) && n.value === null);
  }

  kind(n: unknown): string {
    if (isMap(n)) return 'a mapping';
    if (isSeq(n)) return 'a list';
    if (this.isNull(n)) return 'empty';
    return isScalar(n) ? q(String(n.source ?? n.value)) : 'something else';
  }

  /** A scalar as written: YAML would read `1234` or `true` as a number or boolean, but a name is a name. */
  text(n: unknown, what: string): string {
    n = this.node(n);
    if (isScalar(n) && n.value !== null) {
      if (typeof n.value === 'string') return n.value;
      if (typeof n.value === 'number' || typeof n.value === 'boolean' || typeof n.value === 'bigint') return n.source ?? String(n.value);
    }
    return this.fail(n, `${what} must be a string, not ${this.kind(n)}`);
  }

  /** A user or team name: a certificate CN as the manager will compare it. */
  name(n: unknown, what: string): string {
    if (this.isNull(this.node(n))) this.fail(n, `${what} cannot be empty`);
    const s = this.text(n, what);
    if (!s) this.fail(n, `${what} cannot be empty`);
    // eslint-disable-next-line no-control-regex
    if (/[\s\u0000-\u001f\u007f]/.test(s)) this.fail(n, `bad ${what} ${q(s)}: no spaces or control characters`);
    return s;
  }

  level(n: unknown, what: string): Level {
    const s = this.text(n, what);
    if (!isLevel(s)) this.fail(n, `bad level ${q(s)} for ${what}: want ${LEVEL_LIST}`);
    return s;
  }

  /** The pairs of a mapping (or none for a null section), duplicate keys refused. */
  pairs(n: unknown, what: string, want: string): Array<{ key: string; pair: Pair }> {
    n = this.node(n);
    if (this.isNull(n)) return [];
    if (!isMap(n)) this.fail(n, `${what} must be ${want}, not ${this.kind(n)}`);
    const seen = new Set<string>();
    return n.items.map((pair) => {
      const key = this.text(pair.key, `a key in ${what}`);
      if (seen.has(key)) this.fail(pair.key, `duplicate key ${q(key)} in ${what}`);
      seen.add(key);
      return { key, pair };
    });
  }

  items(n: unknown, what: string, want: string): unknown[] {
    n = this.node(n);
    if (this.isNull(n)) return [];
    if (!isSeq(n)) this.fail(n, `${what} must be ${want}, not ${this.kind(n)}`);
    return n.items;
  }

  /** Refuse keys outside `known`; returns the values by key (a missing key: undefined). */
  fields(n: unknown, what: string, want: string, known: readonly string[]): Map<string, unknown> {
    const out = new Map<string, unknown>();
    for (const { key, pair } of this.pairs(n, what, want)) {
      if (!known.includes(key)) {
        const list = known.length === 1 ? `only ${known[0]}` : `${known.slice(0, -1).join(', ')} and ${known[known.length - 1]}`;
        this.fail(pair.key, `unknown key ${q(key)} in ${what}: it takes ${list}`);
      }
      out.set(key, pair.value);
    }
    return out;
  }
}

/** Parse and check a policy; `source` names it in errors (the file). JSON is read as the YAML it also is. */
export function parsePolicy(text: string, source: string): Policy {
  const lc = new LineCounter();
  // duplicate keys are checked by Reader.pairs, which can name the key and where it is
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: false });
  if (doc.errors.length) {
    const e = doc.errors[0];
    const why = e.code === 'MULTIPLE_DOCS' ? 'a policy is one YAML document, this file has more (a second ---)' : e.message;
    throw new PolicyError(`bad YAML: ${why}`, source, lc.linePos(e.pos[0]).line);
  }
  const r: Reader = new Reader(doc, lc, source);
  const top = r.node(doc.contents);
  if (r.isNull(top)) throw new PolicyError('the policy is empty: want a mapping with admins, users, teams and revoked', source);
  if (!isMap(top)) r.fail(top, `the policy must be a mapping with admins, users, teams and revoked, not ${r.kind(top)}`);
  const seen = new Set<string>();
  for (const pair of top.items) {
    const key = r.text(pair.key, 'a top-level key');
    if (seen.has(key)) r.fail(pair.key, `duplicate key ${q(key)}`);
    seen.add(key);
    if (!(KEYS as readonly string[]).includes(key)) r.fail(pair.key, `unknown key ${q(key)}: the policy's keys are ${KEYS.join(', ')}`);
  }
  const get = (k: string): unknown => top.get(k, true);

  const admins = new Set<string>();
  for (const n of r.items(get('admins'), 'admins', 'a list of user names')) admins.add(r.name(n, 'admin name'));
  const managers = new Set<string>();
  for (const n of r.items(get('managers'), 'managers', 'a list of certificate common names')) managers.add(r.name(n, 'manager name'));

  const users = new Map<string, { default: Level }>();
  for (const { pair } of r.pairs(get('users'), 'users', 'a mapping of user names to {default: LEVEL}')) {
    const name = r.name(pair.key, 'user name');
    const what = `user ${q(name)}`;
    const f = r.fields(pair.value, what, 'a mapping {default: LEVEL}', ['default']);
    if (!f.has('default')) r.fail(pair.key, `${what} needs a default level: ${LEVEL_LIST}`);
    users.set(name, { default: r.level(f.get('default'), `${what}'s default`) });
  }

  const teams = new Map<string, Team>();
  for (const { pair } of r.pairs(get('teams'), 'teams', 'a mapping of team names to {members, grants}')) {
    const name = r.name(pair.key, 'team name');
    const what = `team ${q(name)}`;
    const f = r.fields(pair.value, what, 'a mapping {members: [USER, ...], grants: {LABEL: LEVEL}}', ['members', 'grants']);
    const members = new Set<string>();
    for (const n of r.items(f.get('members'), `${what}'s members`, 'a list of user names')) members.add(r.name(n, `member name in ${what}`));
    const grants = new Map<string, Level>();
    for (const { key, pair: g } of r.pairs(f.get('grants'), `${what}'s grants`, 'a mapping of access label values to levels')) {
      if (!key) r.fail(g.key, `${what}: an access label value cannot be empty`);
      grants.set(key, r.level(g.value, `${what} on ${q(key)}`));
    }
    teams.set(name, { members: [...members], grants });
  }

  const revoked = new Set<string>();
  for (const n of r.items(get('revoked'), 'revoked', 'a list of SHA-256 certificate fingerprints')) {
    const s = r.text(n, 'a revoked fingerprint');
    const p = fingerprintProblem(s);
    if (typeof p !== 'string') revoked.add(p.fingerprint);
    else r.fail(n, `bad fingerprint ${q(s)} in revoked: ${p}`);
  }

  return { admins, users, teams, revoked, managers, source };
}

/** The reason `fs` gave, without its code prefix and syscall suffix. */
function ioReason(e: NodeJS.ErrnoException): string {
  switch (e.code) {
    case 'ENOENT': return 'no such file';
    case 'EACCES': case 'EPERM': return 'permission denied';
    case 'EISDIR': return 'is a directory, not a file';
    default: return e.message;
  }
}

/** Read a policy file's text; failures are PolicyErrors naming the file. */
export function readPolicyText(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new PolicyError(`cannot read the access policy: ${ioReason(e as NodeJS.ErrnoException)}`, file);
  }
}

export function loadPolicy(file: string): Policy {
  return parsePolicy(readPolicyText(file), file);
}
