// Place next to (or away from) other containers or images:
// `container==web`, `image==redis`, or any other key = a container label.
import type { Node, NodeImage } from '../src/scheduler/node.js';
import type { ScheduleRequest } from '../src/scheduler/request.js';
import { formatExpr, matchExpr } from '../src/scheduler/expr.js';
import type { Filter } from './filter.js';

export class AffinityFilter implements Filter {
  readonly name = 'affinity';

  filter(req: ScheduleRequest, nodes: readonly Node[], soft: boolean): Node[] {
    let candidates = [...nodes];
    for (const a of req.affinities) {
      if (a.soft && !soft) continue;
      candidates = candidates.filter((n) => matchExpr(a, candidatesFor(a.key, n)));
      if (candidates.length === 0) {
        throw new Error(`unable to find a node that satisfies the affinity ${formatExpr(a)}`);
      }
    }
    return candidates;
  }

  describe(req: ScheduleRequest): string[] {
    return req.affinities.map((a) => `${formatExpr(a)} (soft=${a.soft})`);
  }
}

function candidatesFor(key: string, node: Node): string[] {
  switch (key) {
    case 'container':
      // Full ID, the 12-character short ID `docker ps` shows, and names.
      return node.containers.flatMap((c) => [c.id, c.id.slice(0, 12), ...c.names.map((n) => n.replace(/^\//, ''))]);
    case 'image':
      return node.images.flatMap(imageNames);
    default:
      // Only containers that carry the label count.
      return node.containers.flatMap((c) => (key in c.labels ? [c.labels[key]] : []));
  }
}

/** Every way a user may refer to an image: ID (long/short), repo:tag, repo, digest. */
export function imageNames(img: NodeImage): string[] {
  const out: string[] = [];
  if (img.id) {
    const hex = img.id.replace(/^sha256:/, '');
    out.push(img.id, hex, hex.slice(0, 12));
  }
  for (const ref of [...img.repoTags, ...img.repoDigests]) {
    if (!ref || ref.startsWith('<none>')) continue;
    out.push(ref, repositoryOf(ref));
  }
  return [...new Set(out)];
}

/** "localhost:5000/app:1.0" -> "localhost:5000/app"; "app@sha256:..." -> "app". */
export function repositoryOf(ref: string): string {
  const at = ref.indexOf('@');
  if (at >= 0) return ref.slice(0, at);
  const colon = ref.lastIndexOf(':');
  return colon > ref.lastIndexOf('/') ? ref.slice(0, colon) : ref;
}
