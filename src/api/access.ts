// Per-user access control in the route wrapper (issue 17). The caller is the
// CN of its verified client certificate; the level it needs is the one table
// in src/access/table.ts; the level it has comes from the policy and the
// object's owner and access labels. An object the caller may not see answers
// exactly as a missing one does; one it sees with too low a level answers 403.
// Listings, events and info are filtered by their handlers with viewer().
import type http from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { ApiContext } from './context.js';
import type { AuditLog } from '../access/audit.js';
import { ACCESS_LABEL, OWNER_LABEL, ruleFor, type ObjectKind } from '../access/table.js';
import { atLeast, maxLevel, type Level, type Policy } from '../access/levels.js';
import { isAdmin, levelOn, visibleLabels } from '../access/rules.js';
import { BadRequestError, DockerError, ForbiddenError, NotFoundError, UnauthorizedError } from '../errors.js';
import { dangerousOptions, referencedObjects } from '../access/create.js';
import { withDefaultTag } from '../scheduler/images.js';
import { requestInfo } from './wrapper.js';

/** What the manager holds when --access-policy is on. */
export interface AccessControl {
  /** The policy now (a reload swaps it between two requests). */
  policy(): Policy;
  audit?: AuditLog;
  /** `repo:tag` or image ID → the user who pulled, built, committed or tagged it. */
  readonly imageOwners: Map<string, string>;
}

/** The caller of one request, with the policy it was checked against. */
export interface Caller {
  user: string;
  /** Of the certificate that identified the user (the client's, also when a replica forwarded the request). */
  fingerprint: string;
  admin: boolean;
  policy: Policy;
}

type Labels = Readonly<Record<string, string>> | null | undefined;

/** How a replica names the caller of a request it forwards to the primary. */
export const FORWARDED_USER = 'x-swarm-access-user';
export const FORWARDED_FINGERPRINT = 'x-swarm-access-fingerprint';

/**
 * On a replica: the request, about to go to the primary, names its caller
 * (checked here: certificate and revocation), whatever the client put in
 * those headers itself.
 */
export function nameCaller(ctx: ApiContext, req: http.IncomingMessage): void {
  const c = callerOf(ctx, req);
  if (!c) return;
  const raw = req.rawHeaders;
  const kept: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const k = raw[i].toLowerCase();
    if (k !== FORWARDED_USER && k !== FORWARDED_FINGERPRINT) kept.push(raw[i], raw[i + 1]);
  }
  kept.push('X-Swarm-Access-User', c.user, 'X-Swarm-Access-Fingerprint', c.fingerprint);
  raw.splice(0, raw.length, ...kept);
  req.headers[FORWARDED_USER] = c.user;
  req.headers[FORWARDED_FINGERPRINT] = c.fingerprint;
  requestInfo(req).decision = 'allowed';
  requestInfo(req).reason = 'forwarded to the primary';
}

/** A connection's certificate is read once. */
const certs = new WeakMap<object, { user: string; fingerprint: string } | null>();

function peerOf(req: http.IncomingMessage): { user: string; fingerprint: string } | null {
  const sock = req.socket as TLSSocket;
  let c = certs.get(sock);
  if (c !== undefined) return c;
  c = null;
  if (typeof sock.getPeerCertificate === 'function' && sock.authorized) {
    const p = sock.getPeerCertificate();
    const cn = p?.subject?.CN;
    const user = Array.isArray(cn) ? cn[0] : cn;
    if (user && p.fingerprint256) c = { user, fingerprint: p.fingerprint256.toUpperCase() };
  }
  certs.set(sock, c);
  return c;
}

/**
 * The caller, or 401: no verified certificate (a unix socket, plain TCP), or
 * one the policy revoked. Checked on every request, so a revocation reaches
 * connections already open at their next request.
 */
export function callerOf(ctx: ApiContext, req: http.IncomingMessage): Caller | undefined {
  const ac = ctx.access;
  if (!ac) return undefined;
  const info = requestInfo(req);
  if (info.caller) return info.caller;
  let peer = peerOf(req);
  if (!peer) { info.decision = 'refused'; throw new UnauthorizedError('access control is on: connect with a client certificate signed by the manager\'s CA (--tlsverify)'); }
  const policy = ac.policy();
  // A replica forwards with its caller's name and fingerprint: taken only from the managers the policy lists.
  const asserted = req.headers[FORWARDED_USER];
  const assertedFp = req.headers[FORWARDED_FINGERPRINT];
  if (typeof asserted === 'string' && asserted && typeof assertedFp === 'string' && policy.managers.has(peer.user)) {
    peer = { user: asserted, fingerprint: assertedFp.toUpperCase() };
  }
  info.user = peer.user;
  if (policy.revoked.has(peer.fingerprint)) {
    info.decision = 'refused';
    info.reason = 'certificate revoked';
    throw new UnauthorizedError(`the certificate of ${peer.user} has been revoked`);
  }
  info.caller = { user: peer.user, fingerprint: peer.fingerprint, admin: isAdmin(policy, peer.user), policy };
  return info.caller;
}

