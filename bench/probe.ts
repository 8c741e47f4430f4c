// Preloaded into the manager child (`node -r dist/bench/probe.js ...`):
// answers `stats` over IPC with memory, CPU time and event-loop delay since
// the last reset. Does nothing without an IPC channel.
import { PerformanceObserver, constants, monitorEventLoopDelay } from 'node:perf_hooks';

if (process.send) {
  const RES_MS = 5;
  const h = monitorEventLoopDelay({ resolution: RES_MS });
  const d = (ns: number): number => (Number.isFinite(ns) ? Math.max(0, ns / 1e6 - RES_MS) : NaN);
  h.enable();
  let cpu = process.cpuUsage();
  // The delay monitor wakes the loop every RES_MS: off for an idle window,
  // where those wake-ups (and the V8 tasks they let run) cost more than the
  // manager's own idle work.
  process.on('message', (m: any) => {
    if (m?.cmd !== 'eld') return;
    if (m.on) h.enable(); else h.disable();
    process.send!({ id: m.id });
  });
  // A CPU profile of a window (`profile` start, then stop with a file): the idle window alone.
  let session: import('node:inspector').Session | undefined;
  const heapKinds = new Set(['heap', 'live', 'aged']);
  process.on('message', (m: any) => {
    if (m?.cmd !== 'profile') return;
    void (async () => {
      const inspector = await import('node:inspector');
      const post = (method: string, params?: object): Promise<any> => new Promise((resolve, reject) => session!.post(method, params ?? {}, (err, r) => (err ? reject(err) : resolve(r))));
      // kind 'heap': V8's sampling heap profiler, counting what the collector
      // already freed too: where a window's allocation (its GC work) comes from.
      // kind 'live': the same without what was freed.
      // kind 'aged': without what scavenges freed: what lived long enough to be
      // promoted (kept, or freed later by a full collection: the old space's garbage).
      if (m.action === 'start') {
        session = new inspector.Session();
        session.connect();
        if (heapKinds.has(m.kind)) {
          // 'live': only what is still in the heap at the stop (what a window kept, or promoted and not yet collected)
          await post('HeapProfiler.enable');
          await post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: m.kind !== 'live', includeObjectsCollectedByMinorGC: m.kind === 'heap' });
        } else {
          await post('Profiler.enable');
          await post('Profiler.start');
        }
        process.send!({ id: m.id });
        return;
      }
      const { profile } = await post(heapKinds.has(m.kind) ? 'HeapProfiler.stopSampling' : 'Profiler.stop');
      session?.disconnect();
      session = undefined;
      (await import('node:fs')).writeFileSync(m.file, JSON.stringify(profile));
      process.send!({ id: m.id, file: m.file });
    })();
  });
  process.on('message', (m: any) => {
    if (m?.cmd !== 'stats') return;
    // With --expose-gc, a full collection first gives the live size.
    const gc = (globalThis as { gc?: (o?: { type: 'minor' }) => void }).gc;
    // 'minor': two scavenges only, so the young generation's garbage is freed as a scavenge would (see 'aged').
    if (m.gc === 'minor' && gc) { gc({ type: 'minor' }); gc({ type: 'minor' }); } else if (m.gc && gc) gc();
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
  // Collections since the last `gc` reset, by kind: main-thread pause time
  // (the concurrent markers' CPU is in cpuMs, not here). Tells whether a
  // row's tail or an idle window's CPU was the collector's.
  const zero = () => ({ minor: 0, minorMs: 0, major: 0, majorMs: 0, maxMs: 0 });
  let gcs = zero();
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = (e as unknown as { detail?: { kind?: number } }).detail?.kind;
      if (kind === constants.NODE_PERFORMANCE_GC_MINOR) { gcs.minor++; gcs.minorMs += e.duration; }
      else if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) { gcs.major++; gcs.majorMs += e.duration; }
      else continue;
      gcs.maxMs = Math.max(gcs.maxMs, e.duration);
    }
  }).observe({ entryTypes: ['gc'] });
  process.on('message', (m: any) => {
    if (m?.cmd !== 'gcs') return;
    const mem = process.memoryUsage();
    process.send!({ id: m.id, gcs: { ...gcs, heapUsed: mem.heapUsed, external: mem.external } });
    if (m.reset) gcs = zero();
  });
  // Don't hold the manager alive for the channel, and go when the bench goes.
  process.channel?.unref();
  process.on('disconnect', () => process.kill(process.pid, 'SIGTERM'));
}
