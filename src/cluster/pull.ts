// Pull-on-create, as classic Swarm's engine.CreateContainer(pullImage=true):
// when the node chosen for a container lacks its image, the manager pulls it
// there first (with the client's X-Registry-Auth), streaming nothing to the
// client. Concurrent creates of one image on one node share one pull.
import { matchesImageRef, withDefaultTag } from '../scheduler/images.js';
import { log } from '../log.js';
import type { Engine } from './engine.js';

/** A pull that sends nothing for this long has stalled: the create goes on (and gets dockerd's 404). */
const PULL_IDLE_MS = 5 * 60_000;

/** Pulls in flight, by engine address and image reference. */
const inFlight = new Map<string, Promise<void>>();

/** dockerd's fromImage/tag for a reference: the tag (or digest) split off, `latest` when none. */
export function pullQuery(ref: string): string {
  const full = withDefaultTag(ref);
  const at = full.indexOf('@');
  const colon = full.lastIndexOf(':');
  const [name, tag] = at >= 0 ? [full.slice(0, at), full.slice(at + 1)] : [full.slice(0, colon), full.slice(colon + 1)];
  return new URLSearchParams({ fromImage: name, tag }).toString();
}

/** A reference that names an image by ID (or ID prefix) cannot be pulled. */
function pullable(ref: string): boolean {
  return !/^(sha256:)?[0-9a-f]{12,64}$/.test(ref);
}

/**
 * Make sure `engine` has `ref`, pulling it if its cache says it lacks it.
 * Never throws: a failed pull is logged and the create that follows gets
 * dockerd's own "No such image" (the client may then pull it itself).
 */
export async function ensureImage(engine: Engine, ref: string, auth?: string): Promise<void> {
  if (!ref || !pullable(ref) || engine.resources.nodeImages.some((img) => matchesImageRef(img, ref))) return;
  const key = `${engine.addr} ${withDefaultTag(ref)}`;
  let p = inFlight.get(key);
  if (!p) {
    p = pull(engine, ref, auth).finally(() => inFlight.delete(key));
    inFlight.set(key, p);
  }
  await p;
}

async function pull(engine: Engine, ref: string, auth?: string): Promise<void> {
  const t0 = Date.now();
  try {
    // The clients' pool: a long pull must not hold one of the few connections
    // the manager's own refreshes use. No body timeout: layers take their time.
    const r = await engine.transport.clientPool.request({
      method: 'POST', path: `/images/create?${pullQuery(ref)}`, headers: auth ? { 'x-registry-auth': auth } : {},
      // dockerd sends progress all along a pull; minutes of silence is a stalled registry.
      headersTimeout: 60_000, bodyTimeout: PULL_IDLE_MS,
    });
    // The answer is a progress stream; a failure is a line's error (or a non-2xx status).
    const text = Buffer.from(await r.body.arrayBuffer()).toString('utf8');
    const lines = text.split('\n').filter(Boolean);
    let failure = r.statusCode >= 300 ? text.trim() : '';
    for (const l of lines) {
      try { const m = JSON.parse(l); if (m.error) failure = m.error; } catch { /* not JSON */ }
    }
    if (failure) {
      log.warn('pull before create failed', { node: engine.name, image: ref, error: failure });
      return;
    }
    await engine.resources.refreshImages();
    log.info('pulled before create', { node: engine.name, image: ref, ms: Date.now() - t0 });
  } catch (err) {
    log.warn('pull before create failed', { node: engine.name, image: ref, error: (err as Error).message });
  }
}
