// API latency through the manager vs straight to an engine: issue 15's second
// table (3 engines × 100 containers; "engine" is engine 0 with its own 100,
// the floor; for `docker run`, the engine the manager chose for that run).
//
//   node dist/bench/api.js            simulated engines (bench/simulator.ts)
//   node dist/bench/api.js --real     3 real dockerd engines (root; slots 110-112, ports 25000-25002, manager 25050)
//   options: --count N (measured requests per cheap row, default 2000), --warmup N (unmeasured requests
//            first, per row and side, default count/10; the manager is fresh each run, so its JIT is cold
//            for the first rows), --runs N (default 1: medians over N
//            runs, a fresh manager each run), --cli-runs N (default 10: `docker run -d busybox true` per side)
//
// Rows: /_ping, inspect (the same containers again and again: the manager
// answers from memory, cluster/inspectcache.ts; and with ?size=0, which it
// always asks of the engine) and /info at 1 client, `ps -a` at 1 and 8 clients,
// the whole `docker run -d busybox true` of CLI 28 (pairs, manager then engine,
// each command started once the last one's container has exited; judged on the
// median of the pairs' differences), the manager's VmRSS at the end. The
// manager runs as a child process (`swarm manage`), the client is a
// keep-alive undici Pool.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFile } from 'node:child_process';
import { startEngines, type EngineSet } from '../src/devcluster/engines.js';
import { spawnReaper } from '../src/devcluster/reap.js';
import {
  clusterState, getJson, kb, measure, median, ms, num, pool, req, sleep, startManagerChild, startSimHost, table, timeCli, uptimeLoad,
  type ManagerChild, type SimHost,
} from './lib.js';

export interface ApiBenchOptions {
  real: boolean;
  count: number;
  /** Kept for callers; the rows say their own client counts. */
  concurrency?: number;
  warmup: number;
  runs?: number;
  cliRuns?: number;
  log?: (s: string) => void;
}

/**
 * The RSS floor of the chosen stack: a Node process that loads the packages
 * `swarm manage nodes://...` loads (no etcd, ZooKeeper, Consul or certificate
 * code: those load only for their discovery or TLS), listens, and holds no
 * state. Measured, not assumed, so the note shows what the 60 MB target leaves.
 */
function depsFloorRss(): Promise<{ rss: number; anon: number; heapUsed: number }> {
  const script = `for (const m of ['express', 'undici', 'http-proxy', 'winston', 'prom-client', 'yargs']) require(m);
    require('node:http').createServer().listen(0, '127.0.0.1', () => setTimeout(() => {
      const s = require('node:fs').readFileSync('/proc/self/status', 'utf8');
      const kb = (f) => parseInt(s.split('\\n').find((l) => l.startsWith(f + ':')).slice(f.length + 1), 10) * 1024;
      process.stdout.write(JSON.stringify({ rss: kb('VmRSS'), anon: kb('RssAnon'), heapUsed: process.memoryUsage().heapUsed }));
      process.exit(0);
    }, 1000));`;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['-e', script], { cwd: path.resolve(__dirname, '..', '..') }, (err, stdout) => {
      if (err) reject(err); else resolve(JSON.parse(stdout));
    });
  });
}

const REAL = { slotBase: 110, basePort: 25000, managerPort: 25050, stateDir: '/tmp/swarm-bench-110' };
const SIM = { basePort: 26000, managerPort: 26050 };
const ENGINES = 3;
const PER_ENGINE = 100;

interface Side { p50: number; p99: number; n: number }
interface ApiRow {
  name: string; mgr: Side; eng: Side; note: string; error?: string;
  /** The CLI row: median of the paired differences (manager − engine, same engine, back to back), what its target is judged on. */
  paired?: number;
}

