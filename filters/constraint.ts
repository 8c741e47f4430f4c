// Pin to engines: `node==name-or-id`, or any engine label (`storage==ssd`,
// built-ins like `ostype==linux`).
import type { Node } from '../src/scheduler/node.js';
import type { ScheduleRequest } from '../src/scheduler/request.js';
import { formatExpr, matchExpr } from '../src/scheduler/expr.js';
import { narrowBy, type Filter } from './filter.js';

export class ConstraintFilter implements Filter {
  readonly name = 'constraint';

  filter(req: ScheduleRequest, nodes: readonly Node[], soft: boolean): Node[] {
    return narrowBy('constraint', req.constraints, nodes, soft, (c, n) => matchExpr(c, candidatesFor(c.key, n)));
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
