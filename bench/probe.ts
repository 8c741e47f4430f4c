// Preloaded into the manager child (`node -r dist/bench/probe.js ...`):
// answers `stats` over IPC with memory, CPU time and event-loop delay since
// the last reset. Does nothing without an IPC channel.
import { monitorEventLoopDelay } from 'node:perf_hooks';

if (process.send) {
  const RES_MS = 5;
  const h = monitorEventLoopDelay({ resolution: RES_MS });
  const d = (ns: number): number => (Number.isFinite(ns) ? Math.max(0, ns / 1e6 - RES_MS) : NaN);
  h.enable();
  let cpu = process.cpuUsage();
  process.on('message', (m: any) => {
    if (m?.cmd !== 'stats') return;
    // With --expose-gc, a full collection first gives the live size.
    const gc = (globalThis as { gc?: () => void }).gc;
    if (m.gc && gc) gc();
    const mem = process.memoryUsage();
    const used = process.cpuUsage(cpu);
    const stats = {
      rss: mem.rss, heapUsed: mem.heapUsed, heapTotal: mem.heapTotal, external: mem.external, arrayBuffers: mem.arrayBuffers,
      cpuMs: (used.user + used.system) / 1000,
      // The histogram holds timer periods (resolution + delay): keep the delay.
      eld: { p50: d(h.percentile(50)), p99: d(h.percentile(99)), max: d(h.max), mean: d(h.mean) },
    };
    if (m.reset) { h.reset(); cpu = process.cpuUsage(); }
    process.send!({ id: m.id, stats });
  });
  // Don't hold the manager alive for the channel, and go when the bench goes.
  process.channel?.unref();
  process.on('disconnect', () => process.kill(process.pid, 'SIGTERM'));
}
