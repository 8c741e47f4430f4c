// Undocumented classic filter: `whitelist:node==a|b` keeps the engines whose
// name is exactly one of the `|`-separated values (the key is ignored).
import type { Node } from '../src/scheduler/node.js';
import type { ScheduleRequest } from '../src/scheduler/request.js';
import { formatExpr } from '../src/scheduler/expr.js';
import type { Filter } from './filter.js';

export class WhitelistFilter implements Filter {
  readonly name = 'whitelist';

  filter(req: ScheduleRequest, nodes: readonly Node[], soft: boolean): Node[] {
    let candidates = [...nodes];
    for (const w of req.whitelists) {
      if (w.soft && !soft) continue;
      const names = new Set(w.value.split('|'));
      // `!=` turns the list into a blacklist (classic ignored the operator).
      candidates = candidates.filter((n) => names.has(n.name) === (w.op === '=='));
      if (candidates.length === 0) {
        throw new Error(`unable to find a node that satisfies the whitelist ${formatExpr(w)}`);
      }
    }
    return candidates;
  }

  describe(req: ScheduleRequest): string[] {
    return req.whitelists.map((w) => `${formatExpr(w)} (soft=${w.soft})`);
  }
}
