// Undocumented classic filter: `whitelist:node==a|b` keeps the engines whose
// name is exactly one of the `|`-separated values (the key is ignored).
import { formatExpr, narrowBy, type Filter, type Node, type ScheduleRequest } from '../src/scheduler/index.js';

export class WhitelistFilter implements Filter {
  readonly name = 'whitelist';

  filter(req: ScheduleRequest, nodes: readonly Node[], soft: boolean): readonly Node[] {
    // `!=` turns the list into a blacklist (classic ignored the operator).
    const names = new Map(req.whitelists.map((w) => [w, new Set(w.value.split('|'))]));
    return narrowBy('whitelist', req.whitelists, nodes, soft, (w, n) => names.get(w)!.has(n.name) === (w.op === '=='));
  }

  describe(req: ScheduleRequest): string[] {
    return req.whitelists.map((w) => `${formatExpr(w)} (soft=${w.soft})`);
  }
}
