// Spread: least loaded, healthiest node first.
import { bestWeighed, byName, weighNodes, type Node, type ScheduleRequest, type Strategy, type WeightedNode } from '../src/scheduler/index.js';

// -10: health (0..100) outweighs cpu% + mem% (each 0..100).
const HEALTH_FACTOR = -10;

const order = (a: WeightedNode, b: WeightedNode): number =>
  a.weight - b.weight || a.node.containers.length - b.node.containers.length || byName(a.node, b.node);

export class SpreadStrategy implements Strategy {
  readonly name = 'spread';

  rankAndSort(req: ScheduleRequest, nodes: readonly Node[]): Node[] {
    return weighNodes(req, nodes, HEALTH_FACTOR).sort(order).map((w) => w.node);
  }

  pick(req: ScheduleRequest, nodes: readonly Node[]): Node {
    return bestWeighed(req, nodes, HEALTH_FACTOR, order);
  }
}
