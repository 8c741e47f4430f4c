// Start-up and idle: one manager in front of many simulated engines, with
// the default refresh interval (30-60 s). Measures spawn → /_ping, → every
// engine Healthy, → every container inspected (counted at the simulators),
// the peak of open fds and RSS during the load, then the manager's CPU over
// an idle window.
//
//   flock /tmp/swarm-bench.lock node dist/bench/startup.js [--engines 1000] [--containers 30] [--idle 60] [--settle 60] [--prof] [--idle-prof] [--trace] [--base-port 27000]
// (--prof: the whole run's CPU profile; --idle-prof: the idle window's alone; --trace: RSS, heap, fds and engine calls each second of the load)
// It also prints the CPU the simulators and the bench itself used up to all Healthy: they share the 2 cores with the manager.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { clusterState, kb, num, pool, sleep, startManagerChild, startSimHost, type ManagerChild, type SimHost } from './lib.js';
import { summarizeProfile } from './profsummary.js';

const SIM_BASE_PORT = 27000;
const MANAGER_PORT = 26990;
const PROF_DIR = '/tmp/swarm-bench-startup-prof';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

/** CPU ms (user + system) of each thread of a process, by thread name (summed over threads of one name). */
function threadTimes(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  const tick = 1000 / 100; // USER_HZ
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const key = tid === String(pid) ? `${name} (main)` : name;
      out.set(key, (out.get(key) ?? 0) + (Number(f[11]) + Number(f[12])) * tick);
    } catch { /* the thread ended */ }
  }
  return out;
}

/** "N ms (main M ms, other threads ...)" of threadTimes(). */
function cpuLine(t: Map<string, number>): string {
  let all = 0;
  let main = 0;
  for (const [n, ms] of t) { all += ms; if (n.endsWith('(main)')) main = ms; }
  const others = [...t].filter(([n]) => !n.endsWith('(main)')).sort((a, b) => b[1] - a[1]).map(([n, ms]) => `${n} ${num(ms)}`).join(', ');
  return `${num(all)} ms (main thread ${num(main)} ms; others ${others})`;
}

function diffThreads(a: Map<string, number>, b: Map<string, number>): Array<[string, number]> {
  return [...b].map(([n, ms]): [string, number] => [n, ms - (a.get(n) ?? 0)]).filter(([, ms]) => ms > 0).sort((x, y) => y[1] - x[1]);
}

