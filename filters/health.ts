// Only healthy engines take new containers.
import { FilterError, keepIf, type Filter, type Node, type ScheduleRequest } from '../src/scheduler/index.js';

export const NO_HEALTHY_NODE = 'No healthy node available in the cluster';

export class HealthFilter implements Filter {
  readonly name = 'health';

  filter(_req: ScheduleRequest, nodes: readonly Node[]): readonly Node[] {
    const out = keepIf(nodes, (n) => n.healthy);
    // Final: shown as-is, not as a list of conditions (classic special-cased
    // this filter by name), and no retry without soft rules.
    if (out.length === 0) throw new FilterError(NO_HEALTHY_NODE, { final: true });
    return out;
  }

  describe(): string[] {
    return [];
  }
}
