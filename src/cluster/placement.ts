// Placing a new container: build the request, let the scheduler choose over
// node snapshots, reserve, create on the chosen engine, retry elsewhere if
// asked to. The name check, node choice and reservation run synchronously
// (one turn of the event loop), so concurrent creates never double-book a
// name, a port, a slot or memory. A client's create is answered as soon as
// the engine made the container: its reservation and name claim stand
// until the re-read has put it in the cache (./writes.ts), and meanwhile
// calls by its ID find its engine here.
import { randomBytes } from 'node:crypto';
import type { Node, NodeContainer } from '../scheduler/node.js';
import { buildScheduleRequest } from '../scheduler/build.js';
import { applyHints } from '../scheduler/hints.js';
import { namedVolumes } from '../util/volumes.js';
import { ensureImage } from './pull.js';
import { engineCpuShares } from '../scheduler/resources.js';
import type { Engine } from './engine.js';
import type { Write } from './covered.js';
import { mayBeMisread } from './containers.js';
import type { Cluster } from './cluster.js';
import { SWARM_ID_LABEL } from '../scheduler/rules.js';
import { BadRequestError, DockerError } from '../errors.js';
import { log } from '../log.js';
import { volumesByNode } from './volumes.js';

/** The create's own event, re-read by its re-read (./covered.ts). */
const CREATE_EVENTS = ['create'];

/** How long a created container's engine is remembered by ID (see madeOn). */
const MADE_KEEP_MS = 60_000;

const NONE: readonly NodeContainer[] = [];

const NAME_RE = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

export interface Created { node: Engine; status: number; body: any }

/** A container created lately through this manager (see Placement.madeOn). */
export interface Made {
  e: Engine;
  /** When its create was answered (ms). */
  at: number;
  /** Whether the cache had it once its re-read ended (after that, the cache decides where calls go). */
  cached: boolean;
}

export class Placement {
  /** Reservations for creates in flight, per engine address. */
  private readonly pending = new Map<string, NodeContainer[]>();
  /** Containers made and answered lately, oldest first: their engine, and whether the cache had them yet. */
  private readonly made = new Map<string, Made>();

  constructor(private readonly cluster: Cluster) {}

  /** An engine left the cluster: nothing of it is placed or found here any more. */
  forget(addr: string): void {
    this.pending.delete(addr);
    for (const [id, m] of this.made) if (m.e.addr === addr) this.made.delete(id);
  }

  /**
   * A container created and answered in the last minute (by full ID): calls
   * by its ID reach its engine before the cache has it, and are asked of it
   * again when the cache dropped it on a misreading (see Operations.owner).
   */
  madeOn(id: string): Made | undefined {
    const m = this.made.get(id);
    return m && Date.now() - m.at < MADE_KEEP_MS ? m : undefined;
  }

  private remember(id: string, e: Engine): Made {
    const now = Date.now();
    for (const [k, m] of this.made) { if (now - m.at < MADE_KEEP_MS) break; this.made.delete(k); }
    const m: Made = { e, at: now, cached: false };
    this.made.set(id, m);
    return m;
  }

  /** Reservations in flight on every engine (GET /metrics). */
  get pendingTotal(): number { let n = 0; for (const l of this.pending.values()) n += l.length; return n; }

  /** The scheduler's view of `engines` (default: all), reservations in flight included. */
  snapshots(engines?: readonly Engine[]): Node[] {
    // Most of the time nothing is in flight: no lookup per engine then.
    const none = this.pending.size === 0;
    const pick = (e: Engine) => e.snapshot(none ? NONE : this.pending.get(e.addr) ?? NONE);
    if (engines) return engines.map(pick);
    // Sized once: growing by push at 1,000 engines was a tenth of a create's garbage.
    const all = this.cluster.engines;
    const out = new Array<Node>(all.size);
    let i = 0;
    for (const e of all.values()) out[i++] = pick(e);
    return out;
  }