async function main(): Promise<void> {
  const engines = arg('--engines', 1000);
  const perEngine = arg('--containers', 30);
  const idleS = arg('--idle', 60);
  const settleS = arg('--settle', 60);
  const prof = process.argv.includes('--prof');
  const total = engines * perEngine;
  const say = (s: string): void => { process.stdout.write(`[${new Date().toISOString().slice(11, 23)}] ${s}\n`); };
  let sims: SimHost | undefined;
  let mgr: ManagerChild | undefined;
  const cleanup = async (): Promise<void> => {
    const m = mgr;
    const h = sims;
    mgr = undefined;
    sims = undefined;
    await m?.stop().catch(() => undefined);
    await h?.stop().catch(() => undefined);
  };
  process.once('SIGINT', () => void cleanup().finally(() => process.exit(130)));
  try {
    sims = await startSimHost({ count: engines, basePort: arg('--base-port', SIM_BASE_PORT), containers: perEngine });
    say(`${engines} simulators up (${num(total)} containers)`);
    if (prof) { fs.rmSync(PROF_DIR, { recursive: true, force: true }); fs.mkdirSync(PROF_DIR, { recursive: true }); }
    // Who else uses the 2 cores during the load: the simulators and this process.
    const simPids = sims.pids;
    const simCpuNow = (): number => simPids.reduce((a, pid) => a + [...threadTimes(pid).values()].reduce((x, y) => x + y, 0), 0);
    const simCpu0 = simCpuNow();
    const selfCpu0 = process.cpuUsage();
    let simCpu = 0;
    let selfCpu = 0;
    const t = Date.now();
    mgr = await startManagerChild({
      port: MANAGER_PORT, discovery: `nodes://${sims.engines.map((e) => e.addr).join(',')}`,
      logFile: path.join(os.tmpdir(), 'swarm-bench-startup-manager.log'),
      cpuProfDir: prof ? PROF_DIR : undefined,
      nodeArgs: ['--expose-gc', ...(process.env.SCALE_NODE_ARGS ? process.env.SCALE_NODE_ARGS.split(' ').filter(Boolean) : [])], readyTimeoutMs: 600_000,
    });
    const pingMs = Date.now() - t;
    say(`/_ping answered ${pingMs} ms after spawn`);
    const poll = pool(mgr.addr, 1);
    let healthyAt = 0;
    // The manager's CPU by thread from spawn to all Healthy: steadier than the wall time on a shared machine.
    let healthyCpu = new Map<string, number>();
    let inspectedAt = 0;
    let listedAt = 0;
    let peakFds = 0;
    let peakRss = 0;
    const deadline = Date.now() + 600_000;
    const trace = process.argv.includes('--trace');
    let tracedAt = 0;
    while (Date.now() < deadline) {
      peakFds = Math.max(peakFds, mgr.fds());
      const rss = mgr.vmRss();
      peakRss = Math.max(peakRss, rss);
      if (trace && Date.now() - tracedAt >= 1000) {
        tracedAt = Date.now();
        const c = await sims.counts();
        const st = await mgr.stats().catch(() => undefined);
        const heap = st ? ` (heap ${kb(st.heapUsed)} of ${kb(st.heapTotal)}, external ${kb(st.external)})` : '';
        say(`  ${((tracedAt - t) / 1000).toFixed(1)} s: RSS ${kb(rss)}${heap}, fds ${num(mgr.fds())}, lists ${num(c['GET /containers/json'] ?? 0)}, inspects ${num(c['GET /containers/{id}/json'] ?? 0)}`);
      }
      // /info at 1,000 engines costs the manager a few ms: asked only until it shows everything.
      if (!healthyAt || !listedAt) {
        const st = await clusterState(poll);
        if (!healthyAt && st.healthy === engines) {
          healthyAt = Date.now();
          healthyCpu = threadTimes(mgr.pid);
          simCpu = simCpuNow() - simCpu0;
          const u = process.cpuUsage(selfCpu0);
          selfCpu = (u.user + u.system) / 1000;
        }
        if (!listedAt && st.containers === total) listedAt = Date.now();
      }
      if (!inspectedAt) {
        const c = await sims.counts();
        if ((c['GET /containers/{id}/json'] ?? 0) >= total) inspectedAt = Date.now();
      }
      if (healthyAt && listedAt && inspectedAt) break;
      await sleep(200);
    }
    const loadedFds = mgr.fds();
    say(`healthy ${healthyAt - t} ms, containers listed ${listedAt - t} ms, inspected ${inspectedAt - t} ms; peak fds ${peakFds}, peak RSS ${kb(peakRss)}`);
    await poll.close();
    // Let the pools of the load close and V8 shrink the heap the load grew
    // (the memory reducer's full collections take seconds of CPU once), then
    // measure an idle window.
    await mgr.eld(false);
    await sleep(settleS * 1000);
    const threadsBefore = threadTimes(mgr.pid);
    await mgr.stats(true);
    const idleProf = process.argv.includes('--idle-prof') ? path.join(PROF_DIR, `idle-${Date.now()}.cpuprofile`) : '';
    if (idleProf) { fs.mkdirSync(PROF_DIR, { recursive: true }); await mgr.profile('start'); }
    await sleep(idleS * 1000);
    const idle = await mgr.stats(true);
    const threads = diffThreads(threadsBefore, threadTimes(mgr.pid));
    if (idleProf) await mgr.profile('stop', idleProf);
    const fdsIdle = mgr.fds();
    const rssIdle = mgr.vmRss();
    const g = await mgr.stats(true, true);
    const counts = await sims.counts();
    const lines = [
      `engines ${engines} x ${perEngine} containers`,
      `spawn -> /_ping: ${num(pingMs)} ms`,
      `spawn -> all healthy: ${num(healthyAt - t)} ms`,
      `manager CPU spawn -> all healthy: ${cpuLine(healthyCpu)}`,
      `the same window's CPU elsewhere: simulators ${num(simCpu)} ms, this bench ${num(selfCpu)} ms`,
      `spawn -> all containers listed: ${num(listedAt - t)} ms`,
      `spawn -> all inspected: ${num(inspectedAt - t)} ms`,
      `fds: peak during load ${num(peakFds)} (${(peakFds / engines).toFixed(2)}/engine), after load ${num(loadedFds)}, idle ${num(fdsIdle)} (${(fdsIdle / engines).toFixed(2)}/engine)`,
      `RSS: peak during load ${kb(peakRss)}, idle ${kb(rssIdle)}, heap used after GC ${kb(g.heapUsed)}`,
      `idle CPU over ${idleS} s (from ${settleS} s after the inspects): ${num(idle.cpuMs)} ms = ${((idle.cpuMs / (idleS * 1000)) * 100).toFixed(2)} % of a core`,
      `idle CPU by thread: ${threads.map(([n, ms]) => `${n} ${num(ms)} ms`).join(', ')}`,
      `engine calls: ${Object.entries(counts).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${num(v)}`).join('; ')}`,
    ];
    process.stdout.write('\n' + lines.join('\n') + '\n');
    if (idleProf) process.stdout.write(`\nCPU profile of the idle window ${idleProf}:\n${summarizeProfile(idleProf, 30)}\n`);
    await cleanup();
    if (prof) {
      await sleep(500);
      for (const f of fs.readdirSync(PROF_DIR).filter((x) => x.endsWith('.cpuprofile'))) {
        process.stdout.write(`\nCPU profile ${path.join(PROF_DIR, f)}:\n${summarizeProfile(path.join(PROF_DIR, f), 30)}\n`);
      }
    }
  } finally {
    await cleanup();
  }
}

main().then(() => process.exit(0), (err) => { process.stderr.write(`${(err as Error).stack}\n`); process.exit(1); });
