// Resolving a container reference on one node snapshot.
import type { Node, NodeContainer } from './node.js';

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
