// What the scheduler is asked to place: a container create request with the
// Swarm rules (constraints, affinities, ...) already parsed out of it.
import type { PortBinding } from './node.js';
import type { Expr } from './expr.js';

export interface Dependencies {
  /** --volumes-from container names/IDs (":ro"/":rw" suffix removed). */
  volumesFrom: string[];
  /** --link container names (the part before ":alias"). */
  links: string[];
  /** --net=container:x, --ipc=container:x, --pid=container:x targets. */
  namespaces: string[];
}

export interface ScheduleRequest {
  /** Requested container name (without leading slash), if any. */
  name?: string;
  image: string;
  constraints: Expr[];
  affinities: Expr[];
  whitelists: Expr[];
  /** Reserved CPUs and memory (bytes), as classic Swarm counts them. */
  cpus: number;
  memory: number;
  /** Host ports wanted. */
  ports: PortBinding[];
  networkMode: string;
  dependencies: Dependencies;
  /** Labels of the new container (used by label affinities of later requests). */
  labels: Record<string, string>;
}
