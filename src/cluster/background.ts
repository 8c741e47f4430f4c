// The cluster-wide queue of work engines leave for after they turned
// Healthy (see Engine.fullRefresh): bounded, so 5,000 engines loading at once
// neither flood the engines nor open more sockets than the fd limit allows.
/**
 * Work an engine leaves for after it turned Healthy (the first load, a full
 * refresh): its images, networks and volumes, and the inspects of containers
 * listed but not yet inspected (what placement needs of them). One FIFO for
 * the cluster, at most BACKGROUND_TASKS at once, resource loads before
 * inspects: fewer than inspectSlot so they never crowd out the inspects a
 * create or an event waits for, and few enough that the sockets they hold
 * stay few at 5,000 engines.
 */
export const BACKGROUND_TASKS = 48;
/** Background tasks at once while some engine is still loading. */
const BACKGROUND_WHILE_LOADING = 8;

export class BackgroundQueue {
  private readonly lanes: Array<Array<(() => Promise<void>) | undefined>> = [[], []];
  private readonly heads = [0, 0];
  private running = 0;
  /** Engines loading or waiting to (see validate): background work keeps to a few slots meanwhile, so they turn Healthy first. */
  loading = 0;
  constructor(private readonly max: number) {}

  /** Let more run once the loads are over. */
  loadDone(): void { if (--this.loading === 0) this.pump(); }

  /** `first`: ahead of the inspects (resource loads). */
  push(task: () => Promise<void>, first = false): void {
    this.lanes[first ? 0 : 1].push(task);
    this.pump();
  }

  private next(): (() => Promise<void>) | undefined {
    for (let l = 0; l < 2; l++) {
      const lane = this.lanes[l];
      if (this.heads[l] >= lane.length) continue;
      const t = lane[this.heads[l]];
      lane[this.heads[l]++] = undefined;
      // Drop the consumed prefix now and then (Array.shift is O(n) on 30,000 queued tasks).
      if (this.heads[l] >= 1024 && this.heads[l] * 2 >= lane.length) { this.lanes[l] = lane.slice(this.heads[l]); this.heads[l] = 0; }
      return t;
    }
    return undefined;
  }

  private pump(): void {
    const max = this.loading > 0 ? BACKGROUND_WHILE_LOADING : this.max;
    while (this.running < max) {
      const t = this.next();
      if (!t) return;
      this.running++;
      t().catch(() => undefined).finally(() => { this.running--; this.pump(); });
    }
  }
}
export const background = new BackgroundQueue(BACKGROUND_TASKS);
