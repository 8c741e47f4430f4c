// One tiny interface for every placement filter. Filters are pure: they map
// node snapshots to the subset that may take the request.
import type { Node } from '../src/scheduler/node.js';
import type { ScheduleRequest } from '../src/scheduler/request.js';
import { formatExpr, type Expr } from '../src/scheduler/expr.js';

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

/**
 * The loop the expression filters share: apply each rule in turn (soft ones
 * only on the soft pass), keep the nodes `keep` accepts, and fail naming the
 * first rule that leaves no node.
 */
export function narrowBy(kind: string, rules: readonly Expr[], nodes: readonly Node[], soft: boolean, keep: (rule: Expr, node: Node) => boolean): Node[] {
  let candidates = [...nodes];
  for (const rule of rules) {
    if (rule.soft && !soft) continue;
    candidates = candidates.filter((n) => keep(rule, n));
    if (candidates.length === 0) throw new Error(`unable to find a node that satisfies the ${kind} ${formatExpr(rule)}`);
  }
  return candidates;
}
