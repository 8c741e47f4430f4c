// GET /metrics: Prometheus text format (prom-client), on a registry of our
// own per API context. Requests are counted by the wrapper (./wrapper.ts
// logRequest sees every request and hijack, with its route name); all the
// rest is read from the cluster facade when scraped, so an idle manager
// spends nothing on metrics. No prom-client default metrics: their event-loop
// lag monitor wakes the process every 10 ms; the few process figures worth
// having are read here at scrape time instead. Each family's HELP text says
// what it counts.
import fs from 'node:fs';
import { Counter, Histogram, Registry, type MetricValue } from 'prom-client';
import type { ApiContext } from './context.js';
import type { Buckets, ClusterMetrics } from '../cluster/index.js';

type Values = Array<MetricValue<string> & { metricName?: string }>;

/** A family whose values are read when scraped. */
function readOnly(registry: Registry, name: string, help: string, type: 'gauge' | 'counter' | 'histogram', values: () => Values): void {
  // What the registry asks of a metric: its name and get().
  const get = (): object => ({ name, help, type, values: values(), aggregator: 'sum' });
  registry.registerMetric({ name, help, type, get } as never);
}

function histogramValues(name: string, b: Buckets): Values {
  const out: Values = [];
  let cumulative = 0;
  b.bounds.forEach((le, i) => { cumulative += b.counts[i]; out.push({ metricName: `${name}_bucket`, labels: { le }, value: cumulative }); });
  out.push({ metricName: `${name}_bucket`, labels: { le: '+Inf' }, value: b.count });
  out.push({ metricName: `${name}_sum`, labels: {}, value: b.sum });
  out.push({ metricName: `${name}_count`, labels: {}, value: b.count });
  return out;
}

function openFds(): number {
  try { return fs.readdirSync('/proc/self/fd').length; } catch { return 0; }
}

function maxFds(): number {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(fs.readFileSync('/proc/self/limits', 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch { return 0; }
}

export class ApiMetrics {
  readonly registry = new Registry();
  private readonly requests = new Counter({ name: 'swarm_http_requests_total', help: 'API requests answered, by route name and status code (101: hijacked).', labelNames: ['route', 'code'], registers: [this.registry] });
  private readonly latency = new Histogram({
    name: 'swarm_http_request_duration_seconds', help: 'Time from a request\'s arrival to the end of its answer (to the hijack for attach/exec), by route name and status code.',
    labelNames: ['route', 'code'], buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers: [this.registry],
  });
  /** The cluster's figures for the scrape in progress. */
  private snap: ClusterMetrics | undefined;

  constructor(private readonly ctx: ApiContext) {
    const r = this.registry;
    const c = (): ClusterMetrics => (this.snap ??= ctx.cluster.metrics());
    readOnly(r, 'swarm_engines', 'Engines by state.', 'gauge', () => Object.entries(c().engines).map(([state, value]) => ({ labels: { state }, value })));
    readOnly(r, 'swarm_containers', 'Containers in the manager\'s cache, every engine.', 'gauge', () => [{ labels: {}, value: c().containers }]);
    readOnly(r, 'swarm_pending_reservations', 'Creates in flight holding a CPU/memory/port reservation on a node.', 'gauge', () => [{ labels: {}, value: c().pendingReservations }]);
    readOnly(r, 'swarm_engine_sockets', 'Open sockets to engines, by pool: manager (own calls), client (clients\' buffered calls), stream (proxied streams), hijack (attach/exec), probe (liveness pings), events (event streams).', 'gauge',
      () => Object.entries(c().sockets).map(([pool, value]) => ({ labels: { pool }, value })));
    readOnly(r, 'swarm_engine_refresh_duration_seconds', 'Full refreshes of one engine (container list, inspects of new containers, images, networks, volumes).', 'histogram',
      () => histogramValues('swarm_engine_refresh_duration_seconds', c().refreshSeconds));
    readOnly(r, 'swarm_event_lag_seconds', 'Per engine event: its arrival at the manager minus its time on the engine.', 'histogram',
      () => histogramValues('swarm_event_lag_seconds', c().eventLagSeconds));
    readOnly(r, 'swarm_event_lag_max_seconds', 'The largest lag among the engines\' last events.', 'gauge', () => [{ labels: {}, value: c().eventLagMax }]);
    readOnly(r, 'swarm_event_streams_lost_total', 'Engine event streams lost (engine gone, stream broken).', 'counter', () => [{ labels: {}, value: c().streamsLost }]);
    readOnly(r, 'swarm_event_streams_resumed_total', 'Event streams reopened after a loss (with since=, then a full refresh).', 'counter', () => [{ labels: {}, value: c().streamsResumed }]);
    readOnly(r, 'swarm_container_inspects_total', 'Client container inspects by where the answer came from: memory (unchanged since the engine last answered it, or shared with a call in flight) or the engine.', 'counter',
      () => [{ labels: { from: 'memory' }, value: c().inspects.memory }, { labels: { from: 'engine' }, value: c().inspects.engine }]);
    readOnly(r, 'swarm_container_inspect_kept_bytes', 'Inspect answers kept in memory to be served again.', 'gauge', () => [{ labels: {}, value: c().inspects.keptBytes }]);
    // Process figures under the names Prometheus clients use.
    readOnly(r, 'process_cpu_seconds_total', 'User and system CPU time of the manager.', 'counter', () => {
      const u = process.cpuUsage();
      return [{ labels: {}, value: (u.user + u.system) / 1e6 }];
    });
    readOnly(r, 'process_resident_memory_bytes', 'Resident memory of the manager.', 'gauge', () => [{ labels: {}, value: process.memoryUsage.rss() }]);
    readOnly(r, 'process_heap_bytes', 'V8 heap in use.', 'gauge', () => [{ labels: {}, value: process.memoryUsage().heapUsed }]);
    readOnly(r, 'process_open_fds', 'Open file descriptors.', 'gauge', () => [{ labels: {}, value: openFds() }]);
    readOnly(r, 'process_max_fds', 'Limit on open file descriptors.', 'gauge', () => [{ labels: {}, value: maxFds() }]);
    const started = Date.now() / 1000 - process.uptime();
    readOnly(r, 'process_start_time_seconds', 'Start of the manager process, seconds since the epoch.', 'gauge', () => [{ labels: {}, value: Math.round(started) }]);
  }

  /** One request over (logRequest): `status` is the code, or "hijack". */
  request(route: string, status: number | string, seconds: number): void {
    const code = status === 'hijack' ? '101' : String(status);
    const labels = { route: route === '-' ? 'none' : route, code };
    this.requests.inc(labels);
    this.latency.observe(labels, seconds);
  }

  async render(): Promise<string> {
    this.snap = undefined;
    try { return await this.registry.metrics(); } finally { this.snap = undefined; }
  }
}

const byContext = new WeakMap<ApiContext, ApiMetrics>();

export function metricsOf(ctx: ApiContext): ApiMetrics {
  let m = byContext.get(ctx);
  if (!m) byContext.set(ctx, (m = new ApiMetrics(ctx)));
  return m;
}