/** Issue 15's target for a row, from the engine's p50 (ms). */
function target(name: string, eng: number): { text: string; ok: (m: number) => boolean } | undefined {
  if (name.startsWith('inspect')) return { text: `≤ engine + 0.3 = ${ms(eng + 0.3)}`, ok: (m) => m <= eng + 0.3 };
  if (name === 'ps -a, 1 client') return { text: '≤ 0.25 × classic 3.7 = 0.925', ok: (m) => m <= 0.925 };
  if (name === 'ps -a, 8 clients') return { text: '≤ 0.25 × classic 14.4 = 3.6', ok: (m) => m <= 3.6 };
  if (name.startsWith('GET /info')) return { text: '≤ 0.3', ok: (m) => m <= 0.3 };
  if (name.startsWith('docker run')) return { text: `≤ engine + 5 = ${ms(eng + 5)}`, ok: (m) => m <= eng + 5 };
  if (name === 'manager RSS') return { text: '≤ 60 MB', ok: (m) => m <= 60 * 1024 ** 2 };
  return undefined;
}

function rowsTable(rows: ApiRow[]): string {
  return table(['figure', 'manager p50', 'p99', 'engine p50', 'p99', 'mgr − eng', 'mgr / eng', 'target (issue 15)', 'met', 'note'], rows.map((r) => {
    if (r.error) return [r.name, `error: ${r.error}`, '', '', '', '', '', '', '', r.note];
    if (r.name === 'manager RSS') {
      const t = target(r.name, 0)!;
      // The "engine" column holds the stack's floor (depsFloorRss), not an engine.
      const fl = Number.isFinite(r.eng.p50);
      return [r.name, kb(r.mgr.p50), '', fl ? `floor ${kb(r.eng.p50)}` : '', '', fl ? kb(r.mgr.p50 - r.eng.p50) : '', fl ? (r.mgr.p50 / r.eng.p50).toFixed(2) : '',
        t.text, t.ok(r.mgr.p50) ? 'yes' : 'no', r.note];
    }
    const t = target(r.name, r.eng.p50);
    // A paired row's difference is its pairs' median, not the difference of the two medians.
    const diff = r.paired ?? r.mgr.p50 - r.eng.p50;
    return [r.name, ms(r.mgr.p50), ms(r.mgr.p99), ms(r.eng.p50), ms(r.eng.p99), ms(diff) + (r.paired === undefined ? '' : ' (paired)'),
      (r.mgr.p50 / r.eng.p50).toFixed(2), t?.text ?? '', t ? (t.ok(r.eng.p50 + diff) ? 'yes' : 'no') : '', r.note];
  }));
}

function medians(runs: ApiRow[][]): ApiRow[] {
  const names = [...new Set(runs.flatMap((rs) => rs.map((r) => r.name)))];
  return names.map((name) => {
    const all = runs.map((rs) => rs.find((r) => r.name === name)).filter((r): r is ApiRow => !!r);
    const ok = all.filter((r) => !r.error);
    if (!ok.length) return all[0];
    const side = (f: (r: ApiRow) => Side): Side => ({ p50: median(ok.map((r) => f(r).p50)), p99: median(ok.map((r) => f(r).p99)), n: ok.reduce((a, r) => a + f(r).n, 0) });
    const paired = ok.every((r) => r.paired !== undefined) ? median(ok.map((r) => r.paired!)) : undefined;
    const note = paired === undefined ? ok[0].note : `${ok[0].note.replace(/; median of the paired differences [^;]*/, '')}; paired medians of the runs ${ok.map((r) => ms(r.paired!)).join(', ')} ms`;
    return { name, mgr: side((r) => r.mgr), eng: side((r) => r.eng), paired, note: `median of ${ok.length}${all.length > ok.length ? ` (${all.length - ok.length} failed)` : ''}; ${note}` };
  });
}

