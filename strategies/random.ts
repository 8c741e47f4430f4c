// Random: a shuffled list of the nodes that have room for the request.
import { NO_RESOURCES, SchedulingError, hasRoom, type Node, type ScheduleRequest, type Strategy } from '../src/scheduler/index.js';

export class RandomStrategy implements Strategy {
  readonly name = 'random';

  /** `rng` returns a float in [0, 1); injectable for tests. */
  constructor(private readonly rng: () => number = Math.random) {}

  rankAndSort(req: ScheduleRequest, nodes: readonly Node[]): Node[] {
    const out = withRoom(req, nodes);
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(this.rng() * (i + 1));
      [out[i], out[j]] = [out[j], out[i]];
    }
    return out;
  }

  /** Any node with room, each as likely. */
  pick(req: ScheduleRequest, nodes: readonly Node[]): Node {
    const out = withRoom(req, nodes);
    return out[Math.floor(this.rng() * out.length)];
  }
}

function withRoom(req: ScheduleRequest, nodes: readonly Node[]): Node[] {
  const out = nodes.filter((n) => hasRoom(req, n));
  if (out.length === 0) throw new SchedulingError(NO_RESOURCES);
  return out;
}
