// Facts about one object, for the access rules (src/api/access.ts): the
// labels a network, volume or image carries and an exec's container. Read
// from the cached picture only: a check must not cost an engine round trip.
import type { Cluster } from './cluster.js';
import { findNetwork } from './networks.js';
import { holders } from './volumes.js';
import { matchesImageRef } from '../scheduler/images.js';

export type Labels = Readonly<Record<string, string>>;

/** A network's labels (undefined: no such network; ambiguity throws as dockerd words it). */
export function networkFacts(cluster: Cluster, ref: string): { id: string; name: string; labels: Labels } | undefined {
  const hit = findNetwork(cluster, ref);
  return hit ? { id: hit.net.Id, name: hit.net.Name, labels: hit.net.Labels ?? {} } : undefined;
}

/** A volume's labels, from the first healthy node (by name) that holds it. */
export function volumeFacts(cluster: Cluster, ref: string): { name: string; labels: Labels } | undefined {
  const { nodes, name } = holders(cluster, ref);
  const v = nodes[0]?.resources.volumes.find((x) => x.Name === name);
  return v ? { name, labels: v.Labels ?? {} } : undefined;
}

/** An image's ID, labels and tags (merged over the nodes that have it). */
export function imageFacts(cluster: Cluster, ref: string): { id: string; labels: Labels; tags: string[] } | undefined {
  let id: string | undefined;
  const tags = new Set<string>();
  let labels: Labels = {};
  for (const e of cluster.healthyEngines()) {
    const hit = e.resources.nodeImages.find((i) => matchesImageRef(i, ref));
    if (!hit) continue;
    id ??= hit.id;
    if (hit.id !== id) continue;
    for (const t of hit.repoTags) tags.add(t);
    const full = e.resources.images.find((i) => i.Id === hit.id);
    if (full?.Labels) labels = full.Labels;
  }
  return id === undefined ? undefined : { id, labels, tags: [...tags] };
}