export async function runApiBench(o: ApiBenchOptions): Promise<string> {
  const t0 = Date.now();
  const say = o.log ?? ((s: string) => process.stdout.write(s + '\n'));
  const runs = Math.max(1, o.runs ?? 1);
  const cliRuns = o.cliRuns ?? 10;
  let set: EngineSet | undefined;
  let sims: SimHost | undefined;
  let mgr: ManagerChild | undefined;
  const onSignal = (): void => { void cleanup().finally(() => process.exit(130)); };
  const cleanup = async (): Promise<void> => {
    await mgr?.stop().catch(() => undefined);
    await sims?.stop().catch(() => undefined);
    await set?.stop().catch((e: Error) => say(`engine teardown: ${e.message}`));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  // A crash between start and stop still tears the real engines down.
  const onExit = (): void => { if (set) spawnReaper(REAL.stateDir); };
  if (o.real) process.once('exit', onExit);
  try {
    let addrs: string[];
    let engineIds: string[]; // containers on engine 0
    if (o.real) {
      say(`starting ${ENGINES} dockerd engines (slots ${REAL.slotBase}.., ports ${REAL.basePort}..)`);
      set = await startEngines({ count: ENGINES, slotBase: REAL.slotBase, basePort: REAL.basePort, stateDir: REAL.stateDir, names: (i) => `bench-${i}` });
      addrs = set.engines.map((e) => e.addr);
      say(`engines up in ${Date.now() - t0} ms; creating ${PER_ENGINE} containers on each`);
      const t1 = Date.now();
      await Promise.all(addrs.map(async (a) => {
        const p = pool(a, 8);
        let next = 0;
        await Promise.all(Array.from({ length: 8 }, async () => {
          while (next < PER_ENGINE) {
            const i = next++;
            await req(p, 'POST', `/v1.41/containers/create?name=bench-c${i}`, { Image: 'busybox', Cmd: ['true'], Labels: { 'com.example.bench': String(i) } }, [201]);
          }
        }));
        await p.close();
      }));
      say(`created ${ENGINES * PER_ENGINE} containers in ${Date.now() - t1} ms`);
      const p0 = pool(addrs[0], 1);
      engineIds = (await getJson(p0, '/containers/json?all=1')).map((c: any) => c.Id);
      await p0.close();
    } else {
      sims = await startSimHost({ count: ENGINES, basePort: SIM.basePort, containers: PER_ENGINE });
      addrs = sims.engines.map((e) => e.addr);
      engineIds = sims.engines[0].ids;
    }
    const managerPort = o.real ? REAL.managerPort : SIM.managerPort;

    /** Remove every container but the 100 bench-c* of each engine (what `docker run` left). */
    const tidy = async (): Promise<void> => {
      await Promise.all(addrs.map(async (a) => {
        const p = pool(a, 4);
        const list: any[] = await getJson(p, '/v1.41/containers/json?all=1');
        for (const c of list) if (!/^\/(bench-c\d+|sim-\d+-c\d+)$/.test(c.Names?.[0] ?? '')) await req(p, 'DELETE', `/v1.41/containers/${c.Id}?force=1`, undefined, [204, 404]);
        await p.close();
      }));
    };

    const all: ApiRow[][] = [];
    for (let run = 1; run <= runs; run++) {
      const t2 = Date.now();
      mgr = await startManagerChild({
        port: managerPort, discovery: `nodes://${addrs.join(',')}`,
        logFile: path.join(os.tmpdir(), `swarm-bench-api-${o.real ? 'real' : 'sim'}-manager.log`),
        nodeArgs: process.env.SCALE_NODE_ARGS ? process.env.SCALE_NODE_ARGS.split(' ').filter(Boolean) : [],
      });
      const poll = pool(mgr.addr, 1);
      const deadline = Date.now() + 60_000;
      for (;;) {
        const st = await clusterState(poll);
        if (st.healthy === ENGINES && st.containers === ENGINES * PER_ENGINE) break;
        if (Date.now() > deadline) throw new Error(`manager not ready after 60s: ${JSON.stringify(st)}`);
        await sleep(50);
      }
      await poll.close();
      say(`run ${run}/${runs}: manager ready (${ENGINES} engines, ${ENGINES * PER_ENGINE} containers cached) ${Date.now() - t2} ms after spawn`);
      const rows: ApiRow[] = [];
      const row = async (name: string, clients: number, count: number, mf: (i: number) => string, ef: (i: number) => string, note = ''): Promise<void> => {
        const mp = pool(mgr!.addr, clients);
        const ep = pool(addrs[0], clients);
        try {
          const warmup = Math.min(o.warmup, count);
          const a = await measure(mp, { count, concurrency: clients, warmup, path: mf });
          const b = await measure(ep, { count, concurrency: clients, warmup, path: ef });
          rows.push({ name, mgr: a, eng: b, note: `n ${count}, ${clients} client${clients > 1 ? 's' : ''}${note ? '; ' + note : ''}` });
          say(`  ${name}: manager p50 ${ms(a.p50)} ms, engine p50 ${ms(b.p50)} ms`);
        } catch (err) {
          rows.push({ name, mgr: { p50: NaN, p99: NaN, n: 0 }, eng: { p50: NaN, p99: NaN, n: 0 }, note, error: (err as Error).message.slice(0, 160) });
          say(`  ${name}: error: ${(err as Error).message}`);
        } finally {
          await mp.close();
          await ep.close();
        }
      };
      const ids = (i: number): string => `/v1.41/containers/${engineIds[i % engineIds.length]}/json`;
      const psCount = Math.min(o.count, 300);
      await row('GET /_ping', 1, o.count, () => '/_ping', () => '/_ping');
      await row('inspect (GET /containers/{id}/json)', 1, o.count, ids, ids, 'same containers, unchanged: kept answers');
      const asked = (i: number): string => `${ids(i)}?size=0`;
      await row('inspect ?size=0 (asked each time)', 1, o.count, asked, asked, 'same containers; the engine asked every time');
      await row('ps -a, 1 client', 1, psCount, () => '/v1.41/containers/json?all=1', () => '/v1.41/containers/json?all=1', `manager ${ENGINES * PER_ENGINE}, engine ${PER_ENGINE} items`);
      await row('ps -a, 8 clients', 8, psCount, () => '/v1.41/containers/json?all=1', () => '/v1.41/containers/json?all=1');
      await row('GET /info', 1, Math.min(o.count, 500), () => '/v1.41/info', () => '/v1.41/info');
      // The whole CLI command, process spawn included. The floor is the same command
      // straight to the engine the manager placed that run's container on: engines'
      // start times differ by more than the manager's share, so engine 0 alone was a biased floor.
      const cliName = 'docker run -d busybox true (CLI 28)';
      try {
        const mine: number[] = [];
        const eng: number[] = [];
        const diffs: number[] = [];
        const mp = pool(mgr.addr, 1);
        const eps = new Map(addrs.map((a) => [a, pool(a, 1)]));
        // Each command starts on a quiet machine: the container the last one ran
        // has exited on its engine (dockerd's teardown of it takes tens of ms of
        // CPU), then a short pause. Without this the manager's run always began
        // while the floor's container was exiting, and the floor began after
        // the inspect below had waited out the manager's: a bias of ~25 ms.
        const quiet = async (addr: string, out: string): Promise<void> => {
          const id = /[0-9a-f]{64}/.exec(out)?.[0];
          const p = eps.get(addr);
          for (const until = Date.now() + 5000; id && p && Date.now() < until; await sleep(20)) {
            if ((await getJson(p, `/v1.41/containers/${id}/json`))?.State?.Status === 'exited') break;
          }
          await sleep(150);
        };
        try {
          for (let i = 0; i < cliRuns; i++) {
            const run = await timeCli(mgr.addr, ['run', '-d', 'busybox', 'true']);
            const id = /[0-9a-f]{64}/.exec(run.out)?.[0] ?? 'none';
            const addr = String((await getJson(mp, `/v1.41/containers/${id}/json`))?.Node?.Addr ?? '');
            const placed = addrs.includes(addr) ? addr : addrs[0];
            await quiet(placed, run.out);
            const floor = await timeCli(placed, ['run', '-d', 'busybox', 'true']);
            await quiet(placed, floor.out);
            mine.push(run.ms);
            eng.push(floor.ms);
            diffs.push(run.ms - floor.ms);
          }
        } finally {
          await mp.close();
          for (const p of eps.values()) await p.close();
        }
        const side = (xs: number[]): Side => ({ p50: median(xs), p99: Math.max(...xs), n: xs.length });
        rows.push({ name: cliName, mgr: side(mine), eng: side(eng), paired: median(diffs), note: `${cliRuns} runs each, alternating, the floor on the engine the manager chose, each on a quiet machine; median of the paired differences ${ms(median(diffs))} ms; p99 column is the max` });
        say(`  ${cliName}: manager p50 ${ms(median(mine))} ms, engine p50 ${ms(median(eng))} ms, paired difference p50 ${ms(median(diffs))} ms`);
      } catch (err) {
        rows.push({ name: cliName, mgr: { p50: NaN, p99: NaN, n: 0 }, eng: { p50: NaN, p99: NaN, n: 0 }, note: '', error: (err as Error).message.slice(0, 160) });
        say(`  ${cliName}: error: ${(err as Error).message}`);
      }
      const rss = mgr.vmRss();
      // What the RSS is made of: the node binary's pages (file-backed, shared) and the process's own (anonymous: heaps, code).
      const st = await mgr.stats();
      const rollup = ((): string => { try { return fs.readFileSync(`/proc/${mgr.pid}/smaps_rollup`, 'utf8'); } catch { return ''; } })();
      const kbOf = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(rollup)?.[1] ?? NaN) * 1024;
      const floor = await depsFloorRss().catch(() => undefined);
      rows.push({
        name: 'manager RSS', mgr: { p50: rss, p99: NaN, n: 1 }, eng: { p50: floor?.rss ?? NaN, p99: NaN, n: floor ? 1 : 0 },
        note: `VmRSS of the manager at the end of the run: anonymous ${kb(kbOf('Anonymous'))}, file-backed ${kb(rss - kbOf('Anonymous'))}; JS heap ${kb(st.heapUsed)} used of ${kb(st.heapTotal)}`
          + (floor ? `; "engine" column: a process that only loads the manager's packages and listens, ${kb(floor.rss)} (anonymous ${kb(floor.anon)}, heap ${kb(floor.heapUsed)})` : ''),
      });
      await mgr.stop();
      mgr = undefined;
      await tidy().catch((e: Error) => say(`tidy: ${e.message}`));
      all.push(rows);
      say(`\nrun ${run}/${runs} (load average ${uptimeLoad()}):\n\n${rowsTable(rows)}\n`);
    }

    const out = [
      `API bench, ${o.real ? 'real dockerd 20.10 engines' : 'simulated engines'}: ${ENGINES} engines × ${PER_ENGINE} containers, ` +
        `${runs} run(s) (medians), a fresh manager per run; engine = engine 0 straight (its own ${PER_ENGINE}). Latency in ms.`,
      '',
      rowsTable(runs > 1 ? medians(all) : all[0]),
      '',
      `total ${num((Date.now() - t0) / 1000)} s, load average ${uptimeLoad()}`,
    ].join('\n');
    return out;
  } finally {
    await cleanup();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('exit', onExit);
  }
}

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

if (require.main === module) {
  const count = arg('--count', 2000);
  runApiBench({
    real: process.argv.includes('--real'), count, warmup: arg('--warmup', Math.max(50, Math.floor(count / 10))),
    runs: arg('--runs', 1), cliRuns: arg('--cli-runs', 10),
  })
    .then((s) => { process.stdout.write('\n' + s + '\n'); process.exit(0); })
    .catch((err) => { process.stderr.write(`${(err as Error).stack}\n`); process.exit(1); });
}
