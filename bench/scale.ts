// Scale: one manager in front of many simulated engines (default 1,000 × 30
// containers = 30,000). Reproduces every row of issue 15's first table, with
// the same request straight to one simulator as the floor ("× floor").
//
//   node dist/bench/scale.js [--engines 100,1000,5000] [--containers 30] [--runs 3]
//                            [--idle 30] [--settle 60] [--base-port 27000] [--cli-runs 20] [--only TEXT] [--prof] [--row-prof] [--inspect-over N]
//
// Per run: simulators in child processes (≤ 1,000 each, ports BASE..), the
// manager spawned as `swarm manage` (port BASE-10, probe preloaded) and polled
// from t=0 every 100 ms for its first /_ping and /info answers, every engine
// Healthy and every container cached (once /info answers, the gap between polls
// is max(100 ms, 4 × the last /info's latency), so the polls stay ≤ ~20 % of the time); VmRSS sampled every 100 ms all along
// (peak); an idle window (--idle S, --settle S after the load: idle CPU, then a full GC: settled RSS);
// then the request rows. Each run prints its table; with --runs N a table of
// medians per row follows, and with several --engines a growth table (medians
// side by side). --row-prof: a CPU profile of each timed row alone. A row that fails prints "error: …" and the run goes on.
// This file is long (~450 lines) because every row of the issue lives here.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Pool } from 'undici';
import {
  fdLimit, gcNote, kb, measureOps, median, ms, num, pool, procCpuMs, req, sleep, startManagerChild, startSimHost, table, timeCli,
  uptimeLoad, type GcStats, type ManagerChild, type OpStats, type SimHost,
} from './lib.js';
import { summarizeProfile } from './profsummary.js';

const PROF_DIR = '/tmp/swarm-bench-prof';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}
function argList(name: string, dflt: number[]): number[] {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1].split(',').map((x) => Number(x.replace(/_/g, ''))) : dflt;
}

/** One figure of one run. kind: how `v`/`p99`/`floor` print (ms, bytes, % of a core, CPU-ms per request). */
export interface Row {
  name: string;
  kind: 'ms' | 'bytes' | 'pct';
  /** p50 (or the single value). */
  v: number;
  p99: number;
  /** The same request straight to one simulator, p50. */
  floor: number;
  /** Manager CPU per request (ms). */
  cpu: number;
  note: string;
  error?: string;
}

const row = (name: string, kind: Row['kind'], v: number, note = '', extra: Partial<Row> = {}): Row =>
  ({ name, kind, v, p99: NaN, floor: NaN, cpu: NaN, note, ...extra });

const fmt = (kind: Row['kind'], v: number): string =>
  !Number.isFinite(v) ? '-' : kind === 'bytes' ? kb(v) : kind === 'pct' ? `${v.toFixed(2)} %` : ms(v);

function rowsTable(rows: Row[]): string {
  return table(['figure', 'p50 / value', 'p99', 'floor p50', '× floor', 'manager CPU ms/req', 'note'], rows.map((r) => r.error
    ? [r.name, `error: ${r.error}`, '', '', '', '', r.note]
    : [r.name, fmt(r.kind, r.v), fmt(r.kind, r.p99), fmt(r.kind, r.floor),
      Number.isFinite(r.floor) && Number.isFinite(r.v) && r.floor > 0 ? (r.v / r.floor).toFixed(1) : '-',
      Number.isFinite(r.cpu) ? ms(r.cpu) : '-', r.note]));
}

/** Median per row over runs (rows matched by name; a row that failed in every run stays an error). */
function medians(runs: Row[][]): Row[] {
  const names = [...new Set(runs.flatMap((rs) => rs.map((r) => r.name)))];
  return names.map((name) => {
    const all = runs.map((rs) => rs.find((r) => r.name === name)).filter((r): r is Row => !!r);
    const ok = all.filter((r) => !r.error);
    const first = all[0];
    if (!ok.length) return { ...first };
    const m = (f: (r: Row) => number): number => median(ok.map(f));
    const failed = all.length - ok.length;
    return {
      name, kind: first.kind, v: m((r) => r.v), p99: m((r) => r.p99), floor: m((r) => r.floor), cpu: m((r) => r.cpu),
      note: `${ok.length} run${ok.length > 1 ? 's' : ''}${failed ? `, ${failed} failed (${all.find((r) => r.error)?.error})` : ''}; ${ok[ok.length - 1].note}`,
    };
  });
}

