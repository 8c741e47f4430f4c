// What the cluster counts for GET /metrics (src/api/metrics.ts), as plain
// numbers: the API layer turns them into Prometheus families at scrape time.
// Engines and event streams record into `engineStats` (process-wide, as a
// manager process has one cluster); gauges are read from the cluster when
// scraped, so nothing here runs while nobody scrapes.
import type { Cluster } from './cluster.js';
import type { EngineState } from './engine.js';

/** A histogram with fixed upper bounds (seconds); counts per bucket, not cumulative. */
export class Buckets {
  readonly counts: number[];
  sum = 0;
  count = 0;

  constructor(readonly bounds: readonly number[]) { this.counts = new Array<number>(bounds.length + 1).fill(0); }

  observe(v: number): void {
    this.sum += v;
    this.count++;
    let i = 0;
    while (i < this.bounds.length && v > this.bounds[i]) i++;
    this.counts[i]++; // the last slot is +Inf
  }
}

export const engineStats = {
  /** Engine.fullRefresh durations (list, new inspects, images, networks, volumes). */
  refreshSeconds: new Buckets([0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]),
  /** Per event: its arrival here minus its time on the engine. */
  eventLagSeconds: new Buckets([0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]),
  /** The lag of each engine's last event, by engine address. */
  lastLag: new Map<string, number>(),
  /** Event streams lost (the engine went away, or the stream broke) and resumed with `since`. */
  streamsLost: 0,
  streamsResumed: 0,
  /** Event streams open now. */
  openStreams: new Set<object>(),

  /** An event arrived that the engine stamped `nano` (ns since the epoch). */
  event(addr: string, nano: bigint): void {
    if (nano <= 0n) return;
    // Clocks of engine hosts may run ahead of ours: that is no lag.
    const lag = Math.max(0, Date.now() / 1000 - Number(nano / 1_000_000n) / 1000);
    this.eventLagSeconds.observe(lag);
    this.lastLag.set(addr, lag);
  },
};

/** Everything GET /metrics shows about the cluster, read at scrape time. */
export interface ClusterMetrics {
  engines: Record<EngineState, number>;
  containers: number;
  /** Creates in flight holding a reservation on a node. */
  pendingReservations: number;
  /** Open sockets to engines, per pool (see ./transport.ts). */
  sockets: { manager: number; client: number; stream: number; hijack: number; probe: number; events: number };
  refreshSeconds: Buckets;
  eventLagSeconds: Buckets;
  /** The largest lag of any engine's last event (seconds). */
  eventLagMax: number;
  streamsLost: number;
  streamsResumed: number;
  /** Client inspects answered from memory (kept or shared) and asked of the engine; bytes kept (see ./inspectcache.ts). */
  inspects: { memory: number; engine: number; keptBytes: number };
}

export function clusterMetrics(cluster: Cluster): ClusterMetrics {
  const engines: Record<EngineState, number> = { pending: 0, healthy: 0, unhealthy: 0, disconnected: 0 };
  const sockets = { manager: 0, client: 0, stream: 0, hijack: 0, probe: 0, events: engineStats.openStreams.size };
  let eventLagMax = 0;
  for (const e of cluster.engines.values()) {
    engines[e.state]++;
    const s = e.transport.openSockets();
    sockets.manager += s.manager;
    sockets.client += s.client;
    sockets.stream += s.stream;
    sockets.hijack += s.hijack;
    sockets.probe += s.probe;
    eventLagMax = Math.max(eventLagMax, engineStats.lastLag.get(e.addr) ?? 0);
  }
  return {
    engines, containers: cluster.containerCount, pendingReservations: cluster.placement.pendingTotal, sockets,
    refreshSeconds: engineStats.refreshSeconds, eventLagSeconds: engineStats.eventLagSeconds, eventLagMax,
    streamsLost: engineStats.streamsLost, streamsResumed: engineStats.streamsResumed,
    inspects: { memory: cluster.ops.inspects.hits, engine: cluster.ops.inspects.misses, keptBytes: cluster.ops.inspects.keptBytes },
  };
}
