// Binpack: fill the most loaded (healthy) node first.
import { byName, weighNodes, type Node, type ScheduleRequest, type Strategy } from '../src/scheduler/index.js';

export class BinpackStrategy implements Strategy {
  readonly name = 'binpack';

  rankAndSort(req: ScheduleRequest, nodes: readonly Node[]): Node[] {
    // +10 and descending: health still dominates, most used node wins.
    return weighNodes(req, nodes, 10)
      .sort(
        (a, b) =>
          b.weight - a.weight ||
          b.node.containers.length - a.node.containers.length ||
          byName(a.node, b.node),
      )
      .map((w) => w.node);
  }
}
