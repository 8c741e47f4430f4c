// Levels and the policy's shape: what the rules (./rules.ts) and the route
// wrapper need at run time, without the YAML parser (loaded only with
// --access-policy, by ./policy.ts).
/** What a user may do on an object, weakest first. */
export type Level = 'none' | 'view' | 'restricted' | 'full';
export const LEVELS: readonly Level[] = ['none', 'view', 'restricted', 'full'];

const RANK: Record<Level, number> = { none: 0, view: 1, restricted: 2, full: 3 };

export function isLevel(s: unknown): s is Level {
  return typeof s === 'string' && Object.hasOwn(RANK, s);
}

export function atLeast(have: Level, need: Level): boolean {
  return RANK[have] >= RANK[need];
}

export function maxLevel(a: Level, b: Level): Level {
  return RANK[a] >= RANK[b] ? a : b;
}

export interface Team {
  readonly members: readonly string[];
  /** access label value → level on objects carrying it */
  readonly grants: ReadonlyMap<string, Level>;
}

export interface Policy {
  readonly admins: ReadonlySet<string>;
  /**
   * The CNs of the managers' own certificates (replication): a replica
   * forwards a request with its caller's name, which the primary takes only
   * from these.
   */
  readonly managers: ReadonlySet<string>;
  /** `default`: the level on objects without an access label */
  readonly users: ReadonlyMap<string, { readonly default: Level }>;
  readonly teams: ReadonlyMap<string, Team>;
  /** SHA-256 certificate fingerprints, normalized (normalizeFingerprint) */
  readonly revoked: ReadonlySet<string>;
  /** where it came from (the file), for messages */
  readonly source: string;
}