/** The caller's level on an object with these labels (owner: full; admins: full). */
export function levelOnLabels(c: Caller, labels: Labels): Level {
  if (c.admin) return 'full';
  if (labels?.[OWNER_LABEL] === c.user) return 'full';
  return levelOn(c.policy, c.user, labels?.[ACCESS_LABEL] || undefined);
}

/** What dockerd answers for each kind of missing object. */
export function notFound(kind: ObjectKind, ref: string): NotFoundError {
  switch (kind) {
    case 'container': return new NotFoundError(`No such container: ${ref}`);
    case 'exec': return new NotFoundError(`No such exec instance: ${ref}`);
    case 'network': return new NotFoundError(`network ${ref} not found`);
    case 'volume': return new NotFoundError(`get ${ref}: no such volume`);
    case 'image': return new NotFoundError(`No such image: ${ref}`);
  }
}

/** A container's labels; a reference not in the cache is looked up again once writes in flight settled. */
async function containerLabels(ctx: ApiContext, ref: string): Promise<{ id: string; labels: Labels } | undefined> {
  let hit = ctx.cluster.findContainer(ref);
  if (!hit) { await ctx.cluster.settle(); hit = ctx.cluster.findContainer(ref); }
  return hit ? { id: hit.container.id, labels: hit.container.summary?.Labels } : undefined;
}

/**
 * The caller's level on an image as `ref` names it: full as the recorded
 * owner of that name (one image ID may carry other users' names too); by
 * ID, as the owner of every name it carries (or of the ID itself when it
 * carries none); else its access label's.
 */
function imageLevel(ctx: ApiContext, c: Caller, facts: { id: string; labels: Labels; tags: string[] }, ref: string): Level {
  if (c.admin) return 'full';
  const owners = ctx.access!.imageOwners;
  const byId = /^(sha256:)?[0-9a-f]+$/.test(ref) && facts.id.replace(/^sha256:/, '').startsWith(ref.replace(/^sha256:/, ''));
  const owned = !byId ? owners.get(withDefaultTag(ref)) === c.user
    : facts.tags.length ? facts.tags.every((t) => owners.get(t) === c.user) : owners.get(facts.id) === c.user;
  if (owned) return 'full';
  // Images are everyone's to see and use (every listing shows them): at
  // least view, so a refusal is a 403, never a 404. Changing one needs a
  // grant on its access label, or the default for an image without one.
  return maxLevel('view', levelOn(c.policy, c.user, facts.labels?.[ACCESS_LABEL] || undefined));
}

/** The object's ID and the caller's level on it; undefined when it does not exist. */
async function resolve(ctx: ApiContext, c: Caller, kind: ObjectKind, ref: string): Promise<{ id: string; level: Level } | undefined> {
  switch (kind) {
    case 'container': {
      const hit = await containerLabels(ctx, ref);
      return hit && { id: hit.id, level: levelOnLabels(c, hit.labels) };
    }
    case 'exec': {
      const cid = ctx.cluster.execContainer(ref);
      const hit = cid === undefined ? undefined : await containerLabels(ctx, cid);
      return hit && { id: ref, level: levelOnLabels(c, hit.labels) };
    }
    case 'network': {
      const hit = ctx.cluster.networkFacts(ref);
      return hit && { id: hit.id, level: levelOnLabels(c, hit.labels) };
    }
    case 'volume': {
      const hit = ctx.cluster.volumeFacts(ref);
      return hit && { id: hit.name, level: levelOnLabels(c, hit.labels) };
    }
    case 'image': {
      const hit = ctx.cluster.imageFacts(ref);
      return hit && { id: hit.id, level: imageLevel(ctx, c, hit, ref) };
    }
  }
}

/**
 * Refuse unless the caller has `need` on the object: hidden (404, as if it
 * did not exist) below view, 403 above. Admins pass without a lookup.
 */
export async function requireLevel(ctx: ApiContext, req: http.IncomingMessage, kind: ObjectKind, ref: string, need: Level): Promise<void> {
  const c = callerOf(ctx, req);
  if (!c || c.admin) return;
  const info = requestInfo(req);
  const hit = await resolve(ctx, c, kind, ref);
  // Missing, or not visible: the same answer. An exec made elsewhere is not known here: hidden too.
  if (!hit || hit.level === 'none') {
    info.decision = 'hidden';
    info.reason = hit ? `${c.user} has no access to ${kind} ${ref}` : `no ${kind} ${ref}`;
    throw notFound(kind, ref);
  }
  info.object ??= hit.id;
  if (!atLeast(hit.level, need)) {
    info.decision = 'denied';
    info.reason = `has ${hit.level}, needs ${need}`;
    throw new ForbiddenError(`access denied: ${c.user} needs ${need} on ${kind} ${ref}`);
  }
}

