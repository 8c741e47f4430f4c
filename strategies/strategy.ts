// One tiny interface for every placement strategy.
import type { Node } from '../src/scheduler/node.js';
import type { ScheduleRequest } from '../src/scheduler/request.js';

export interface Strategy {
  readonly name: string;
  /**
   * Order candidate nodes best-first. Nodes without room for the request are
   * dropped; throw SchedulingError("no resources available to schedule
   * container") when none is left. Ties break deterministically by name.
   */
  rankAndSort(req: ScheduleRequest, nodes: readonly Node[]): Node[];
}
