// Containers named by --volumes-from, --link and --net/--ipc/--pid=container:x
// must all live on one node, and the new container goes there too.
import type { Node, NodeContainer } from '../src/scheduler/node.js';
import type { ScheduleRequest } from '../src/scheduler/request.js';
import type { Filter } from './filter.js';

export class DependencyFilter implements Filter {
  readonly name = 'dependency';

  filter(req: ScheduleRequest, nodes: readonly Node[]): Node[] {
    const refs = allDependencies(req);
    if (refs.length === 0) return [...nodes];
    const out = nodes.filter((n) => refs.every((ref) => findContainer(n, ref) !== undefined));
    if (out.length === 0) throw new Error(explain(refs, nodes));
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

/**
 * Find a container on one node the way the Docker API resolves a reference:
 * full ID, name (with or without "/", or "<node>/<name>"), then a unique ID prefix.
 */
export function findContainer(node: Node, ref: string): NodeContainer | undefined {
  let name = ref.replace(/^\//, '');
  if (name.startsWith(node.name + '/')) name = name.slice(node.name.length + 1);
  const byId = node.containers.find((c) => c.id === ref);
  if (byId) return byId;
  const byName = node.containers.find((c) => c.names.some((n) => n.replace(/^\//, '') === name));
  if (byName) return byName;
  const byPrefix = node.containers.filter((c) => c.id.startsWith(ref));
  return byPrefix.length === 1 ? byPrefix[0] : undefined;
}

function explain(refs: string[], nodes: readonly Node[]): string {
  const where = refs.map((ref) => {
    const on = nodes.filter((n) => findContainer(n, ref)).map((n) => n.name);
    return `${ref} (${on.length ? 'on ' + on.join(', ') : 'not found'})`;
  });
  return `Unable to find a node fulfilling all dependencies: ${where.join(', ')}`;
}
