// Engine label `containerslots=N` caps how many containers (any state,
// pending included) a node may hold. Missing or non-integer: no cap.
import { FilterError, keepIf, type Filter, type Node, type ScheduleRequest } from '../src/scheduler/index.js';

export const SLOTS_LABEL = 'containerslots';

export class ContainerSlotsFilter implements Filter {
  readonly name = 'containerslots';

  filter(_req: ScheduleRequest, nodes: readonly Node[]): readonly Node[] {
    const out = keepIf(nodes, (n) => {
      const slots = slotsOf(n);
      return slots === undefined || n.containers.length < slots;
    });
    if (out.length === 0) throw new FilterError('No node with enough open slots available in the cluster');
    return out;
  }

  describe(): string[] {
    return ['available container slots'];
  }
}

/** The node's slot cap, or undefined when unlimited. */
export function slotsOf(node: Node): number | undefined {
  const raw = node.labels[SLOTS_LABEL];
  // Go's strconv.Atoi: optional sign and decimal digits only.
  if (raw === undefined || !/^[+-]?\d+$/.test(raw)) return undefined;
  return Number(raw);
}
