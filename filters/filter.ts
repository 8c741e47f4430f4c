// One tiny interface for every placement filter. Filters are pure: they map
// node snapshots to the subset that may take the request.
import type { Node } from '../src/scheduler/node.js';
import type { ScheduleRequest } from '../src/scheduler/request.js';

export interface Filter {
  readonly name: string;
  /**
   * Keep the nodes that may run the request. `soft` is true on the first
   * pass, when soft expressions (`==~`, `!=~`) still count.
   * Throw (any Error) when no node is left; the scheduler turns that into
   * classic Swarm's "Unable to find a node that satisfies ..." message.
   */
  filter(req: ScheduleRequest, nodes: readonly Node[], soft: boolean): Node[];
  /** Human-readable conditions this filter imposes on `req`, e.g. "port 80 (Bridge mode)". */
  describe(req: ScheduleRequest): string[];
}
