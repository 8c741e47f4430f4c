// Place next to (or away from) other containers or images:
// `container==web`, `image==redis`, or any other key = a container label.
import { containerKeys, formatExpr, imageNameSet, literalOf, narrowBy, patternTest, type Filter, type Node, type ScheduleRequest } from '../src/scheduler/index.js';

export class AffinityFilter implements Filter {
  readonly name = 'affinity';

  filter(req: ScheduleRequest, nodes: readonly Node[], soft: boolean): readonly Node[] {
    // `==`: some candidate matches; `!=`: none does. Test candidates one by
    // one and stop at the first hit: building every node's candidate list
    // cost ~16 ms per decision at 1,000 nodes × 30 containers (bench/placement.ts).
    // One test per expression, made once: called for up to 4 candidates of each
    // of 30,000 containers.
    const tests = new Map(req.affinities.map((a) => [a, { hit: patternTest(a), literal: literalOf(a) }]));
    return narrowBy('affinity', req.affinities, nodes, soft, (a, n) => {
      const t = tests.get(a)!;
      return anyCandidate(a.key, n, t.hit, t.literal) === (a.op === '==');
    });
  }

  describe(req: ScheduleRequest): string[] {
    return req.affinities.map((a) => `${formatExpr(a)} (soft=${a.soft})`);
  }
}

/**
 * Does any of the node's candidates satisfy `hit`? Candidates: for
 * `container`, each container's full ID, 12-character short ID (as `docker
 * ps` shows) and names; for `image`, every name of every image; for any
 * other key, that label's value on containers that carry it. `literal`: the
 * pattern is a plain word (expr.ts literalOf), so for a container name or ID
 * the node's index answers, unless a key is non-ASCII (case folding).
 */
function anyCandidate(key: string, node: Node, hit: (x: string) => boolean, literal: string | undefined): boolean {
  switch (key) {
    case 'container':
      if (literal !== undefined) {
        const index = containerKeys(node.containers);
        if (index.ascii) return index.keys.has(literal);
      }
      for (const c of node.containers) {
        if (hit(c.id) || hit(c.id.slice(0, 12))) return true;
        for (const n of c.names) if (hit(n.charCodeAt(0) === 0x2f ? n.slice(1) : n)) return true;
      }
      return false;
    case 'image':
      // The node's names of all its images, made once per image list.
      for (const name of imageNameSet(node.images)) if (hit(name)) return true;
      return false;
    default:
      for (const c of node.containers) if (key in c.labels && hit(c.labels[key])) return true;
      return false;
  }
}
