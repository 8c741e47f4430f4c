// Only healthy engines take new containers.
import type { Node } from '../src/scheduler/node.js';
import type { ScheduleRequest } from '../src/scheduler/request.js';
import type { Filter } from './filter.js';

export const NO_HEALTHY_NODE = 'No healthy node available in the cluster';

export class HealthFilter implements Filter {
  readonly name = 'health';

  filter(_req: ScheduleRequest, nodes: readonly Node[]): Node[] {
    const out = nodes.filter((n) => n.healthy);
    // The scheduler passes this one through unwrapped, as classic does.
    if (out.length === 0) throw new Error(NO_HEALTHY_NODE);
    return out;
  }

  describe(): string[] {
    return [];
  }
}
