// Pin to engines: `node==name-or-id`, or any engine label (`storage==ssd`,
// built-ins like `ostype==linux`).
import type { Node } from '../src/scheduler/node.js';
import type { ScheduleRequest } from '../src/scheduler/request.js';
import { formatExpr, matchExpr } from '../src/scheduler/expr.js';
import type { Filter } from './filter.js';

export class ConstraintFilter implements Filter {
  readonly name = 'constraint';

  filter(req: ScheduleRequest, nodes: readonly Node[], soft: boolean): Node[] {
    let candidates = [...nodes];
    for (const c of req.constraints) {
      if (c.soft && !soft) continue;
      candidates = candidates.filter((n) => matchExpr(c, candidatesFor(c.key, n)));
      if (candidates.length === 0) {
        throw new Error(`unable to find a node that satisfies the constraint ${formatExpr(c)}`);
      }
    }
    return candidates;
  }

  describe(req: ScheduleRequest): string[] {
    // Classic prints constraints without the soft marker.
    return req.constraints.map(formatExpr);
  }
}

function candidatesFor(key: string, node: Node): string[] {
  if (key === 'node') return [node.id, node.name];
  // A missing label matches nothing: `==` fails, `!=` passes.
  return key in node.labels ? [node.labels[key]] : [];
}
