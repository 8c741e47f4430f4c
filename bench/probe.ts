// Preloaded into the manager child (`node -r dist/bench/probe.js ...`):
// answers `stats` over IPC with memory, CPU time and event-loop delay since
// the last reset. Does nothing without an IPC channel.
import { monitorEventLoopDelay } from 'node:perf_hooks';

if (process.send) {
  const h = monitorEventLoopDelay({ resolution: 5 });
  h.enable();
  let cpu = process.cpuUsage();
  process.on('message', (m: any) => {
    if (m?.cmd !== 'stats') return;
    const mem = process.memoryUsage();
    const used = process.cpuUsage(cpu);
    const stats = {
      rss: mem.rss, heapUsed: mem.heapUsed,
      cpuMs: (used.user + used.system) / 1000,
      eld: { p50: h.percentile(50) / 1e6, p99: h.percentile(99) / 1e6, max: h.max / 1e6, mean: h.mean / 1e6 },
    };
    if (m.reset) { h.reset(); cpu = process.cpuUsage(); }
    process.send!({ id: m.id, stats });
  });
  // Don't hold the manager alive for the channel, and go when the bench goes.
  process.channel?.unref();
  process.on('disconnect', () => process.kill(process.pid, 'SIGTERM'));
}
