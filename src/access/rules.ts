// What a policy grants a user on one object. As in UCP: admins may do
// everything; an object without an access label gets the user's default; an
// object with one gets the best grant on that label over the user's teams, and
// the default does not apply to it. Ownership is the caller's business.
import { LEVELS, atLeast, maxLevel, type Level, type Policy } from './levels.js';
import { normalizeFingerprint } from './fingerprint.js';

const NO_GRANTS: ReadonlyMap<string, Level> = new Map();

/** Per policy (policies never change), each member's best grant per label: one lookup per request. */
const grantIndex = new WeakMap<Policy, ReadonlyMap<string, ReadonlyMap<string, Level>>>();

function grantsOf(p: Policy, user: string): ReadonlyMap<string, Level> {
  let index = grantIndex.get(p);
  if (!index) {
    const byUser = new Map<string, Map<string, Level>>();
    for (const team of p.teams.values()) {
      for (const m of team.members) {
        let g = byUser.get(m);
        if (!g) byUser.set(m, (g = new Map()));
        for (const [label, level] of team.grants) g.set(label, maxLevel(g.get(label) ?? 'none', level));
      }
    }
    index = byUser;
    grantIndex.set(p, index);
  }
  return index.get(user) ?? NO_GRANTS;
}

export function isAdmin(p: Policy, user: string): boolean {
  return p.admins.has(user);
}

/** The user's level on an object with access label `accessLabel` (undefined: the object has none; '' is a label no grant names). */
export function levelOn(p: Policy, user: string, accessLabel: string | undefined): Level {
  if (p.admins.has(user)) return 'full';
  if (accessLabel === undefined) return p.users.get(user)?.default ?? 'none';
  return grantsOf(p, user).get(accessLabel) ?? 'none';
}

export interface Visible {
  /** every object qualifies (an admin, or `min` is none) */
  readonly all: boolean;
  /** the access label values on which the user has at least `min` */
  readonly labels: ReadonlySet<string>;
  /** objects without an access label qualify */
  readonly unlabelled: boolean;
}

/** Which objects give `user` at least `min`, answered once to filter a listing. */
export function visibleLabels(p: Policy, user: string, min: Level): Visible {
  if (p.admins.has(user) || min === LEVELS[0]) return { all: true, labels: new Set(), unlabelled: true };
  const labels = new Set<string>();
  for (const [label, level] of grantsOf(p, user)) if (atLeast(level, min)) labels.add(label);
  return { all: false, labels, unlabelled: atLeast(p.users.get(user)?.default ?? 'none', min) };
}

/** Whether a certificate fingerprint (any accepted spelling) is revoked; an unreadable one counts as not listed. */
export function isRevoked(p: Policy, fingerprint: string): boolean {
  if (p.revoked.has(fingerprint)) return true;
  const n = normalizeFingerprint(fingerprint);
  return n !== undefined && p.revoked.has(n);
}
