// Undocumented classic filter: `whitelist:node==a|b` keeps the engines whose
// name is exactly one of the `|`-separated values (the key is ignored).
import type { Node } from '../src/scheduler/node.js';
import type { ScheduleRequest } from '../src/scheduler/request.js';
import { formatExpr } from '../src/scheduler/expr.js';
import { narrowBy, type Filter } from './filter.js';

export class WhitelistFilter implements Filter {
  readonly name = 'whitelist';

  filter(req: ScheduleRequest, nodes: readonly Node[], soft: boolean): Node[] {
    // `!=` turns the list into a blacklist (classic ignored the operator).
    const names = new Map(req.whitelists.map((w) => [w, new Set(w.value.split('|'))]));
    return narrowBy('whitelist', req.whitelists, nodes, soft, (w, n) => names.get(w)!.has(n.name) === (w.op === '=='));
  }

  describe(req: ScheduleRequest): string[] {
    return req.whitelists.map((w) => `${formatExpr(w)} (soft=${w.soft})`);
  }
}
