import type { Discovery } from './discovery.js';
import { NodesDiscovery } from './nodes.js';
import { FileDiscovery } from './file.js';

export type { Discovery } from './discovery.js';

/**
 * Parse a discovery argument. A value without a scheme is a nodes list, as
 * in classic Swarm (`127.0.0.1:5000,127.0.0.1:5001`).
 */
export function createDiscovery(uri: string, heartbeatMs: number): Discovery {
  const m = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/i.exec(uri);
  if (!m) return new NodesDiscovery(uri);
  const scheme = m[1].toLowerCase();
  const rest = m[2];
  switch (scheme) {
    case 'nodes': return new NodesDiscovery(rest);
    case 'file': return new FileDiscovery(rest, heartbeatMs);
    case 'token': case 'etcd': case 'zk': case 'consul':
      throw new Error(`discovery backend "${scheme}" is not available in this build yet; use nodes:// or file://`);
    default:
      throw new Error(`unsupported discovery scheme "${scheme}"`);
  }
}
