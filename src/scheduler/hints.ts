// Placement hints: rules added to a create request from the state of the
// cluster, computed purely from node snapshots. They steer placement only:
// they change the ScheduleRequest (and, for node-local networks, the body
// sent to the engine) but are never recorded on the container's labels.
import { parseExpr, type Expr } from './expr.js';
import { imageNameSet, withDefaultTag } from './images.js';
import type { Node, NodeNetwork } from './node.js';
import type { ScheduleRequest } from './request.js';
import { NO_REGEX_LIMITS, quoteRe2 } from '../util/regex.js';
import { namedVolumes } from '../util/volumes.js';

export interface Hinted {
  request: ScheduleRequest;
  /** The create body for the engine (rewritten for `--net <node>/<network>`). */
  body: any;
}

/**
 * The hints a choice must follow: placeByNetwork, then placeByVolume (when
 * the volumes per node are given). The image preference is the scheduler's
 * to apply (Scheduler.chooseNear): it only matters when the plain choice
 * lacks the image. Pure: the inputs are never modified; what changes is
 * returned as new objects (the same objects come back when no hint applies).
 */
export function applyHints(request: ScheduleRequest, body: any, nodes: readonly Node[], volumes?: ReadonlyMap<string, readonly string[]>): Hinted {
  const byNet = placeByNetwork(request, body, nodes);
  return volumes ? { request: placeByVolume(byNet.request, byNet.body, nodes, volumes), body: byNet.body } : byNet;
}

/** Does the node have the image `ref` names (":latest" implied)? */
export function hasImage(node: Node, ref: string): boolean {
  return imageNameSet(node.images).has(withDefaultTag(ref));
}

/**
 * Classic Swarm retried a create whose image was missing on the chosen node
 * with an image affinity. Instead, prefer the nodes that have the image from
 * the start: a soft affinity `image==~<ref>` (dropped if it cannot be met),
 * added only when some, but not all, healthy nodes have the image and the
 * request has no image affinity of its own. `<ref>` gets ":latest" when it
 * names neither a tag nor a digest.
 */
export function preferNodesWithImage(request: ScheduleRequest, nodes: readonly Node[]): ScheduleRequest {
  if (!request.image || request.affinities.some((a) => a.key === 'image')) return request;
  const ref = withDefaultTag(request.image);
  let healthy = 0;
  let have = 0;
  for (const n of nodes) {
    if (!n.healthy) continue;
    healthy++;
    if (imageNameSet(n.images).has(ref)) have++;
  }
  if (have === 0 || have === healthy) return request;
  const hint = tryExpr(`image==~${ref}`, 'affinity');
  return hint ? { ...request, affinities: [...request.affinities, hint] } : request;
}

// Network modes that are never a user-defined network.
const BUILTIN_MODES = new Set(['', 'default', 'bridge', 'host', 'none']);

/**
 * A container on a node-local network must land where that network is.
 *
 * - `--net <node>/<network>` (node by name, ID or address): pins the
 *   container to that node (constraint `node==<node name>`) and rewrites the
 *   network to its bare name for the engine: HostConfig.NetworkMode and the
 *   NetworkingConfig.EndpointsConfig key. An unknown node prefix is left to
 *   the engine.
 * - `--net <network>`: limited to the healthy nodes that have a local network
 *   of that name, or whose ID starts with it (12 characters or more), when
 *   some but not all of them do (constraint `node==/^(?:a|b)$/` on names).
 */
export function placeByNetwork(request: ScheduleRequest, body: any, nodes: readonly Node[]): Hinted {
  const mode = request.networkMode;
  if (BUILTIN_MODES.has(mode) || mode.startsWith('container:')) return { request, body };

  const slash = mode.indexOf('/');
  if (slash > 0) {
    const prefix = mode.slice(0, slash);
    const node = nodes.find((n) => n.name === prefix || n.id === prefix || n.addr === prefix);
    if (!node) return { request, body };
    const pin = tryExpr(`node==${node.name}`, 'constraint');
    if (!pin) return { request, body };
    const net = mode.slice(slash + 1);
    return {
      request: { ...request, constraints: [...request.constraints, pin], networkMode: net },
      body: renameNetwork(body, mode, net),
    };
  }

  const healthy = nodes.filter((n) => n.healthy);
  const have = healthy.filter((n) => n.networks.some((net) => isLocalNetwork(net, mode)));
  if (have.length === 0 || have.length === healthy.length) return { request, body };
  const names = [...new Set(have.map((n) => quoteRe2(n.name)))].join('|');
  // Built from node names, not user input: no length bound (RE2 stays linear).
  const only = tryExpr(`node==/^(?:${names})$/`, 'constraint', true);
  return only ? { request: { ...request, constraints: [...request.constraints, only] }, body } : { request, body };
}

/**
 * A container mounting an existing named volume must land where that volume
 * is, or the engine would make a new, empty one. For each named volume that
 * some, but not all, healthy nodes have: constraint `node==/^(?:a|b)$/` on
 * those nodes (the volume names per engine address are given by the caller:
 * node snapshots do not carry volumes). A volume no node has yet is left to
 * the engine to create.
 */
export function placeByVolume(request: ScheduleRequest, body: any, nodes: readonly Node[], volumes: ReadonlyMap<string, readonly string[]>): ScheduleRequest {
  const healthy = nodes.filter((n) => n.healthy);
  const added: Expr[] = [];
  for (const vol of namedVolumes(body)) {
    const have = healthy.filter((n) => (volumes.get(n.addr) ?? []).includes(vol));
    if (have.length === 0 || have.length === healthy.length) continue;
    const names = [...new Set(have.map((n) => quoteRe2(n.name)))].join('|');
    const only = tryExpr(`node==/^(?:${names})$/`, 'constraint', true);
    if (only) added.push(only);
  }
  return added.length ? { ...request, constraints: [...request.constraints, ...added] } : request;
}

function isLocalNetwork(net: NodeNetwork, ref: string): boolean {
  return net.scope === 'local' && (net.name === ref || (ref.length >= 12 && net.id.startsWith(ref)));
}

/** `body` with network `from` renamed `to` (NetworkMode and endpoint key), as new objects. */
function renameNetwork(body: any, from: string, to: string): any {
  const out = { ...body, HostConfig: { ...(body?.HostConfig ?? {}), NetworkMode: to } };
  const eps = body?.NetworkingConfig?.EndpointsConfig;
  if (eps && typeof eps === 'object' && Object.prototype.hasOwnProperty.call(eps, from) && eps[from] !== undefined) {
    const { [from]: ep, ...rest } = eps;
    out.NetworkingConfig = { ...body.NetworkingConfig, EndpointsConfig: { ...rest, [to]: ep } };
  }
  return out;
}

/** The parsed expression, or undefined for an odd image or node name (the hint is then skipped). */
function tryExpr(s: string, kind: string, trusted = false): Expr | undefined {
  try {
    return trusted ? parseExpr(s, kind, NO_REGEX_LIMITS) : parseExpr(s, kind);
  } catch {
    return undefined;
  }
}
