// TEMPORARY stub: replaced by wt-policy's module on merge.
export type Level = 'none' | 'view' | 'restricted' | 'full';
export const LEVELS: readonly Level[] = ['none', 'view', 'restricted', 'full'];
export const atLeast = (have: Level, need: Level): boolean => LEVELS.indexOf(have) >= LEVELS.indexOf(need);
export const maxLevel = (a: Level, b: Level): Level => (atLeast(a, b) ? a : b);
export interface Policy {
  admins: ReadonlySet<string>;
  users: ReadonlyMap<string, { default: Level }>;
  teams: ReadonlyMap<string, { members: readonly string[]; grants: ReadonlyMap<string, Level> }>;
  revoked: ReadonlySet<string>;
  source: string;
}
export function isAdmin(p: Policy, user: string): boolean { return p.admins.has(user); }
export function levelOn(p: Policy, user: string, label: string | undefined): Level {
  if (p.admins.has(user)) return 'full';
  if (label === undefined) return p.users.get(user)?.default ?? 'none';
  let l: Level = 'none';
  for (const t of p.teams.values()) if (t.members.includes(user)) l = maxLevel(l, t.grants.get(label) ?? 'none');
  return l;
}
export function visibleLabels(p: Policy, user: string, min: Level): { all: boolean; labels: ReadonlySet<string>; unlabelled: boolean } {
  const labels = new Set<string>();
  for (const t of p.teams.values()) if (t.members.includes(user)) for (const [k, v] of t.grants) if (atLeast(v, min)) labels.add(k);
  return { all: p.admins.has(user), labels, unlabelled: atLeast(levelOn(p, user, undefined), min) };
}
