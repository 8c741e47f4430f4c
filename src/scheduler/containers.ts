// Resolving a container reference on one node snapshot, and the index of a
// node's container names that `affinity:container==<name>` looks up.
import type { Node, NodeContainer } from './node.js';
import { perList } from './perlist.js';

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

/** A node's containers by lower-cased full ID, 12-character short ID and names. */
export interface ContainerKeys {
  keys: ReadonlySet<string>;
  /** Every key is ASCII: a plain-word pattern can then only match a key equal to it (see expr.ts literalOf). */
  ascii: boolean;
}

// eslint-disable-next-line no-control-regex -- all of ASCII
const ASCII = /^[\x00-\x7f]*$/;

/** Made once per container list (see ./perlist.ts). */
export const containerKeys = perList((containers: readonly NodeContainer[]): ContainerKeys => {
  const keys = new Set<string>();
  let ascii = true;
  const add = (s: string): void => {
    if (ascii && !ASCII.test(s)) ascii = false;
    keys.add(s.toLowerCase());
  };
  for (const c of containers) {
    add(c.id);
    add(c.id.slice(0, 12));
    for (const n of c.names) add(n.charCodeAt(0) === 0x2f ? n.slice(1) : n);
  }
  return { keys, ascii };
});
