// How users refer to images, shared by the affinity filter, the placement
// hints and the cluster's image lookups.
import type { NodeImage } from './node.js';
import { perList } from './perlist.js';

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

/**
 * Every name of every image in a node's list, as a set: placement asks
 * "does this node have image X" of every node for every create.
 */
export const imageNameSet = perList((images: readonly NodeImage[]): ReadonlySet<string> => {
  const all = new Set<string>();
  for (const img of images) for (const n of imageNames(img)) all.add(n);
  return all;
});

/** "localhost:5000/app:1.0" -> "localhost:5000/app"; "app@sha256:..." and "app:1.0@sha256:..." -> "app". */
export function repositoryOf(ref: string): string {
  const at = ref.indexOf('@');
  const name = at >= 0 ? ref.slice(0, at) : ref;
  const colon = name.lastIndexOf(':');
  return colon > name.lastIndexOf('/') ? name.slice(0, colon) : name;
}

/** A reference with its implied tag: "busybox" -> "busybox:latest"; tags and digests kept. */
export function withDefaultTag(ref: string): string {
  return /[:@]/.test(ref.slice(ref.lastIndexOf('/') + 1)) ? ref : `${ref}:latest`;
}

/** Does `ref` (name, name:tag, digest reference, or an ID or ID prefix) name this image? */
export function matchesImageRef(img: NodeImage, ref: string): boolean {
  const want = ref.replace(/^sha256:/, '');
  if (/^[0-9a-f]+$/.test(want) && img.id.replace(/^sha256:/, '').startsWith(want)) return true;
  const tagged = withDefaultTag(ref);
  return img.repoTags.includes(tagged) || img.repoDigests.includes(ref);
}
