// Pull Swarm's placement rules out of a `POST /containers/create` body.
// Like classic Swarm, rules given as `-e constraint:...` are moved into
// `com.docker.swarm.*` labels (JSON arrays), so the container itself carries
// its rules and the manager stays stateless.
import { BadRequestError } from '../errors.js';
import { parseExprs, type Expr } from './expr.js';
import { repositoryOf } from './images.js';

export const LABEL_NAMESPACE = 'com.docker.swarm';
export const CONSTRAINTS_LABEL = `${LABEL_NAMESPACE}.constraints`;
export const AFFINITIES_LABEL = `${LABEL_NAMESPACE}.affinities`;
export const WHITELISTS_LABEL = `${LABEL_NAMESPACE}.whitelists`;
export const RESCHEDULE_POLICIES_LABEL = `${LABEL_NAMESPACE}.reschedule-policies`;
/** The Swarm ID given to every container at create: the key that outlives engine IDs. */
export const SWARM_ID_LABEL = `${LABEL_NAMESPACE}.id`;

export const RESCHEDULE_POLICIES = ['off', 'on-node-failure'] as const;

export interface ExtractedRules {
  /** A copy of the input with the rule env entries stripped and labels merged. */
  body: any;
  constraints: Expr[];
  affinities: Expr[];
  whitelists: Expr[];
  reschedulePolicies: string[];
}

// Env prefix -> label, in the order classic stores them.
const SOURCES = [
  { env: 'constraint', label: CONSTRAINTS_LABEL },
  { env: 'affinity', label: AFFINITIES_LABEL },
  { env: 'whitelist', label: WHITELISTS_LABEL },
  { env: 'reschedule', label: RESCHEDULE_POLICIES_LABEL },
] as const;

/**
 * Whether a container's labels ask for `policy` (classic's
 * HasReschedulePolicy): the label's JSON array holds it. A label that does
 * not parse asks for nothing (create refuses such labels; this reads what
 * engines hold).
 */
export function hasReschedulePolicy(labels: Record<string, string> | undefined, policy = 'on-node-failure'): boolean {
  const raw = labels?.[RESCHEDULE_POLICIES_LABEL];
  if (!raw) return false;
  try {
    const list = JSON.parse(raw);
    return Array.isArray(list) && list.includes(policy);
  } catch {
    return false;
  }
}

/**
 * Whether a container's image is the `swarm` image: its manager, join and
 * token containers, which `ps` hides without -a (as classic Swarm did) and
 * rescheduling never moves or removes. Classic matched the bare name
 * `swarm[:tag]`; the same name qualified by a registry (`localhost:5000/swarm`,
 * `docker.io/library/swarm`) is the same image pushed and pulled, so it
 * counts too. Another user's `org/swarm` does not.
 */
export function isSwarmImage(image: string | undefined): boolean {
  if (!image) return false;
  const parts = repositoryOf(image).split('/');
  const first = parts[0];
  if (parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost')) parts.shift();
  const repo = parts.join('/');
  return repo === 'swarm' || repo === 'library/swarm';
}

export function extractRules(body: any): ExtractedRules {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new BadRequestError('invalid container config: expected a JSON object');
  }
  const labels: Record<string, string> =
    body.Labels && typeof body.Labels === 'object' ? { ...body.Labels } : {};

  // Labels first, then env entries appended (classic's order).
  const lists = new Map<string, string[]>();
  for (const { label } of SOURCES) lists.set(label, readLabelList(labels, label));

  let env = body.Env;
  if (env !== undefined && env !== null) {
    if (!Array.isArray(env)) throw new BadRequestError('invalid container config: Env must be an array');
    env = env.filter((e: unknown) => {
      if (typeof e !== 'string') return true;
      const colon = e.indexOf(':');
      if (colon < 0) return true;
      const src = SOURCES.find((s) => s.env === e.slice(0, colon));
      if (!src) return true;
      lists.get(src.label)!.push(e.slice(colon + 1));
      return false;
    });
  }

  let touched = false;
  for (const { label } of SOURCES) {
    const list = lists.get(label)!;
    // Classic only (re)writes a label when it has something to store.
    if (list.length > 0) {
      labels[label] = goJsonMarshal(list);
      touched = true;
    }
  }

  const out: any = { ...body };
  if (env !== undefined && env !== null) out.Env = env;
  if (touched || (body.Labels && typeof body.Labels === 'object')) out.Labels = labels;

  const reschedulePolicies = lists.get(RESCHEDULE_POLICIES_LABEL)!;
  if (reschedulePolicies.length > 1) throw new BadRequestError('too many reschedule policies');
  if (reschedulePolicies.length === 1 && !(RESCHEDULE_POLICIES as readonly string[]).includes(reschedulePolicies[0])) {
    throw new BadRequestError(`invalid reschedule policy: ${reschedulePolicies[0]}`);
  }

  return {
    body: out,
    constraints: parseExprs(lists.get(CONSTRAINTS_LABEL)!, 'constraint'),
    affinities: parseExprs(lists.get(AFFINITIES_LABEL)!, 'affinity'),
    whitelists: parseExprs(lists.get(WHITELISTS_LABEL)!, 'whitelist'),
    reschedulePolicies,
  };
}

function readLabelList(labels: Record<string, string>, label: string): string[] {
  if (!(label in labels)) return [];
  const raw = labels[label];
  let parsed: unknown;
  try {
    parsed = JSON.parse(String(raw));
  } catch {
    throw new BadRequestError(`invalid label ${label}: expected a JSON array of strings, got ${raw}`);
  }
  if (parsed === null) return [];
  if (!Array.isArray(parsed) || !parsed.every((x) => typeof x === 'string')) {
    throw new BadRequestError(`invalid label ${label}: expected a JSON array of strings, got ${raw}`);
  }
  return [...parsed];
}

/** JSON.stringify with Go's json.Marshal HTML escaping, so labels read back byte-identical. */
export function goJsonMarshal(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) =>
    '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'),
  );
}
