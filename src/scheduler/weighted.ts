// Classic Swarm's node weighting (scheduler/strategy/weighted_node.go),
// shared by the strategies: spread and binpack rank by it, random keeps the
// nodes with room.
import type { Node } from './node.js';
import type { ScheduleRequest } from './request.js';
import { SchedulingError } from '../errors.js';
import { NO_RESOURCES } from './strategy.js';

export interface WeightedNode {
  node: Node;
  weight: number;
}

/**
 * Does the node have room? Nodes smaller than the request are skipped, and
 * cpu% / mem% = (used + req) * 100 / total must stay <= 100 (integer
 * division, as classic: up to <1% over the total still fits).
 */
export function scores(req: ScheduleRequest, node: Node): { cpu: number; memory: number } | undefined {
  if (node.totalMemory < req.memory || node.totalCpus < req.cpus) return undefined;
  const cpu = req.cpus > 0 ? percent(node.usedCpus + req.cpus, node.totalCpus) : 100;
  const memory = req.memory > 0 ? percent(node.usedMemory + req.memory, node.totalMemory) : 100;
  if (cpu > 100 || memory > 100) return undefined;
  return { cpu, memory };
}

export function hasRoom(req: ScheduleRequest, node: Node): boolean {
  return scores(req, node) !== undefined;
}

/** weight = cpu% + mem% + healthFactor * healthIndicator; throws when no node has room. */
export function weighNodes(req: ScheduleRequest, nodes: readonly Node[], healthFactor: number): WeightedNode[] {
  const out: WeightedNode[] = [];
  for (const node of nodes) {
    const w = weigh(req, node, healthFactor);
    if (w) out.push(w);
  }
  if (out.length === 0) throw new SchedulingError(NO_RESOURCES);
  return out;
}

/** The least of `weighNodes` by `order`, without sorting them all; throws when no node has room. */
export function bestWeighed(req: ScheduleRequest, nodes: readonly Node[], healthFactor: number, order: (a: WeightedNode, b: WeightedNode) => number): Node {
  let best: WeightedNode | undefined;
  for (const node of nodes) {
    const w = weigh(req, node, healthFactor);
    if (w && (!best || order(w, best) < 0)) best = w;
  }
  if (!best) throw new SchedulingError(NO_RESOURCES);
  return best.node;
}

/** cpu% + mem% + healthFactor * healthIndicator, or undefined when the node has no room. */
function weigh(req: ScheduleRequest, node: Node, healthFactor: number): WeightedNode | undefined {
  const s = scores(req, node);
  return s && { node, weight: s.cpu + s.memory + healthFactor * node.healthIndicator };
}

function percent(used: number, total: number): number {
  // total < used + req with total 0 only when the request is 0, handled above.
  if (total <= 0) return Infinity;
  // The epsilon keeps float noise (0.1 + 0.2) from dropping a whole percent.
  return Math.floor((used * 100) / total + 1e-9);
}

export function byName(a: Node, b: Node): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}
