// The interface every placement strategy implements (the plugins live in
// strategies/).
import type { Node } from './node.js';
import type { ScheduleRequest } from './request.js';

/** Classic's answer when no node has room (and to any strategy failure). */
export const NO_RESOURCES = 'no resources available to schedule container';

export interface Strategy {
  readonly name: string;
  /**
   * Order candidate nodes best-first. Nodes without room for the request are
   * dropped; throw SchedulingError(NO_RESOURCES) when none is left. Ties
   * break deterministically by name. Whatever a strategy throws, the
   * scheduler answers classic's "no resources available to schedule
   * container".
   */
  rankAndSort(req: ScheduleRequest, nodes: readonly Node[]): Node[];
  /**
   * Optional: the node rankAndSort would put first (or, for a random
   * strategy, one it might), in one pass: a create needs only that one, and
   * sorting 1,000 nodes per create was a tenth of the manager's work.
   * Throws as rankAndSort does.
   */
  pick?(req: ScheduleRequest, nodes: readonly Node[]): Node;
}

/** How a strategy is registered: strategies/index.ts maps each name to one. */
export interface StrategyEntry {
  /** One line for `swarm manage --help`. */
  readonly description: string;
  create(): Strategy;
}
