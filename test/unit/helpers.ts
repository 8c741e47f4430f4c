// Builders for scheduler unit tests: small literals with sane defaults.
import type { Node, NodeContainer, NodeImage, NodeNetwork, PortBinding } from '../../src/scheduler/node.js';
import type { ScheduleRequest } from '../../src/scheduler/request.js';
import { parseExprs } from '../../src/scheduler/expr.js';

export const GiB = 1024 ** 3;

export function container(over: Partial<NodeContainer> & { id?: string } = {}): NodeContainer {
  const id = over.id ?? 'c'.repeat(64);
  return {
    id,
    names: [],
    image: 'busybox',
    imageId: '',
    labels: {},
    state: 'running',
    cpus: 0,
    memory: 0,
    ports: [],
    networkMode: 'default',
    ...over,
  };
}

export function image(over: Partial<NodeImage> = {}): NodeImage {
  return { id: 'sha256:' + 'a'.repeat(64), repoTags: [], repoDigests: [], ...over };
}

export function node(name: string, over: Partial<Node> = {}): Node {
  return {
    id: `ID-${name}`,
    name,
    addr: `${name}:2375`,
    ip: '10.0.0.1',
    labels: {},
    healthy: true,
    healthIndicator: 100,
    totalCpus: 4,
    totalMemory: 4 * GiB,
    usedCpus: 0,
    usedMemory: 0,
    containers: [],
    images: [],
    networks: [],
    ...over,
  };
}

export function network(name: string, over: Partial<NodeNetwork> = {}): NodeNetwork {
  return { id: 'f'.repeat(64), name, scope: 'local', ...over };
}

/** n containers with distinct IDs, for container-count tie-breaks and slots. */
export function containers(n: number): NodeContainer[] {
  return Array.from({ length: n }, (_, i) => container({ id: String(i).padStart(64, '0') }));
}

export interface ReqSpec extends Partial<Omit<ScheduleRequest, 'constraints' | 'affinities' | 'whitelists'>> {
  constraints?: string[];
  affinities?: string[];
  whitelists?: string[];
}

export function req(spec: ReqSpec = {}): ScheduleRequest {
  const { constraints = [], affinities = [], whitelists = [], ...rest } = spec;
  return {
    image: 'busybox',
    cpus: 0,
    memory: 0,
    ports: [],
    networkMode: 'default',
    dependencies: { volumesFrom: [], links: [], namespaces: [] },
    labels: {},
    ...rest,
    constraints: parseExprs(constraints, 'constraint'),
    affinities: parseExprs(affinities, 'affinity'),
    whitelists: parseExprs(whitelists, 'whitelist'),
  };
}

export function port(hostPort: number, hostIp = '', proto = 'tcp'): PortBinding {
  return { hostIp, hostPort, proto };
}

export function names(nodes: readonly Node[]): string[] {
  return nodes.map((n) => n.name);
}

/** What fn throws (fails the test if it does not throw). */
export function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a throw');
}