  /** Reserved CPUs and memory on an engine, in-flight creates included (for `docker info`). */
  reserved(e: Engine): { cpus: number; memory: number } {
    let cpus = e.reservedCpus;
    let memory = e.reservedMemory;
    for (const p of this.pending.get(e.addr) ?? []) { cpus += p.cpus; memory += p.memory; }
    return { cpus, memory };
  }

  /**
   * `opts.swarmId` keeps a container's Swarm ID (rescheduling recreates it
   * under the same one); otherwise a new one is made. `opts.retries`
   * overrides swarm.createretry. `opts.early`: answer once the engine made
   * the container, its re-read tracked by cluster.writes (a client's
   * create); without it the cache has it on return (rescheduling).
   */
  async create(rawName: string | undefined, body: any, query: URLSearchParams, authHeader?: string, opts: { swarmId?: string; retries?: number; early?: boolean } = {}): Promise<Created> {
    // dockerd's own answers for an empty config and for a missing image.
    if (body === null || typeof body !== 'object' || Array.isArray(body) || Object.keys(body).length === 0) {
      throw new BadRequestError('Config cannot be empty in order to create a container');
    }
    if (!body.Image || typeof body.Image !== 'string') throw new BadRequestError('No command specified');
    let name: string | undefined;
    if (rawName) {
      if (!NAME_RE.test(rawName)) throw new BadRequestError(`Invalid container name (${rawName}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
      name = rawName.replace(/^\//, '');
    }
    // A write answered but not yet in the cache may free this name (a rename or remove) or take it.
    if (name) await this.cluster.writes.settleName(name);
    const built = buildScheduleRequest(name, body);
    await this.cluster.placementReady(); // start-up: engines tried once, listed containers inspected (bounded)
    // One snapshot per engine serves the hints and the first attempt's choice:
    // nothing is awaited in between, so they see the same cluster.
    const firstNodes = this.snapshots();
    // the volumes per node only matter to a create that mounts named volumes
    const hinted = applyHints(built.request, built.body, firstNodes, namedVolumes(built.body).length ? volumesByNode(this.cluster) : undefined);
    const request = hinted.request;
    const swarmId = opts.swarmId ?? randomBytes(32).toString('hex');
    const retries = opts.retries ?? this.cluster.opts.createRetry;
    const excluded = new Set<string>();
    let lastErr: unknown;

    for (let attempt = 0; attempt <= retries; attempt++) {
      // --- synchronous section: decide and reserve ---
      const release = name ? this.cluster.claimName(name) : () => undefined;
      let chosen: Engine;
      try {
        const nodes = attempt === 0 ? firstNodes : this.snapshots([...this.cluster.engines.values()].filter((e) => !excluded.has(e.addr)));
        chosen = this.cluster.engines.get(this.cluster.scheduler.chooseNear(request, nodes).addr)!;
      } catch (err) {
        release();
        throw err;
      }
      const reservation: NodeContainer = {
        id: `pending-${swarmId}`, names: name ? [name] : [], image: request.image, imageId: '',
        labels: request.labels, state: 'pending', cpus: request.cpus, memory: request.memory,
        ports: request.ports, networkMode: request.networkMode,
      };
      const list = this.pending.get(chosen.addr) ?? [];
      list.push(reservation);
      this.pending.set(chosen.addr, list);
      // --- end of synchronous section ---

      let sent = false;
      let write: Write | undefined; // the create in flight, for its event (covered.ts)
      let handedOver = false; // reservation and name released by the tracked re-read instead
      try {
        const engineBody = { ...hinted.body, Labels: { ...(hinted.body.Labels ?? {}), [SWARM_ID_LABEL]: swarmId } };
        const hc = engineBody.HostConfig ? { ...engineBody.HostConfig } : undefined;
        if (hc && hc.CpuShares) {
          hc.CpuShares = engineCpuShares(request.cpus, chosen.cpus);
          engineBody.HostConfig = hc;
        }
        const q = new URLSearchParams(query);
        if (name) q.set('name', name); else q.delete('name');
        const qs = q.toString();
        const headers: Record<string, string> = authHeader ? { 'x-registry-auth': authHeader } : {};
        // The chosen node lacks the image: pull it there first (the reservation holds
        // meanwhile). Both checks are synchronous when the cache has the image and no
        // create with this Swarm ID is doubtful: no round trip then.
        await ensureImage(chosen, request.image, authHeader);
        await this.cluster.doubtful.settle(chosen, swarmId);
        sent = true;
        write = chosen.covered.begin(undefined, CREATE_EVENTS);
        const res = await chosen.call('POST', `/containers/create${qs ? '?' + qs : ''}`, engineBody, headers);
        sent = false;
        const text = res.body.toString('utf8');
        let parsed: any;
        try { parsed = text ? JSON.parse(text) : {}; } catch { parsed = { message: text }; }
        if (res.status === 201) {
          log.debug('container created', { node: chosen.name, id: parsed.Id, name });
          const id: string = parsed.Id;
          const node = chosen;
          if (!opts.early || typeof id !== 'string') {
            if (typeof id === 'string') node.covered.expect(id, CREATE_EVENTS, write);
            await node.refreshNew(id, true).catch((err) => {
              if (typeof id === 'string') node.coveredReadFailed(id);
              log.warn('refresh after create failed', { error: err.message });
            });
            return { node, status: 201, body: parsed };
          }
          // Read into the cache in the background; reads that could see it wait (cluster.writes).
          handedOver = true;
          const made = this.remember(id, node);
          // Until the cache has it, the reservation stands for it, found by its real ID
          // too (`--volumes-from <id>`, `--net container:<id>` right after).
          reservation.id = id;
          node.covered.expect(id, CREATE_EVENTS, write);
          this.cluster.writes.track(node, id, name ? [name] : [], () => this.reRead(node, id), () => {
            made.cached ||= !!node.containers.get(id);
            const why = made.cached ? undefined : node.containers.goneWhy(id);
            // Gone before the client could use it: said, since it may be the manager misreading an answer.
            if (why && mayBeMisread(why)) log.warn('a container just created left the cache before its re-read ended', { node: node.name, id, why });
            this.unreserve(node.addr, reservation);
            release();
          });
          return { node, status: 201, body: parsed };
        }
        // The engine refused: its answer is final unless a retry may help.
        if (attempt >= retries || res.status < 500) {
          return { node: chosen, status: res.status, body: parsed };
        }
        lastErr = new DockerError(parsed.message ?? text, res.status);
      } catch (err) {
        // Sent but never answered: the engine may still make it; it must not outlive this failure.
        if (sent) this.cluster.doubtful.add(chosen, swarmId);
        lastErr = err;
        if (attempt >= retries) throw err;
      } finally {
        if (write) chosen.covered.abandon(write); // a no-op once expect() ended it
        if (!handedOver) {
          this.unreserve(chosen.addr, reservation);
          release();
        }
      }
      excluded.add(chosen.addr);
      log.warn('create failed, retrying on another node', { node: chosen.name, error: (lastErr as Error).message });
    }
    throw lastErr;
  }

  /**
   * A client's create re-read into the cache, and read once more when that
   * ended without it there (the engine slow or failing). Both reads are one
   * tracked write: a read by its name waits for the second too (it once
   * did not, and could answer "No such container" for a container just
   * made). Calls by its ID go to its engine all along (madeOn).
   */
  private async reRead(node: Engine, id: string): Promise<void> {
    let failed: unknown;
    await node.refreshNew(id).catch((err) => { node.coveredReadFailed(id); failed = err; });
    if (!node.containers.get(id) && !node.containers.goneWhy(id)) {
      log.warn('a container just created is not in the cache after its re-read: reading it again', { node: node.name, id });
      await node.touch(id);
    }
    if (failed) throw failed;
  }

  private unreserve(addr: string, reservation: NodeContainer): void {
    const l = this.pending.get(addr);
    if (!l) return;
    const i = l.indexOf(reservation);
    if (i >= 0) l.splice(i, 1);
    if (l.length === 0) this.pending.delete(addr);
  }
}