interface RunOptions { engines: number; perEngine: number; basePort: number; idleS: number; settleS: number; cliRuns: number; run: number; only?: string; prof: boolean; rowProf: boolean; inspectOver: number; loadTimeoutS: number }

const say = (s: string): void => { process.stdout.write(`[${new Date().toISOString().slice(11, 23)}] ${s}\n`); };

async function runOnce(o: RunOptions): Promise<{ rows: Row[]; lines: string[] }> {
  const { engines, perEngine } = o;
  const total = engines * perEngine;
  const rows: Row[] = [];
  const lines: string[] = [];
  let sims: SimHost | undefined;
  let mgr: ManagerChild | undefined;
  const pools: Pool[] = [];
  const P = (addr: string, n: number): Pool => { const p = pool(addr, n); pools.push(p); return p; };
  let sampler: NodeJS.Timeout | undefined;
  const cleanup = async (): Promise<void> => {
    if (sampler) clearInterval(sampler);
    await Promise.all(pools.splice(0).map((p) => p.close().catch(() => undefined)));
    await mgr?.stop().catch(() => undefined);
    await sims?.stop().catch(() => undefined);
    mgr = undefined;
    sims = undefined;
  };
  const onSignal = (): void => { void cleanup().finally(() => process.exit(130)); };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    let t = Date.now();
    sims = await startSimHost({ count: engines, basePort: o.basePort, containers: perEngine });
    say(`${engines} simulators up (${num(total)} containers, ${sims.pids.length} processes) in ${Date.now() - t} ms`);
    if (o.prof) { fs.rmSync(PROF_DIR, { recursive: true, force: true }); fs.mkdirSync(PROF_DIR, { recursive: true }); }

    // ---- start-up: poll from the spawn -----------------------------------------
    const discovery = `nodes://${sims.engines.map((e) => e.addr).join(',')}`;
    const mport = o.basePort - 10;
    const maddr = `127.0.0.1:${mport}`;
    t = Date.now();
    mgr = await startManagerChild({
      port: mport, discovery, wait: false,
      // The refresh loop would re-list every engine every 30-60s; keep it out of the figures.
      args: ['--engine-refresh-min-interval', '1h', '--engine-refresh-max-interval', '2h'],
      logFile: path.join(os.tmpdir(), `swarm-bench-scale-manager-${mport}.log`),
      cpuProfDir: o.prof ? PROF_DIR : undefined,
      nodeArgs: ['--expose-gc', ...(process.env.SCALE_NODE_ARGS ? process.env.SCALE_NODE_ARGS.split(' ').filter(Boolean) : [])],
    });
    const m = mgr;
    // Where the peak was reached: the load, or the request row running then.
    // What the RSS was made of at its peak: V8's heap, external (Buffers), and the rest (malloc, code).
    let peak = 0, phase = 'the load', peakIn = '', loadPeak = 0, peakHeap = '';
    const sample = (): void => {
      const r = m.vmRss();
      if (r <= peak) return;
      peak = r; peakIn = phase;
      m.stats().then((st) => { if (peak === r) peakHeap = `heap ${kb(st.heapUsed)} of ${kb(st.heapTotal)}, external ${kb(st.external)}`; }, () => undefined);
    };
    sampler = setInterval(sample, 100);
    let pingAt = 0, infoAt = 0, healthyAt = 0, cachedAt = 0;
    let last = { healthy: 0, containers: 0 };
    const deadline = t + o.loadTimeoutS * 1000;
    const pingPoll = (async () => {
      const p = P(maddr, 1);
      while (!pingAt && Date.now() < deadline && m.alive()) {
        const ok = await p.request({ method: 'GET', path: '/_ping' }).then(async (r) => { await r.body.dump(); return r.statusCode === 200; }, () => false);
        if (ok) pingAt = Date.now(); else await sleep(100);
      }
    })();
    let pollGap = 100;
    const infoPoll = (async () => {
      const p = P(maddr, 1);
      while (!cachedAt && Date.now() < deadline && m.alive()) {
        const t1 = Date.now();
        const info = await p.request({ method: 'GET', path: '/info' }).then(async (r) => (r.statusCode === 200 ? r.body.json() : (await r.body.dump(), undefined)), () => undefined) as any;
        // Once /info answers, poll at most ~20 % of the time: at 1,000 engines an /info costs the
        // manager tens of ms, and back-to-back polls would slow the load they measure.
        pollGap = info ? Math.max(100, 4 * (Date.now() - t1)) : 100;
        if (info) {
          infoAt ||= Date.now();
          let healthy = 0;
          for (const [k, v] of (info.SystemStatus ?? []) as Array<[string, string]>) if (k === '  └ Status' && v === 'Healthy') healthy++;
          last = { healthy, containers: info.Containers };
          if (!healthyAt && healthy === engines) healthyAt = Date.now();
          if (healthy === engines && info.Containers >= total) { cachedAt = Date.now(); break; }
        }
        await sleep(pollGap);
      }
    })();
    await Promise.all([pingPoll, infoPoll]);
    const loadStats = await m.stats(true).catch(() => undefined);
    const since = (at: number): number => (at ? at - t : NaN);
    const never = (at: number): string => (at ? '' : m.alive() ? `not within ${o.loadTimeoutS} s` : `manager exited; see ${m.logFile}`);
    rows.push(row('spawn → first /_ping answer', 'ms', since(pingAt), never(pingAt)));
    rows.push(row('spawn → first /info answer', 'ms', since(infoAt), never(infoAt)));
    // The manager's own log line: when it saw the last engine turn Healthy, without the gap between polls
    // or the queueing of an /info behind the load (both the polls' CPU and this bench's share the 2 cores still).
    const logged = /^(\S+) INFO engines healthy healthy=(\d+) pending=0/m.exec(fs.readFileSync(m.logFile, 'utf8'));
    const loggedNote = logged && Number(logged[2]) === engines ? `; the manager's log says all healthy at ${num(Date.parse(logged[1]) - t)} ms` : '';
    rows.push(row('spawn → every engine Healthy', 'ms', since(healthyAt), (never(healthyAt) || `${last.healthy}/${engines} healthy at the end`) + loggedNote));
    rows.push(row('spawn → all containers cached', 'ms', since(cachedAt), never(cachedAt) || `${num(last.containers)}/${num(total)} at the end`));
    if (loadStats) rows.push(row('manager CPU during the load', 'ms', loadStats.cpuMs, `event-loop delay p99 ${ms(loadStats.eld.p99)} ms, max ${ms(loadStats.eld.max)} ms`));
    const simFds = sims.pids.map((pid) => { try { return fs.readdirSync(`/proc/${pid}/fd`).length; } catch { return NaN; } });
    const counts = await sims.counts();
    lines.push(`engine calls during the load: ${Object.entries(counts).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${num(v)}`).join('; ')}`);
    lines.push(`open fds after the load: manager ${num(m.fds())}, simulator processes ${simFds.map(num).join(' / ')} (limit ${fdLimit().soft})`);
    say(`load: /_ping ${num(since(pingAt))} ms, /info ${num(since(infoAt))} ms, healthy ${num(since(healthyAt))} ms, cached ${num(since(cachedAt))} ms (${last.healthy}/${engines}, ${num(last.containers)}/${num(total)})`);

    // The manager inspects the listed containers in the background after "all cached":
    // wait until the simulators answered every inspect, so idle and the rows below
    // measure a settled manager (and say how long the background took).
    const inspectKey = 'GET /containers/{id}/json';
    const bgDeadline = Date.now() + 300_000;
    let inspected = counts[inspectKey] ?? 0;
    while (inspected < total && Date.now() < bgDeadline && m.alive()) {
      await sleep(500);
      inspected = (await sims.counts())[inspectKey] ?? 0;
    }
    rows.push(row('spawn → all containers inspected', 'ms', inspected >= total ? Date.now() - t : NaN,
      `${num(inspected)}/${num(total)} inspects answered (background, after Healthy)`));
    await sleep(2000); // the last answers merged, pooled sockets idle
    sample();
    loadPeak = peak;
    phase = 'the idle window';

    // ---- idle: CPU over the window, then a full GC: settled RSS ----------------------
    if (o.idleS > 0 && m.alive() && !o.only) {
      // The delay monitor's wake-ups are the bench's, not the manager's: off for
      // the window. The settle lets V8 shrink the heap the load grew first.
      await m.eld(false);
      await sleep(o.settleS * 1000);
      await m.stats(true);
      const gc0 = await m.gcs(true);
      await sleep(o.idleS * 1000);
      const gcs = await m.gcs().catch(() => undefined);
      // The window's CPU first, then the full GC for the settled size: the
      // forced collection (~160 ms at 1,000 engines) is the bench's, not idle work.
      const idle = await m.stats(true).catch(() => undefined);
      const settled = await m.stats(true, true).catch(() => undefined);
      await m.eld(true);
      if (idle) rows.push(row('idle CPU', 'pct', (idle.cpuMs / (o.idleS * 1000)) * 100, `% of a core over ${o.idleS} s idle, from ${o.settleS} s after the load${gcs ? `; ${gcNote(gcs, gc0)}` : ''}`));
      rows.push(row('RSS settled', 'bytes', m.vmRss(), `VmRSS after ${o.idleS} s idle and a full GC${settled ? ` (heap used ${kb(settled.heapUsed)} of ${kb(settled.heapTotal)})` : ''}, ${num(m.fds())} fds`));
    }

    // ---- request rows --------------------------------------------------------------
    const sim0 = sims.engines[0];
    // --inspect-over N: the inspect row's containers are the first N engines' (hot connections), not all of them.
    const allIds = sims.engines.slice(0, o.inspectOver || undefined).flatMap((e) => e.ids);
    const big = engines > 1000 ? 2 : engines > 100 ? 1 : 0; // fewer reps of the heavy rows at scale
    const timed = async (
      name: string, count: number, clients: number,
      op: (p: Pool, i: number) => Promise<void>, floorOp: ((p: Pool, i: number) => Promise<void>) | undefined, note: string,
      cpuUnit: 'ms' | 's' = 'ms', warmup = Math.max(2, Math.floor(count / 10)),
    ): Promise<void> => {
      if (o.only !== undefined && !name.includes(o.only)) return;
      phase = name;
      try {
        if (!m.alive()) throw new Error('manager not running');
        const mp = P(maddr, clients);
        let cpu0 = 0;
        let gc0: GcStats | undefined;
        const s: OpStats = await measureOps({
          count, concurrency: clients, warmup, op: (i) => op(mp, i), maxMs: 120_000,
          onMeasureStart: async () => {
            gc0 = await m.gcs(true);
            await m.stats(true);
            if (o.rowProf) await m.profile('start');
            cpu0 = procCpuMs(m.pid);
          },
        });
        if (o.rowProf) {
          const file = path.join(PROF_DIR, `row-${name.replace(/[^a-z0-9]+/gi, '-')}-${Date.now()}.cpuprofile`);
          fs.mkdirSync(PROF_DIR, { recursive: true });
          await m.profile('stop', file);
          say(`  ${name}: CPU profile ${file}\n${summarizeProfile(file, 25)}`);
        }
        const cpu = (procCpuMs(m.pid) - cpu0) / Math.max(1, s.n + s.errors);
        const gcs = await m.gcs().catch(() => undefined);
        // The manager's longest stall in the row: a tail far above it is queueing, not one blocked turn.
        const eld = await m.stats().then((st) => `; event-loop delay p99 ${ms(st.eld.p99)} ms, max ${ms(st.eld.max)} ms`).catch(() => '');
        let fl: OpStats | undefined;
        if (floorOp) {
          const fp = P(sim0.addr, clients);
          fl = await measureOps({ count, concurrency: clients, warmup: Math.max(2, Math.floor(count / 10)), op: (i) => floorOp(fp, i), maxMs: 120_000 });
        }
        const errs = s.errors ? `; ${s.errors} errors (${s.firstError})` : '';
        rows.push(row(name, 'ms', s.p50, `n ${s.n}, ${clients} client${clients > 1 ? 's' : ''}${cpuUnit === 's' ? `, ${(cpu / 1000).toFixed(3)} CPU-s per listing` : ''}; ${note}${note ? '; ' : ''}${gcs ? gcNote(gcs, gc0) : ''}${eld}${errs}`,
          { p99: s.p99, floor: fl ? fl.p50 : NaN, cpu }));
        say(`  ${name}: p50 ${ms(s.p50)} ms p99 ${ms(s.p99)} ms${fl ? `, floor ${ms(fl.p50)} ms (p99 ${ms(fl.p99)} ms)` : ''}, CPU ${ms(cpu)} ms/req${gcs ? `; ${gcNote(gcs, gc0)}` : ''}${eld}${errs}`);
      } catch (err) {
        rows.push(row(name, 'ms', NaN, note, { error: (err as Error).message.slice(0, 160) }));
        say(`  ${name}: error: ${(err as Error).message}`);
      }
    };
    // Bodies are counted, not kept: a `ps -a` at 5,000 engines is ~140 MB.
    const get = (urlPath: string) => async (p: Pool): Promise<void> => {
      const res = await p.request({ method: 'GET', path: urlPath });
      if (res.statusCode !== 200) throw new Error(`GET ${urlPath}: HTTP ${res.statusCode}: ${(await res.body.text()).slice(0, 200)}`);
      for await (const _chunk of res.body) { /* drain */ }
    };
    const ps = '/v1.41/containers/json?all=1';
    await timed('GET /_ping', 1000, 1, get('/_ping'), get('/_ping'), 'framework baseline');
    await timed('GET /info, 1 client', [500, 200, 50][big], 1, get('/v1.41/info'), get('/v1.41/info'), `${engines} engines in SystemStatus; floor: one engine's /info`);
    await timed('GET /info, 8 clients', [800, 400, 100][big], 8, get('/v1.41/info'), get('/v1.41/info'), '');
    await timed('ps -a (GET /containers/json?all=1), 1 client', [100, 30, 10][big], 1, get(ps), get(ps), `${num(total)} items; floor: one engine's ${perEngine}`, 's');
    await timed('ps -a, 8 clients', [200, 40, 16][big], 8, get(ps), get(ps), '', 's');
    const inspect = (ids: string[]) => async (p: Pool, i: number): Promise<void> => { await req(p, 'GET', `/v1.41/containers/${ids[(i * 7919) % ids.length]}/json`, undefined, [200]); };
    await timed('inspect (GET /containers/{id}/json)', 1000, 1, inspect(allIds), inspect(sim0.ids), 'proxied to the owner; floor: engine 0 straight');
    // The same containers in the same order, each asked of its own engine straight over
    // a connection opened before (as the manager's are): the floor of a row that visits
    // a different engine each time, which one engine's 30 containers are not.
    if (o.only === undefined || 'inspect, owners straight'.includes(o.only)) {
      const ownerOf = new Map<string, string>();
      for (const e of sims.engines) for (const id of e.ids) ownerOf.set(id, e.addr);
      const owners = new Map<string, Pool>();
      for (const id of allIds) { const a = ownerOf.get(id)!; if (!owners.has(a)) owners.set(a, P(a, 1)); }
      await Promise.all([...owners.values()].map((p) => get('/_ping')(p)));
      const s = await measureOps({
        count: 1000, concurrency: 1, warmup: 100, maxMs: 120_000,
        op: async (i) => { const id = allIds[(i * 7919) % allIds.length]; await req(owners.get(ownerOf.get(id)!)!, 'GET', `/v1.41/containers/${id}/json`, undefined, [200]); },
      });
      rows.push(row('inspect, owners straight (floor)', 'ms', s.p50, `n ${s.n}, 1 client; the inspect row's containers and order, each engine asked straight over its own open connection${s.errors ? `; ${s.errors} errors (${s.firstError})` : ''}`, { p99: s.p99 }));
      say(`  inspect, owners straight: p50 ${ms(s.p50)} ms p99 ${ms(s.p99)} ms`);
      await Promise.all([...owners.values()].map((p) => p.close().catch(() => undefined)));
    }
    const pair = (tag: string) => async (p: Pool, i: number): Promise<void> => {
      const text = await req(p, 'POST', `/v1.41/containers/create?name=bench-r${o.run}-${tag}-${i}`, { Image: 'busybox', Cmd: ['top'] }, [201]);
      await req(p, 'POST', `/v1.41/containers/${JSON.parse(text).Id}/start`, undefined, [204]);
    };
    await timed('create+start pair, 1 client', 200, 1, pair('c1'), pair('f1'), 'POST create?name= (busybox top) then POST start');
    await timed('create+start pair, 8 clients', 400, 8, pair('c8'), pair('f8'), '');
    // The real CLI, whole command (process spawn included): floor is the CLI straight to one simulator.
    if (o.only === undefined || 'docker run'.includes(o.only)) {
      const name = 'docker run -d busybox top (CLI 28)';
      phase = name;
      try {
        const mine: number[] = [];
        const floor: number[] = [];
        const cpu0 = procCpuMs(m.pid);
        for (let i = 0; i < o.cliRuns; i++) mine.push((await timeCli(maddr, ['run', '-d', 'busybox', 'top'])).ms);
        const cpu = (procCpuMs(m.pid) - cpu0) / o.cliRuns;
        for (let i = 0; i < o.cliRuns; i++) floor.push((await timeCli(sim0.addr, ['run', '-d', 'busybox', 'top'])).ms);
        mine.sort((a, b) => a - b);
        rows.push(row(name, 'ms', median(mine), `${o.cliRuns} runs each, whole command`, { p99: mine[mine.length - 1], floor: median(floor), cpu }));
        say(`  ${name}: p50 ${ms(median(mine))} ms, floor ${ms(median(floor))} ms`);
      } catch (err) {
        rows.push(row(name, 'ms', NaN, '', { error: (err as Error).message.slice(0, 160) }));
        say(`  ${name}: error: ${(err as Error).message}`);
      }
    }
    // The inspect row is the first ~1,100 inspects the manager serves: its code for them is still being
    // compiled by V8 then (the load and background inspects take other paths). This one follows 2,000 more,
    // after the rows above: its garbage would move where their collections land (tenth pass).
    await timed('inspect, warm', 1000, 1, inspect(allIds), inspect(sim0.ids), 'the same after 2,000 more', 'ms', 2000);
    // GET /metrics (Prometheus text): n/a where the route does not exist.
    if (o.only === undefined || 'metrics'.includes(o.only)) {
      const mp = P(maddr, 1);
      const r = await mp.request({ method: 'GET', path: '/metrics' }).then(async (x) => { await x.body.dump(); return x.statusCode; }, (e: Error) => e.message);
      if (r === 200) await timed('GET /metrics', [200, 50, 20][big], 1, get('/metrics'), undefined, 'Prometheus text');
      else rows.push(row('GET /metrics', 'ms', NaN, `n/a (GET /metrics: ${r})`));
    }
    sample();
    rows.push(row('RSS peak', 'bytes', Math.max(peak, m.vmHwm() || 0),
      `max VmRSS sampled every 100 ms ${kb(peak)} (reached in ${peakIn}${peakHeap ? `: ${peakHeap}` : ''}; ${kb(loadPeak)} up to all inspected), VmHWM ${kb(m.vmHwm())}`));
    rows.push(row('RSS at the end', 'bytes', m.vmRss(), ''));

    await cleanup();
    if (o.prof) {
      await sleep(500);
      for (const f of fs.readdirSync(PROF_DIR).filter((x) => x.endsWith('.cpuprofile'))) lines.push(`CPU profile ${path.join(PROF_DIR, f)}:\n${summarizeProfile(path.join(PROF_DIR, f), 30)}`);
    }
    return { rows, lines };
  } finally {
    await cleanup();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

async function main(): Promise<void> {
  const t0 = Date.now();
  const sizes = argList('--engines', [1000]);
  const perEngine = arg('--containers', 30);
  const runs = Math.max(1, arg('--runs', 1));
  const basePort = arg('--base-port', 27000);
  const idleS = arg('--idle', 30);
  const settleS = arg('--settle', 60);
  const cliRuns = arg('--cli-runs', 20);
  const onlyAt = process.argv.indexOf('--only');
  const only = onlyAt >= 0 ? process.argv[onlyAt + 1] : undefined;
  const lim = fdLimit();
  process.stdout.write(`scale bench: engines ${sizes.join(', ')} × ${perEngine} containers, ${runs} run(s) each, idle ${idleS} s; open-files limit ${lim.soft}; load average ${uptimeLoad()}\n`);
  const bySize = new Map<number, Row[]>();
  for (const engines of sizes) {
    const all: Row[][] = [];
    for (let r = 1; r <= runs; r++) {
      const tr = Date.now();
      say(`---- ${engines} engines, run ${r}/${runs}`);
      let out: { rows: Row[]; lines: string[] };
      try {
        out = await runOnce({ engines, perEngine, basePort, idleS, settleS, cliRuns, run: r, only, prof: process.argv.includes('--prof'), rowProf: process.argv.includes('--row-prof'), inspectOver: arg('--inspect-over', 0), loadTimeoutS: arg('--load-timeout', 600) });
      } catch (err) {
        out = { rows: [row('run', 'ms', NaN, '', { error: (err as Error).message.slice(0, 200) })], lines: [] };
      }
      all.push(out.rows);
      process.stdout.write(`\n${engines} engines × ${perEngine}, run ${r}/${runs} (${num((Date.now() - tr) / 1000)} s, load average ${uptimeLoad()}):\n\n${rowsTable(out.rows)}\n${out.lines.map((l) => `\n${l}`).join('')}\n\n`);
    }
    const med = medians(all);
    bySize.set(engines, med);
    if (runs > 1) process.stdout.write(`\n${engines} engines × ${perEngine}: medians of ${runs} runs\n\n${rowsTable(med)}\n\n`);
  }
  if (sizes.length > 1) {
    const names = [...new Set([...bySize.values()].flatMap((rs) => rs.map((r) => r.name)))];
    const cell = (r: Row | undefined): string => {
      if (!r) return '';
      if (r.error) return `error: ${r.error.slice(0, 40)}`;
      if (!Number.isFinite(r.v) && /n\/a/.test(r.note)) return 'n/a';
      const p = Number.isFinite(r.p99) ? `${fmt(r.kind, r.v)} / ${fmt(r.kind, r.p99)}` : fmt(r.kind, r.v);
      return Number.isFinite(r.cpu) ? `${p} (${ms(r.cpu)} CPU-ms)` : p;
    };
    process.stdout.write(`\nGrowth (medians of ${runs} run(s); p50 / p99 where timed, manager CPU per request):\n\n` +
      table(['figure', ...sizes.map((n) => `${num(n)} engines`)], names.map((n) => [n, ...sizes.map((s) => cell(bySize.get(s)!.find((r) => r.name === n)))])) + '\n');
  }
  process.stdout.write(`\ntotal ${num((Date.now() - t0) / 1000)} s\n`);
}

if (require.main === module) {
  main().then(() => process.exit(0), (err) => { process.stderr.write(`${(err as Error).stack}\n`); process.exit(1); });
}
