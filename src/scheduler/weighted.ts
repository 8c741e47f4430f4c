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
  return Number.isNaN(weightOf(req, node, 0)) ? undefined : { cpu: cpuPercent(req, node), memory: memoryPercent(req, node) };
}

export function hasRoom(req: ScheduleRequest, node: Node): boolean {
  return !Number.isNaN(weightOf(req, node, 0));
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

/**
 * The least of `weighNodes` by `order`, without sorting them all; throws when
 * no node has room. Two WeightedNode objects serve the whole pass, not two
 * per node: at 1,000 nodes that was 80 KB of garbage per create.
 */
export function bestWeighed(req: ScheduleRequest, nodes: readonly Node[], healthFactor: number, order: (a: WeightedNode, b: WeightedNode) => number): Node {
  let best: WeightedNode | undefined;
  let next: WeightedNode | undefined;
  for (const node of nodes) {
    const weight = weightOf(req, node, healthFactor);
    if (Number.isNaN(weight)) continue;
    const w = next ?? { node, weight };
    w.node = node;
    w.weight = weight;
    if (!best || order(w, best) < 0) { next = best; best = w; } else next = w;
  }
  if (!best) throw new SchedulingError(NO_RESOURCES);
  return best.node;
}

/** cpu% + mem% + healthFactor * healthIndicator, or undefined when the node has no room. */
function weigh(req: ScheduleRequest, node: Node, healthFactor: number): WeightedNode | undefined {
  const weight = weightOf(req, node, healthFactor);
  return Number.isNaN(weight) ? undefined : { node, weight };
}

/** As weigh(), as a number: NaN when the node has no room (scores() without its object). */
function weightOf(req: ScheduleRequest, node: Node, healthFactor: number): number {
  if (node.totalMemory < req.memory || node.totalCpus < req.cpus) return NaN;
  const cpu = cpuPercent(req, node);
  const memory = memoryPercent(req, node);
  if (cpu > 100 || memory > 100) return NaN;
  return cpu + memory + healthFactor * node.healthIndicator;
}

const cpuPercent = (req: ScheduleRequest, node: Node): number => (req.cpus > 0 ? percent(node.usedCpus + req.cpus, node.totalCpus) : 100);
const memoryPercent = (req: ScheduleRequest, node: Node): number => (req.memory > 0 ? percent(node.usedMemory + req.memory, node.totalMemory) : 100);

function percent(used: number, total: number): number {
  // total < used + req with total 0 only when the request is 0, handled above.
  if (total <= 0) return Infinity;
  // The epsilon keeps float noise (0.1 + 0.2) from dropping a whole percent.
  return Math.floor((used * 100) / total + 1e-9);
}

export function byName(a: Node, b: Node): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}