/**
 * The wrapper's check, before any handler runs (plain, Express and hijack
 * paths alike). `params` are the route's decoded captures.
 */
export async function guard(ctx: ApiContext, req: http.IncomingMessage, route: string, params: string[]): Promise<void> {
  const c = callerOf(ctx, req);
  if (!c) return;
  const info = requestInfo(req);
  if (c.admin) { info.decision = 'allowed'; return; }
  const rule = ruleFor(route, req.method ?? '', params[1] ?? '');
  if (!rule || rule.kind === 'admin') {
    info.decision = 'denied';
    info.reason = 'admins only';
    throw new ForbiddenError(`access denied: ${c.user} needs admin for ${route}`);
  }
  if (rule.kind === 'object') await requireLevel(ctx, req, rule.object, params[0], rule.level);
  info.decision = 'allowed';
}

/** Sets of labels cached per policy object and user: a listing tests each item in O(1). */
const views = new WeakMap<Policy, Map<string, (labels: Labels) => boolean>>();

/**
 * Whether the caller sees an object with these labels (at least view), or
 * undefined when it sees everything (no access control, or an admin).
 */
export function viewer(ctx: ApiContext, req: http.IncomingMessage): ((labels: Labels) => boolean) | undefined {
  const c = callerOf(ctx, req);
  if (!c || c.admin) return undefined;
  let byUser = views.get(c.policy);
  if (!byUser) views.set(c.policy, (byUser = new Map()));
  let f = byUser.get(c.user);
  if (!f) {
    const v = visibleLabels(c.policy, c.user, 'view');
    const user = c.user;
    f = (labels) => {
      if (!labels) return v.unlabelled;
      if (labels[OWNER_LABEL] === user) return true;
      const l = labels[ACCESS_LABEL];
      return l ? v.labels.has(l) : v.unlabelled;
    };
    byUser.set(c.user, f);
  }
  return f;
}

/**
 * A create's checks, on the body the manager parsed and will forward: the
 * owner label is the caller (only admins may name another owner); the
 * access label needs restricted, or full with options that reach past the
 * container (400 naming each); every container, network and volume it
 * names must be usable by the caller.
 */
export async function checkCreate(ctx: ApiContext, req: http.IncomingMessage, kind: 'container' | 'network' | 'volume', body: any): Promise<void> {
  const c = callerOf(ctx, req);
  if (!c || body === null || typeof body !== 'object') return;
  const info = requestInfo(req);
  if (body.Labels === undefined || body.Labels === null) body.Labels = {};
  // Not a map: dockerd's own 400 says so.
  if (typeof body.Labels !== 'object' || Array.isArray(body.Labels)) return;
  const labels = body.Labels as Record<string, unknown>;
  const owner = labels[OWNER_LABEL];
  if (owner !== undefined && owner !== c.user && !c.admin) {
    info.decision = 'denied';
    info.reason = 'owner label set by the client';
    throw new BadRequestError(`the label ${OWNER_LABEL} is set by the manager to the creating user (${c.user}): leave it out`);
  }
  if (owner === undefined || !c.admin) labels[OWNER_LABEL] = c.user;
  if (c.admin) return;
  const raw = labels[ACCESS_LABEL];
  const label = typeof raw === 'string' && raw !== '' ? raw : undefined;
  const level = levelOn(c.policy, c.user, label);
  const what = label === undefined ? `${kind}s without ${ACCESS_LABEL}` : `access label ${label}`;
  if (!atLeast(level, 'restricted')) {
    info.decision = 'denied';
    info.reason = `has ${level} on ${what}, needs restricted`;
    throw new ForbiddenError(`access denied: ${c.user} needs restricted on ${what}`);
  }
  if (kind !== 'container') return;
  const dangerous = dangerousOptions(body);
  if (dangerous.length && !atLeast(level, 'full')) {
    info.decision = 'denied';
    info.reason = `needs full for ${dangerous.join(', ')}`;
    throw new BadRequestError(`access denied: ${c.user} needs full on ${what} to create with ${dangerous.join(', ')}`);
  }
  const refs = referencedObjects(body);
  for (const r of refs.containers) await requireLevel(ctx, req, 'container', r, 'restricted');
  for (const r of refs.networks) await requireLevel(ctx, req, 'network', r, 'restricted');
  // A volume no node has yet is made by the engine for this container: nothing to check.
  for (const r of refs.volumes) if (ctx.cluster.volumeFacts(r)) await requireLevel(ctx, req, 'volume', r, 'restricted');
  info.decision = 'allowed';
}

