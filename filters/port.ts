// A node qualifies when none of its containers holds a requested host port.
// Every container counts, exited ones included: their bindings come back on
// start, so classic Swarm treats those ports as taken.
import { FilterError, keepIf, perList, type Filter, type Node, type NodeContainer, type PortBinding, type ScheduleRequest } from '../src/scheduler/index.js';
// Straight from its module: called per container per node, and a call through
// the index's re-export getter doubled this filter's cost at 1,000 nodes.
import { portsClash } from '../src/scheduler/resources.js';

export class PortFilter implements Filter {
  readonly name = 'port';

  filter(req: ScheduleRequest, nodes: readonly Node[]): readonly Node[] {
    let candidates = nodes;
    for (const want of req.ports) {
      candidates = keepIf(candidates, (n) => !nodeHolds(n, want));
      if (candidates.length === 0) {
        const mode = isHost(req) ? ' in the Host mode' : '';
        throw new FilterError(`unable to find a node with port ${want.hostPort} available${mode}`);
      }
    }
    return candidates;
  }

  describe(req: ScheduleRequest): string[] {
    // Classic prints the HostPort for bridge mode and the ExposedPorts key
    // (port/proto) for host mode.
    return req.ports.map((p) =>
      isHost(req) ? `port ${p.hostPort}/${p.proto} (Host mode)` : `port ${p.hostPort} (Bridge mode)`,
    );
  }
}

function isHost(req: ScheduleRequest): boolean {
  return req.networkMode === 'host';
}

function nodeHolds(node: Node, want: PortBinding): boolean {
  if (!want.hostPort) return false; // any port: never a clash
  const held = heldPorts(node.containers).get(want.hostPort);
  return held !== undefined && held.some((h) => portsClash(want, h));
}

/**
 * A node's bindings by host port, made once per container list (see
 * src/scheduler/perlist.ts): a published port otherwise meant a walk of all
 * 30,000 containers' ports on every create.
 */
const heldPorts = perList((containers: readonly NodeContainer[]): Map<number, PortBinding[]> => {
  const m = new Map<number, PortBinding[]>();
  for (const c of containers) {
    for (const p of c.ports) {
      if (!p.hostPort) continue;
      const list = m.get(p.hostPort);
      if (list) list.push(p); else m.set(p.hostPort, [p]);
    }
  }
  return m;
});
