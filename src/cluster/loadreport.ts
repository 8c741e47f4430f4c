// The first outcomes of a large addition of engines (a manager starting on
// 1,000) as a few lines, not one per engine: winston costs ~0.2 ms a line,
// 0.2 s of a load that is CPU-bound. The per-engine lines are at debug level.
import type { Engine } from './engine.js';
import { log } from '../log.js';

/** How often a load still under way says how far it is. */
const PROGRESS_MS = 5_000;
/** After this long, engines still pending are left to their own warnings. */
const REPORT_FOR_MS = 60_000;

export class LoadReport {
  /** The engines of the batch that turned healthy (a set: an engine whose ID changes is pending again). */
  private readonly healthy = new Set<Engine>();
  private members: Set<Engine>;
  private ended = false;
  private readonly started = Date.now();
  private readonly timer: NodeJS.Timeout;

  /** `present(e)`: whether e is still in the cluster (discovery may drop it meanwhile). */
  constructor(batch: Engine[], private readonly present: (e: Engine) => boolean) {
    this.members = new Set(batch);
    this.timer = setInterval(() => this.progress(), PROGRESS_MS).unref();
  }

  /** Whether e's first outcome is this report's to log (its own line is then at debug level). */
  covers(e: Engine): boolean { return !this.ended && this.members.has(e); }

  /** An engine turned healthy for the first time. */
  healthyOne(e: Engine): void {
    if (!this.covers(e)) return;
    this.healthy.add(e);
    if (this.healthy.size >= this.members.size) this.end('engines healthy');
  }

  /** Replaced by the report of a newer addition, or the cluster stops: one last line if it was still going. */
  stop(): void {
    if (!this.ended) this.end('engines loading');
  }

  private progress(): void {
    if (this.ended) return;
    if (this.pending() === 0) this.end('engines loaded');
    else if (Date.now() - this.started >= REPORT_FOR_MS) this.end('engines still pending after a minute (their own warnings follow)');
    else this.line('engines loading');
  }

  private end(msg: string): void {
    this.line(msg);
    this.ended = true;
    clearInterval(this.timer);
    // Nothing of the batch is kept past its report (engines may leave the cluster later).
    this.members = new Set();
    this.healthy.clear();
  }

  private pending(): number {
    let n = 0;
    for (const e of this.members) if (e.state === 'pending' && this.present(e)) n++;
    return n;
  }

  private line(msg: string): void {
    log.info(msg, { healthy: this.healthy.size, pending: this.pending(), of: this.members.size, ms: Date.now() - this.started });
  }
}
