// Spread: least loaded, healthiest node first.
import { byName, weighNodes, type Node, type ScheduleRequest, type Strategy } from '../src/scheduler/index.js';

export class SpreadStrategy implements Strategy {
  readonly name = 'spread';

  rankAndSort(req: ScheduleRequest, nodes: readonly Node[]): Node[] {
    // -10: health (0..100) outweighs cpu% + mem% (each 0..100).
    return weighNodes(req, nodes, -10)
      .sort(
        (a, b) =>
          a.weight - b.weight ||
          a.node.containers.length - b.node.containers.length ||
          byName(a.node, b.node),
      )
      .map((w) => w.node);
  }
}
