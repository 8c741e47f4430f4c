// Soak: create/start/stop/rm cycles through the manager on 3 real engines.
//
//   node dist/bench/soak.js [--cycles 10000] [--clients 4] [--warmup 500] [--max-minutes M] [--exec]
//
// Root; cluster block 11 (slots 110-112; clusterBlock(11): engines 24700-24702, manager 24750),
// the bench block: run one bench at a time. The manager runs in a child of its
// own (bench/mgrhost.ts), so its RSS and fd count are sampled alone, and its
// reservations, in-flight names and exec records can be read at the end.
// Each cycle: create `busybox sleep 600` (NetworkMode none: a short start)
// with a unique name, start, stop?t=0, rm; --exec adds a detached exec of
// `true` before the stop. --max-minutes stops starting cycles after M minutes
// (the summary then covers the cycles done and projects the full run).
import { Pool } from 'undici';
import { ms, num, kb, percentile, table, uptimeLoad } from './lib.js';
import { arg, call, namesWithLabel, startBenchCluster } from './realcluster.js';

export type Op = 'create' | 'start' | 'exec' | 'stop' | 'rm';
export const OPS: Op[] = ['create', 'start', 'exec', 'stop', 'rm'];

export interface Sample { cycle: number; sec: number; rss: number; fds: number }
export interface SoakError { cycle: number; op: Op; status: number; message: string }

/**
 * RSS after warm-up is flat: the median of the last tenth of the samples
 * after warm-up is within ±limit of the median of the first tenth. Medians,
 * because V8 hands memory back in steps (a single low sample is not a leak,
 * nor is a single high one); the range is reported beside.
 */
export function rssVerdict(samples: Sample[], warmup: number, limitPct = 10): { base: number; end: number; endPct: number; minPct: number; maxPct: number; pass: boolean } {
  const after = samples.filter((s) => s.cycle >= warmup);
  if (!after.length) return { base: NaN, end: NaN, endPct: NaN, minPct: NaN, maxPct: NaN, pass: false };
  const tenth = Math.max(1, Math.floor(after.length / 10));
  const median = (xs: number[]): number => { const v = [...xs].sort((a, b) => a - b); return v[Math.floor(v.length / 2)]; };
  const base = median(after.slice(0, tenth).map((s) => s.rss));
  const end = median(after.slice(-tenth).map((s) => s.rss));
  const pct = (v: number): number => ((v - base) / base) * 100;
  const pcts = after.map((s) => pct(s.rss));
  const endPct = pct(end);
  return { base, end, endPct, minPct: Math.min(...pcts), maxPct: Math.max(...pcts), pass: Math.abs(endPct) <= limitPct };
}

/**
 * fd count after warm-up is flat: the median of the last tenth of the samples
 * is at most `slack` above the median of the first tenth (connections come
 * and go with keep-alive; a leak grows with the cycles).
 */
export function fdVerdict(samples: Sample[], warmup: number, slack = 2): { base: number; end: number; min: number; max: number; growth: number; pass: boolean } {
  const after = samples.filter((s) => s.cycle >= warmup);
  if (!after.length) return { base: NaN, end: NaN, min: NaN, max: NaN, growth: NaN, pass: false };
  const k = Math.max(1, Math.floor(after.length / 10));
  const med = (xs: number[]): number => percentile([...xs].sort((a, b) => a - b), 50);
  const first = med(after.slice(0, k).map((s) => s.fds));
  const last = med(after.slice(-k).map((s) => s.fds));
  const fds = after.map((s) => s.fds);
  return { base: after[0].fds, end: after[after.length - 1].fds, min: Math.min(...fds), max: Math.max(...fds), growth: last - first, pass: last - first <= slack };
}

/** Names that were used more than once. */
export function duplicates(names: string[]): string[] {
  const seen = new Set<string>();
  const dup = new Set<string>();
  for (const n of names) { if (seen.has(n)) dup.add(n); seen.add(n); }
  return [...dup];
}

export interface SoakOptions { cycles: number; clients: number; warmup: number; maxMinutes?: number; exec?: boolean; sampleEvery?: number; log?: (s: string) => void }

