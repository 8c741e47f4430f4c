// How users refer to images, shared by the affinity filter and the
// placement hints.
import type { NodeImage } from './node.js';

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

/** "localhost:5000/app:1.0" -> "localhost:5000/app"; "app@sha256:..." -> "app". */
export function repositoryOf(ref: string): string {
  const at = ref.indexOf('@');
  if (at >= 0) return ref.slice(0, at);
  const colon = ref.lastIndexOf(':');
  return colon > ref.lastIndexOf('/') ? ref.slice(0, colon) : ref;
}

/** `redis` -> `redis:latest`; references with a tag or digest stay as they are. */
export function withDefaultTag(ref: string): string {
  return /[:@]/.test(ref.slice(ref.lastIndexOf('/') + 1)) ? ref : `${ref}:latest`;
}
