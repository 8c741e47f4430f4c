// Binpack: fill the most loaded (healthy) node first.
import { bestWeighed, byName, weighNodes, type Node, type ScheduleRequest, type Strategy, type WeightedNode } from '../src/scheduler/index.js';

// +10 and descending: health still dominates, most used node wins.
const HEALTH_FACTOR = 10;

const order = (a: WeightedNode, b: WeightedNode): number =>
  b.weight - a.weight || b.node.containers.length - a.node.containers.length || byName(a.node, b.node);

export class BinpackStrategy implements Strategy {
  readonly name = 'binpack';

  rankAndSort(req: ScheduleRequest, nodes: readonly Node[]): Node[] {
    return weighNodes(req, nodes, HEALTH_FACTOR).sort(order).map((w) => w.node);
  }

  pick(req: ScheduleRequest, nodes: readonly Node[]): Node {
    return bestWeighed(req, nodes, HEALTH_FACTOR, order);
  }
}