export async function runSoak(o: SoakOptions): Promise<{ report: string; pass: boolean }> {
  const say = o.log ?? ((s: string) => process.stdout.write(s + '\n'));
  const sampleEvery = o.sampleEvery ?? 100;
  const runId = `soak${Date.now().toString(36)}`;
  const bc = await startBenchCluster({ nodes: 3, name: 'soak', log: say });
  const { c, mgr } = bc;
  const loadStart = uptimeLoad();
  try {
    const mp = new Pool(`http://${mgr.addr}`, { connections: o.clients, pipelining: 1, keepAliveTimeout: 30_000, headersTimeout: 120_000, bodyTimeout: 120_000 });
    const lat: Record<Op | 'cycle', number[]> = { create: [], start: [], exec: [], stop: [], rm: [], cycle: [] };
    const errors: SoakError[] = [];
    const names: string[] = [];
    const ids: string[] = [];
    const samples: Sample[] = [];
    let next = 0;
    let done = 0;
    let heapAtWarmup = NaN;
    const t0 = performance.now();
    const stopAt = o.maxMinutes ? Date.now() + o.maxMinutes * 60_000 : Infinity;
    const sec = (): number => (performance.now() - t0) / 1000;
    samples.push({ cycle: 0, sec: 0, rss: mgr.vmRss(), fds: mgr.fds() });
    say(`soak ${runId}: ${o.cycles} cycles, ${o.clients} clients, warm-up ${o.warmup}; load at start: ${loadStart}`);

    const timed = async (op: Op, i: number, method: string, urlPath: string, body: unknown, want: number[], record = true): Promise<any> => {
      const a = performance.now();
      let r;
      try {
        r = await call(mp, method, urlPath, body);
      } catch (err) {
        errors.push({ cycle: i, op, status: 0, message: (err as Error).message });
        return undefined;
      }
      if (record) lat[op].push(performance.now() - a);
      if (!want.includes(r.status)) {
        errors.push({ cycle: i, op, status: r.status, message: (r.body?.message ?? r.text).slice(0, 300) });
        return undefined;
      }
      return r.body ?? {};
    };

    const worker = async (): Promise<void> => {
      while (next < o.cycles && Date.now() < stopAt) {
        const i = next++;
        const name = `${runId}-${i}`;
        names.push(name);
        const a = performance.now();
        const created = await timed('create', i, 'POST', `/v1.41/containers/create?name=${name}`,
          { Image: 'busybox', Cmd: ['sleep', '600'], Labels: { 'com.swarm-classic.bench': runId }, HostConfig: { NetworkMode: 'none' } }, [201]);
        if (!created?.Id) continue;
        ids.push(created.Id);
        const id = created.Id as string;
        let ok = (await timed('start', i, 'POST', `/v1.41/containers/${id}/start`, undefined, [204])) !== undefined;
        if (o.exec && ok) {
          // Create and start as one timed op: what `docker exec -d` costs.
          const b = performance.now();
          const ex = await timed('exec', i, 'POST', `/v1.41/containers/${id}/exec`, { Cmd: ['true'] }, [201], false);
          ok = ex?.Id !== undefined && (await timed('exec', i, 'POST', `/v1.41/exec/${ex.Id}/start`, { Detach: true }, [200], false)) !== undefined;
          if (ok) lat.exec.push(performance.now() - b);
        }
        ok = (await timed('stop', i, 'POST', `/v1.41/containers/${id}/stop?t=0`, undefined, [204, 304])) !== undefined && ok;
        // After a failure the rm must still go (force), so nothing is left behind.
        ok = (await timed('rm', i, 'DELETE', `/v1.41/containers/${id}${ok ? '' : '?force=1'}`, undefined, [204])) !== undefined && ok;
        if (ok) lat.cycle.push(performance.now() - a);
        done++;
        if (done === o.warmup) heapAtWarmup = (await mgr.state(true)).heapUsed;
        if (done % sampleEvery === 0) samples.push({ cycle: done, sec: sec(), rss: mgr.vmRss(), fds: mgr.fds() });
        if (done % 500 === 0) {
          const rate = done / sec();
          say(`  ${num(done)} cycles in ${sec().toFixed(0)} s: ${rate.toFixed(1)} cycles/s, RSS ${kb(mgr.vmRss())}, fds ${mgr.fds()}, errors ${errors.length}, ETA ${((o.cycles - done) / rate / 60).toFixed(1)} min, load ${uptimeLoad()}`);
        }
      }
    };
    await Promise.all(Array.from({ length: o.clients }, worker));
    const wall = sec();
    const loadEnd = uptimeLoad();
    samples.push({ cycle: done, sec: wall, rss: mgr.vmRss(), fds: mgr.fds() });
    await mp.close();

    // ---- the end state -------------------------------------------------------
    await new Promise((r) => setTimeout(r, 2000)); // events of the last removals settle
    const perEngine = await Promise.all(c.engines.map(async (e) => {
      const p = new Pool(`http://${e.addr}`, { connections: 1 });
      try {
        const ours = await namesWithLabel(p, 'com.swarm-classic.bench');
        const all = (await call(p, 'GET', '/v1.41/containers/json?all=1')).body as any[];
        return { name: e.name, ours, all: all.length };
      } finally { await p.close(); }
    }));
    const cp = new Pool(`http://${mgr.addr}`, { connections: 1 });
    const viaMgr = await namesWithLabel(cp, 'com.swarm-classic.bench');
    const mgrAll = ((await call(cp, 'GET', '/v1.41/containers/json?all=1')).body as any[]).length;
    await cp.close();
    const book = await mgr.state(true);
    const engineOrphans = perEngine.flatMap((e) => e.ours.map((n) => `${e.name}/${n}`));
    const engineAll = perEngine.reduce((n, e) => n + e.all, 0);
    const dups = duplicates(names);
    const dupIds = duplicates(ids);
    const conflicts = errors.filter((e) => e.status === 409);
    const rss = rssVerdict(samples, o.warmup);
    const fd = fdVerdict(samples, o.warmup);

    const stop = done < o.cycles ? ` (stopped after --max-minutes ${o.maxMinutes}: ${num(done)} of ${num(o.cycles)} cycles; at this rate the full run takes ${((o.cycles / (done / wall)) / 60).toFixed(1)} min)` : '';
    const pf = (b: boolean): string => (b ? 'PASS' : 'FAIL');
    const criteria: Array<[string, boolean, string]> = [
      ['zero errors', errors.length === 0, `${errors.length} errors`],
      ['RSS within ±10 % after warm-up (medians of the first and last tenth)', rss.pass, `${kb(rss.base)} after cycle ${o.warmup} → ${kb(rss.end)} at the end (${rss.endPct.toFixed(1)} %); range ${rss.minPct.toFixed(1)} % .. +${rss.maxPct.toFixed(1)} %`],
      ['fd count flat after warm-up', fd.pass, `${fd.base} at warm-up, ${fd.end} at the end, range ${fd.min}..${fd.max}, median growth first→last tenth ${fd.growth}`],
      ['no orphans on the engines', engineOrphans.length === 0, engineOrphans.length ? engineOrphans.slice(0, 10).join(', ') : 'none (each engine asked directly)'],
      ['manager ps -a agrees with the engines', viaMgr.length === 0 && mgrAll === engineAll && book.cachedContainers === engineAll,
        `manager: ${viaMgr.length} soak containers, ${mgrAll} in all, ${book.cachedContainers} cached; engines: ${engineAll} in all`],
      ['no leftover reservations', book.reservations === 0 && book.pendingNames === 0, `${book.reservations} reservations, ${book.pendingNames} names in flight`],
      ['no leftover exec records', book.execRecords === 0, `${book.execRecords} exec records`],
      ['every name unique (no 409, no duplicate)', dups.length === 0 && dupIds.length === 0 && conflicts.length === 0,
        `${num(names.length)} names, ${dups.length} duplicates, ${dupIds.length} duplicate IDs, ${conflicts.length} 409s`],
    ];
    const pass = criteria.every(([, ok]) => ok);
    const out = [
      `Soak: ${num(done)} create/start/${o.exec ? 'exec/' : ''}stop/rm cycles through the manager on 3 real dockerd 20.10 engines, ${o.clients} clients${stop}.`,
      `Duration ${wall.toFixed(1)} s, ${(done / wall).toFixed(2)} cycles/s (${((done * (o.exec ? 6 : 4)) / wall).toFixed(1)} requests/s). Load (uptime) at start: ${loadStart}; at the end: ${loadEnd}.`,
      '',
      table(['op', 'n', 'p50 ms', 'p99 ms', 'max ms'], [...OPS.filter((op) => op !== 'exec' || o.exec), 'cycle' as const].map((op) => {
        const s = [...lat[op]].sort((a, b) => a - b);
        return [op, num(s.length), ms(percentile(s, 50)), ms(percentile(s, 99)), ms(s[s.length - 1] ?? NaN)];
      })),
      '',
      `Manager (pid ${mgr.pid}) sampled every ${sampleEvery} cycles: RSS start ${kb(samples[0].rss)}, warm-up ${kb(rss.base)}, end ${kb(rss.end)}; fds start ${samples[0].fds}, warm-up ${fd.base}, end ${fd.end}. Live heap (after a full GC): warm-up ${kb(heapAtWarmup)}, end ${kb(book.heapUsed)}.`,
      `RSS/fd samples (cycle: RSS, fds): ${samples.filter((_, i) => i % Math.max(1, Math.floor(samples.length / 12)) === 0 || i === samples.length - 1).map((s) => `${s.cycle}: ${kb(s.rss)}, ${s.fds}`).join('; ')}`,
      '',
      table(['criterion', 'result', 'figures'], criteria.map(([n, ok, f]) => [n, pf(ok), f])),
      ...(errors.length ? ['', `errors (first 20 of ${errors.length}):`, ...errors.slice(0, 20).map((e) => `  cycle ${e.cycle} ${e.op}: HTTP ${e.status} ${e.message}`)] : []),
      '',
      `soak: ${pass ? 'PASS' : 'FAIL'}`,
    ].join('\n');
    return { report: out, pass };
  } finally {
    await bc.stop();
  }
}

if (require.main === module) {
  const mm = process.argv.indexOf('--max-minutes');
  runSoak({
    cycles: arg('--cycles', 10_000), clients: arg('--clients', 4), warmup: arg('--warmup', 500),
    maxMinutes: mm >= 0 ? Number(process.argv[mm + 1]) : undefined, exec: process.argv.includes('--exec'),
  })
    .then((r) => { process.stdout.write('\n' + r.report + '\n'); process.exit(r.pass ? 0 : 1); })
    .catch((err) => { process.stderr.write(`${(err as Error).stack}\n`); process.exit(2); });
}