/** Remember who pulled, built, committed or tagged an image name (first one wins). */
export function recordImage(ctx: ApiContext, req: http.IncomingMessage, name: string | undefined): void {
  const c = callerOf(ctx, req);
  if (!c || !name) return;
  // IDs as the cluster spells them (sha256:<hex>), names with their implied tag
  const key = /^(sha256:)?[0-9a-f]{64}$/.test(name) ? `sha256:${name.replace(/^sha256:/, '')}` : withDefaultTag(name);
  if (!ctx.access!.imageOwners.has(key)) ctx.access!.imageOwners.set(key, c.user);
}

/**
 * The prune queries that touch only what the caller owns or has full on:
 * one per way of qualifying, each the client's filters plus a label filter
 * (label filters AND, so the ways are separate calls). Undefined: the query
 * as it came (no access control, or an admin); [] : nothing to prune.
 */
export function pruneQueries(ctx: ApiContext, req: http.IncomingMessage, query: string, kind: 'container' | 'network' | 'volume' | 'image'): string[] | undefined {
  const c = callerOf(ctx, req);
  if (!c || c.admin) return undefined;
  const q = new URLSearchParams(query);
  let filters: Record<string, any> = {};
  try { filters = JSON.parse(q.get('filters') || '{}') ?? {}; } catch { return [query]; /* dockerd's 400 */ }
  const full = visibleLabels(c.policy, c.user, 'full');
  const ways: Array<[string, string]> = [];
  // images carry no owner label (owners are recorded by name): label grants only
  if (kind !== 'image') ways.push(['label', `${OWNER_LABEL}=${c.user}`]);
  for (const l of full.labels) ways.push(['label', `${ACCESS_LABEL}=${l}`]);
  if (full.unlabelled) ways.push(['label!', ACCESS_LABEL]);
  // Both filter forms dockerd takes, {"label": ["a"]} and {"label": {"a": true}}
  // (CLI 28 sends the second): one request must not mix them, dockerd refuses that.
  const mapForm = Object.values(filters).some((v) => v && typeof v === 'object' && !Array.isArray(v));
  return ways.map(([key, value]) => {
    const f = { ...filters };
    const old = f[key];
    if (Array.isArray(old)) f[key] = [...old, value];
    else if (old && typeof old === 'object') f[key] = { ...old, [value]: true };
    else f[key] = mapForm ? { [value]: true } : [value];
    q.set('filters', JSON.stringify(f));
    return '?' + q.toString();
  });
}

/** A build's steps run in containers: the host's network for them is as strong as a create's. */
export function checkBuild(ctx: ApiContext, req: http.IncomingMessage, q: URLSearchParams): void {
  const c = callerOf(ctx, req);
  if (!c || c.admin || q.get('networkmode') !== 'host') return;
  if (atLeast(levelOn(c.policy, c.user, undefined), 'full')) return;
  const info = requestInfo(req);
  info.decision = 'denied';
  info.reason = 'needs full for networkmode=host';
  throw new BadRequestError(`access denied: ${c.user} needs full to build with networkmode=host`);
}

/**
 * A name conflict names the container holding the name: when the caller may
 * not see it, the answer keeps the conflict but not the container's ID.
 */
export function hideConflictOwner(ctx: ApiContext, req: http.IncomingMessage, err: unknown): unknown {
  const c = ctx.access && callerOf(ctx, req);
  if (!c || c.admin || !(err instanceof DockerError) || err.statusCode !== 409) return err;
  const m = /by container "([0-9a-f]+)"/.exec(err.message);
  if (!m) return err;
  const hit = ctx.cluster.findContainer(m[1]);
  if (hit && levelOnLabels(c, hit.container.summary?.Labels) !== 'none') return err;
  return new DockerError(err.message.replace(m[0], 'by a container you cannot see'), 409);
}

/**
 * `docker update` may add devices (Resources carries them): as strong as a
 * create with them, so full on the container. The bytes checked are the
 * bytes forwarded; a body that is not JSON is the engine's to refuse.
 */
export async function checkUpdate(ctx: ApiContext, req: http.IncomingMessage, ref: string, raw: Buffer): Promise<void> {
  const c = callerOf(ctx, req);
  if (!c || c.admin) return;
  let body: any;
  try { body = JSON.parse(raw.toString('utf8') || '{}'); } catch { return; }
  const asked = ['Devices', 'DeviceCgroupRules', 'DeviceRequests'].filter((k) => Array.isArray(body?.[k]) && body[k].length);
  if (!asked.length) return;
  const hit = await resolve(ctx, c, 'container', ref);
  if (hit && atLeast(hit.level, 'full')) return;
  const info = requestInfo(req);
  info.decision = 'denied';
  info.reason = `needs full for ${asked.join(', ')}`;
  throw new BadRequestError(`access denied: ${c.user} needs full on container ${ref} to update with ${asked.join(', ')}`);
}
