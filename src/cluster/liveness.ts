// Liveness of a healthy engine. A frozen engine (SIGSTOP, a hung daemon, a
// host whose kernel still completes TCP handshakes) closes nothing, so its
// event stream just goes quiet and every call to it waits out its timeout.
// An engine that has answered nothing for a while is therefore pinged with
// a short timeout; misses count as failures, so it turns unhealthy after
// --engine-failure-retry of them, and it leaves placement at the first.
import { ProbeInconclusive, type EngineTransport } from './transport.js';

/** How long a ping may take before it counts as a miss. */
export const PROBE_TIMEOUT_MS = 3_000;
/** Silence after which a healthy engine is pinged (the least interval). */
export const PROBE_SILENCE_MS = 2_000;
/** After a miss, the next ping follows this soon. */
export const PROBE_RETRY_MS = 500;
/**
 * Cluster-wide cap on idle probes: every 2 s up to 4 engines, one probe per
 * engine every 500 s at 1,000. Each costs the manager ~1.25 ms of CPU (GC
 * included), so 10 a second were an idle manager's whole 1.25 %
 * (bench/startup.ts). A frozen engine also fails its periodic refresh, and
 * a call that times out on it marks it suspect, which count as misses too.
 */
export const PROBES_PER_SECOND = 2;

/** Periodic refreshes of quiet engines per second, cluster-wide, at most (Engine's quietRefreshMs). */
export const QUIET_REFRESHES_PER_SECOND = 1;

/** The least interval between periodic refreshes of a quiet engine in a cluster of `engines`. */
export function quietRefreshInterval(engines: number): number {
  return Math.ceil((engines * 1000) / QUIET_REFRESHES_PER_SECOND);
}

/** The probe interval for a cluster of `engines`. */
export function probeInterval(engines: number): number {
  return Math.max(PROBE_SILENCE_MS, Math.ceil((engines * 1000) / PROBES_PER_SECOND));
}

/**
 * How long the probe connection stays open: past the next ping, so a ping
 * reuses it (one idle socket per engine; its event stream is the other).
 */
export function probeKeepMs(every: number): number {
  return Math.min(Math.max(60_000, 2 * every), 7_200_000);
}

export interface LivenessHooks {
  /** A ping went unanswered (or failed). */
  miss(err: Error): void;
  /** A ping was answered after one or more misses. */
  recovered(): void;
  /** `suspect` changed. */
  suspicion(): void;
}

export class Liveness {
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  /** The last ping was missed: keep new containers away until one is answered. */
  get suspect(): boolean { return this.suspected; }
  private set suspect(v: boolean) {
    if (v === this.suspected) return;
    this.suspected = v;
    this.hooks.suspicion();
  }
  private suspected = false;

  constructor(private readonly transport: EngineTransport, private readonly every: () => number, private readonly hooks: LivenessHooks) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.suspect = false;
    // Engines turn healthy together at start-up: a random first delay spreads
    // their pings over the interval instead of sending them all at once.
    this.schedule(this.every() * Math.random());
  }

  stop(): void {
    this.running = false;
    this.suspect = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private schedule(ms: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick(), ms);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    this.timer = null;
    if (!this.running) return;
    const every = this.every();
    const quiet = Date.now() - this.transport.lastAnswerAt;
    // Heard from lately: look again once it may have gone silent, plus a random
    // part, so engines that all answered at once are not all pinged at once.
    if (!this.suspect && quiet < every) { this.schedule(every - quiet + (every * Math.random()) / 2); return; }
    try {
      await this.transport.probe(PROBE_TIMEOUT_MS, false, probeKeepMs(every));
      if (this.suspect) { this.suspect = false; if (this.running) this.hooks.recovered(); }
    } catch (err) {
      if (!this.running) return;
      if (err instanceof ProbeInconclusive) { this.schedule(PROBE_RETRY_MS); return; }
      this.suspect = true;
      this.hooks.miss(err as Error);
    }
    if (this.running && !this.timer) this.schedule(this.suspect ? PROBE_RETRY_MS : every);
  }
}
