// Creates whose answer never came. When an engine freezes or the connection
// breaks after `POST /containers/create` was sent, the client is told the
// create failed, yet the engine may still make the container once it reads
// the request (a frozen dockerd does so the moment it is resumed). Every
// create carries its Swarm ID label, so such a container is recognised
// whenever it shows up on that engine, kept out of the cache and removed.
import type { Engine } from './engine.js';
import { SWARM_ID_LABEL } from '../scheduler/rules.js';
import { log } from '../log.js';

/** How long a doubtful create is watched for (a frozen engine may be resumed much later). */
const WATCH_MS = 15 * 60_000;

export class DoubtfulCreates {
  /** Engine address -> Swarm ID -> until when it is watched for. */
  private readonly byEngine = new Map<string, Map<string, number>>();
  private readonly removing = new Set<string>();

  /** A create on `e` got no answer: its container, if the engine makes it, must go. */
  add(e: Engine, swarmId: string): void {
    let m = this.byEngine.get(e.addr);
    if (!m) this.byEngine.set(e.addr, (m = new Map()));
    m.set(swarmId, Date.now() + WATCH_MS);
    log.warn('create got no answer: its container is removed if the engine makes it', { node: e.name, swarmId });
    void this.sweep(e);
  }

  /**
   * Before another create with this Swarm ID goes to `e` (a rescheduled
   * container retried where an attempt got no answer): remove what the
   * unanswered one made, and stop watching, so the new one is kept. `e`
   * answers now, so it has read the old request by then.
   */
  async settle(e: Engine, swarmId: string): Promise<void> {
    if (!this.watched(e.addr, swarmId)) return;
    await this.sweepOne(e, swarmId);
    this.byEngine.get(e.addr)?.delete(swarmId);
  }

  /** The cache's accept hook: false (and removed) for a container of a doubtful create. */
  accept(e: Engine, summary: any): boolean {
    const sid = summary?.Labels?.[SWARM_ID_LABEL];
    if (!sid || !this.watched(e.addr, sid)) return true;
    this.remove(e, summary.Id);
    return false;
  }

  /** Ask the engine (once it answers again) for containers of its doubtful creates. */
  async sweep(e: Engine): Promise<void> {
    const m = this.byEngine.get(e.addr);
    if (!m) return;
    for (const sid of [...m.keys()]) {
      if (!this.watched(e.addr, sid)) continue;
      // Not answering yet: swept again when it is healthy, and caught by accept() meanwhile.
      if (!(await this.sweepOne(e, sid))) return;
    }
  }

  private async sweepOne(e: Engine, sid: string): Promise<boolean> {
    const filters = encodeURIComponent(JSON.stringify({ label: [`${SWARM_ID_LABEL}=${sid}`] }));
    try {
      const list: any[] = await e.json('GET', `/containers/json?all=1&filters=${filters}`);
      await Promise.all(list.map((s) => this.remove(e, s.Id)));
      return true;
    } catch {
      return false;
    }
  }

  forget(addr: string): void { this.byEngine.delete(addr); }

  private watched(addr: string, sid: string): boolean {
    const m = this.byEngine.get(addr);
    const until = m?.get(sid);
    if (until === undefined) return false;
    if (until > Date.now()) return true;
    m!.delete(sid);
    if (m!.size === 0) this.byEngine.delete(addr);
    return false;
  }

  private remove(e: Engine, id: string): Promise<void> {
    if (this.removing.has(id)) return Promise.resolve();
    this.removing.add(id);
    return e.call('DELETE', `/containers/${id}?force=1&v=1`)
      .then((r) => {
        if (r.status === 204 || r.status === 404) {
          log.info('removed a container whose create the client was told had failed', { node: e.name, id });
          e.containers.remove(id, 'doubtful create');
        }
      })
      .catch(() => undefined)
      .finally(() => this.removing.delete(id));
  }
}
