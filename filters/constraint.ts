// Pin to engines: `node==name-or-id`, or any engine label (`storage==ssd`,
// built-ins like `ostype==linux`).
import { formatExpr, matchExpr, narrowBy, type Filter, type Node, type ScheduleRequest } from '../src/scheduler/index.js';

export class ConstraintFilter implements Filter {
  readonly name = 'constraint';

  filter(req: ScheduleRequest, nodes: readonly Node[], soft: boolean): readonly Node[] {
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
