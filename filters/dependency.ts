// Containers named by --volumes-from, --link and --net/--ipc/--pid=container:x
// must all live on one node, and the new container goes there too.
import { FilterError, keepIf, findContainer, type Filter, type Node, type ScheduleRequest } from '../src/scheduler/index.js';

export class DependencyFilter implements Filter {
  readonly name = 'dependency';

  filter(req: ScheduleRequest, nodes: readonly Node[]): readonly Node[] {
    const refs = allDependencies(req);
    if (refs.length === 0) return nodes;
    const out = keepIf(nodes, (n) => refs.every((ref) => findContainer(n, ref) !== undefined));
    if (out.length === 0) throw new FilterError(explain(refs, nodes));
    return out;
  }

  describe(req: ScheduleRequest): string[] {
    const d = req.dependencies;
    const out = [
      ...d.volumesFrom.map((v) => `--volumes-from=${v}`),
      ...d.links.map((l) => `--link=${l}`),
    ];
    for (const ns of d.namespaces) {
      out.push(req.networkMode === `container:${ns}` ? `--net=container:${ns}` : `--ipc/--pid=container:${ns}`);
    }
    return out;
  }
}

function allDependencies(req: ScheduleRequest): string[] {
  const d = req.dependencies;
  return [...new Set([...d.volumesFrom, ...d.links, ...d.namespaces])];
}

function explain(refs: string[], nodes: readonly Node[]): string {
  const where = refs.map((ref) => {
    const on = nodes.filter((n) => findContainer(n, ref)).map((n) => n.name);
    return `${ref} (${on.length ? 'on ' + on.join(', ') : 'not found'})`;
  });
  return `Unable to find a node fulfilling all dependencies: ${where.join(', ')}`;
}
