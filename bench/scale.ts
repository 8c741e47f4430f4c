// Scale: one manager in front of many simulated engines (default 1,000 × 30
// containers = 30,000). Measures load time, memory, API latency at that
// size, and how the manager copes with a burst of events.
//
//   node dist/bench/scale.js [--engines 1000] [--containers 30] [--prof]
//
// Simulators run in one child process (ports 27000..), the manager in
// another (port 26990, probe preloaded for event-loop delay / memory / CPU),
// so its RSS and CPU are its own. --prof writes a V8 CPU profile of the
// manager to /tmp/swarm-bench-prof and prints the top functions by self time.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  clusterState, fdLimit, kb, measure, ms, num, pool, sleep, startManagerChild, startSimHost, table,
  type ManagerChild, type ManagerStats, type SimHost, type Stats,
} from './lib.js';
import { summarizeProfile } from './profsummary.js';

const SIM_BASE_PORT = 27000;
const MANAGER_PORT = 26990;
const PROF_DIR = '/tmp/swarm-bench-prof';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

async function main(): Promise<void> {
  const engines = arg('--engines', 1000);
  const lim = fdLimit();
  // Each engine costs the manager and the simulator host 1 event stream + up to 8 pooled sockets while loading.
  if (lim.soft < engines * 10 + 1000) {
    process.stderr.write(`warning: open-files limit ${lim.soft} (hard ${lim.hard}) may be short for ${engines} engines: run \`ulimit -n ${Math.min(lim.hard, 65536)}\` first\n`);
  }
  const perEngine = arg('--containers', 30);
  const prof = process.argv.includes('--prof');
  // --only TEXT: just the request rows whose name or note contains TEXT, no event burst (for profiling one path).
  const onlyAt = process.argv.indexOf('--only');
  const only = onlyAt >= 0 ? process.argv[onlyAt + 1] : undefined;
  const total = engines * perEngine;
  const say = (s: string): void => { process.stdout.write(`[${new Date().toISOString().slice(11, 23)}] ${s}\n`); };
  let sims: SimHost | undefined;
  let mgr: ManagerChild | undefined;
  const cleanup = async (): Promise<void> => {
    await mgr?.stop().catch(() => undefined);
    await sims?.stop().catch(() => undefined);
  };
  process.once('SIGINT', () => void cleanup().finally(() => process.exit(130)));
  process.once('SIGTERM', () => void cleanup().finally(() => process.exit(143)));

  const report: string[] = [];
  try {
    let t = Date.now();
    sims = await startSimHost({ count: engines, basePort: SIM_BASE_PORT, containers: perEngine });
    say(`${engines} simulators up (${total} containers) in ${Date.now() - t} ms`);
    if (prof) { fs.rmSync(PROF_DIR, { recursive: true, force: true }); fs.mkdirSync(PROF_DIR, { recursive: true }); }

    // ---- load ---------------------------------------------------------------
    t = Date.now();
    // --churn: every engine starts a container 2 s into the load (while the manager is still loading).
    const churn = process.argv.includes('--churn');
    let churned: Promise<number> | undefined;
    let atBurst = '';
    if (churn) {
      const at = arg('--churn-at', 2000);
      const askedAt = Date.now();
      churned = sims!.burst(engines, at).then((r) => {
        atBurst = `asked at ${num(askedAt - t)} ms, received ${num((r as any).receivedAt - t)} ms, fired ${num((r as any).firedAt - t)} ms after the manager was spawned; ${num(r.before['GET /containers/json'] ?? 0)} engines listed, ${num(r.before['GET /events'] ?? 0)} event streams open at that moment`;
        return r.started.length;
      });
    }
    const discovery = `nodes://${sims.engines.map((e) => e.addr).join(',')}`;
    mgr = await startManagerChild({
      port: MANAGER_PORT, discovery,
      // The refresh loop would re-list every engine every 30-60s; keep it out of the figures.
      args: ['--engine-refresh-min-interval', '1h', '--engine-refresh-max-interval', '2h'],
      logFile: path.join(os.tmpdir(), 'swarm-bench-scale-manager.log'),
      cpuProfDir: prof ? PROF_DIR : undefined,
      nodeArgs: ['--expose-gc', ...(process.env.SCALE_NODE_ARGS ? process.env.SCALE_NODE_ARGS.split(' ') : [])],
      readyTimeoutMs: 600_000,
    });
    const spawnMs = Date.now() - t;
    // The manager answers once every engine was tried (its first load), so spawn → /_ping is the load;
    // the probe's figures since process start cover it.
    const mp = pool(mgr.addr, 4);
    const poll = pool(mgr.addr, 1);
    let st = await clusterState(poll);
    let healthyAt = 0;
    const deadline = Date.now() + 600_000;
    for (;;) {
      st = await clusterState(poll);
      if (!healthyAt && st.healthy === engines) healthyAt = Date.now();
      if (st.healthy === engines && st.containers === total) break;
      if (Date.now() > deadline) break;
      await sleep(250);
    }
    const loadMs = Date.now() - t;
    const loadStats = await mgr.stats(true);
    const rssLoaded = mgr.vmRss();
    const gcLoaded = await mgr.stats(true, true);
    const rssLoadedGc = mgr.vmRss();
    const fdsLoaded = mgr.fds();
    say(`manager: ${st.healthy}/${engines} healthy, ${st.containers}/${total} containers after ${loadMs} ms (VmRSS ${kb(rssLoaded)})`);
    if (st.containers !== total) {
      report.push(`LOAD INCOMPLETE after ${loadMs} ms: ${st.healthy}/${engines} healthy, ${st.containers}/${total} containers. See ${mgr.logFile}.`);
    }
    const reqCounts = await sims.counts();
    let churnLine = '';
    if (churned) {
      const n = await churned;
      await sleep(3000);
      const truth = await sims.running();
      const seen = (await clusterState(poll)).running;
      churnLine = `${n} containers started ${arg('--churn-at', 2000)} ms after the manager's spawn (${atBurst}); 3 s after the load the cache shows ${num(seen)} running, the engines ${num(truth)}: ${num(truth - seen)} changes missed (until the next refresh)`;
      say(churnLine);
    }
    // --settle S: wait S seconds idle (pooled keep-alive sockets time out after 30 s) and measure again.
    const settleS = arg('--settle', 0);
    let settled = '';
    if (settleS > 0) {
      await sleep(settleS * 1000);
      const g = await mgr.stats(true, true);
      settled = `${kb(mgr.vmRss())} after a full GC (heap used ${kb(g.heapUsed)} of ${kb(g.heapTotal)}, external ${kb(g.external)}), ${num(mgr.fds())} fds`;
      say(`settled ${settleS}s: ${settled}`);
    }

    // ---- API latency ----------------------------------------------------------
    const allIds = sims.engines.flatMap((e) => e.ids);
    const rows: Array<{ name: string; s: Stats; eld: ManagerStats['eld']; cpuMs: number; note: string }> = [];
    const row = async (name: string, count: number, concurrency: number, f: (i: number) => string, note = ''): Promise<void> => {
      if (only !== undefined && !`${name} ${note}`.includes(only)) return;
      await mgr!.stats(true);
      const s = await measure(mp, { count, concurrency, warmup: Math.max(2, Math.floor(count / 10)), path: f, maxMs: 300_000 });
      const m = await mgr!.stats(true);
      rows.push({ name, s, eld: m.eld, cpuMs: m.cpuMs, note });
      say(`  ${name}: p50 ${ms(s.p50)} ms p99 ${ms(s.p99)} ms, ${num(s.rps)} req/s, ${kb(s.bytes)}`);
    };
    const node17 = encodeURIComponent(JSON.stringify({ node: ['sim-17'] }));
    await row('GET /_ping', 2000, 4, () => '/_ping', 'express + middleware baseline');
    await row('GET /containers/json?all=1', 30, 1, () => '/v1.41/containers/json?all=1', `${num(total)} items, 1 connection`);
    await row('GET /containers/json?all=1', 40, 4, () => '/v1.41/containers/json?all=1', '4 connections');
    await row('GET /containers/json?all=1&filters={"node":["sim-17"]}', 500, 4, () => `/v1.41/containers/json?all=1&filters=${node17}`, `${perEngine} items`);
    await row('GET /containers/json (running only)', 30, 1, () => '/v1.41/containers/json', '');
    await row('GET /containers/{id}/json', 2000, 4, (i) => `/v1.41/containers/${allIds[(i * 7919) % allIds.length]}/json`, 'proxied to the owner');
    await row('GET /containers/{short-id}/json', 1000, 4, (i) => `/v1.41/containers/${allIds[(i * 7919) % allIds.length].slice(0, 12)}/json`, '');
    await row('GET /containers/{name}/json', 1000, 4, (i) => { const k = (i * 7919) % allIds.length; return `/v1.41/containers/sim-${Math.floor(k / perEngine)}-c${k % perEngine}/json`; }, 'by name');
    await row('GET /info', 200, 4, () => '/v1.41/info', `${engines} engines in SystemStatus`);
    await row('GET /metrics', 50, 1, () => '/metrics', `${engines} engines, Prometheus text`);
    const rssAfter = mgr.vmRss();
    const gcAfter = await mgr.stats(true, true);
    const rssAfterGc = mgr.vmRss();
    const fdsAfter = mgr.fds();

    // ---- event burst ------------------------------------------------------------
    const burstN = only !== undefined ? 0 : Math.min(engines, 1000);
    const before = (await clusterState(poll)).running;
    await mgr.stats(true);
    const pingLat: number[] = [];
    let pinging = true;
    const pinger = (async () => {
      const pp = pool(mgr!.addr, 1);
      while (pinging) {
        const t0 = performance.now();
        const r = await pp.request({ method: 'GET', path: '/_ping' });
        await r.body.dump();
        pingLat.push(performance.now() - t0);
        await sleep(5);
      }
      await pp.close();
    })();
    const tb = performance.now();
    const { started } = await sims.burst(burstN);
    let applied = 0;
    let appliedMs = NaN;
    const bd = Date.now() + 120_000;
    while (Date.now() < bd) {
      applied = (await clusterState(poll)).running - before;
      if (applied >= started.length) { appliedMs = performance.now() - tb; break; }
      await sleep(20);
    }
    pinging = false;
    await pinger;
    const burstStats = await mgr.stats(true);
    pingLat.sort((a, b) => a - b);
    say(`burst: ${started.length} start events applied (${applied}) in ${ms(appliedMs)} ms; ping max ${ms(pingLat[pingLat.length - 1])} ms`);

    await mp.close();
    await poll.close();
    const finalRss = mgr.vmRss();
    await cleanup();
    mgr = undefined;
    sims = undefined;

    // ---- report -----------------------------------------------------------------
    const pct = (p: number): number => pingLat[Math.min(pingLat.length - 1, Math.ceil((p / 100) * pingLat.length) - 1)];
    report.push(
      `Scale bench: ${engines} simulated engines × ${perEngine} containers = ${num(total)} containers; ` +
        `manager in its own process, refresh loop 1h-2h.`,
      '',
      table(['phase', 'figure'], [
        ['manager spawn → /_ping answers', `${num(spawnMs)} ms`],
        ['all engines healthy', healthyAt ? `${num(healthyAt - t)} ms after spawn` : 'never'],
        ['all containers cached', `${num(loadMs)} ms after spawn (${num(st.containers)} cached)`],
        ['manager CPU during load', `${num(loadStats.cpuMs)} ms`],
        ['event-loop delay during load', `p50 ${ms(loadStats.eld.p50)} ms, p99 ${ms(loadStats.eld.p99)} ms, max ${ms(loadStats.eld.max)} ms`],
        ['engine calls during load', Object.entries(reqCounts).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${num(v)}`).join('; ')],
        ['VmRSS after load', `${kb(rssLoaded)}; after a full GC ${kb(rssLoadedGc)} (heap used ${kb(gcLoaded.heapUsed)} of ${kb(gcLoaded.heapTotal)}, external ${kb(gcLoaded.external)})`],
        ['VmRSS after the API runs', `${kb(rssAfter)}; after a full GC ${kb(rssAfterGc)} (heap used ${kb(gcAfter.heapUsed)} of ${kb(gcAfter.heapTotal)}, external ${kb(gcAfter.external)})`],
        ...(settled ? [[`VmRSS after ${settleS} s idle`, settled]] : []),
        ...(churnLine ? [['changes during the load (--churn)', churnLine]] : []),
        ['VmRSS at the end', kb(finalRss)],
        ['manager open fds after load / after the API runs', `${num(fdsLoaded)} / ${num(fdsAfter)}`],
      ]),
      '',
      table(['request', 'n', 'p50 ms', 'p99 ms', 'req/s', 'body', 'manager CPU ms', 'loop delay p99 / max ms', 'note'],
        rows.map((r) => [r.name, String(r.s.n), ms(r.s.p50), ms(r.s.p99), num(r.s.rps), kb(r.s.bytes), num(r.cpuMs), `${ms(r.eld.p99)} / ${ms(r.eld.max)}`, r.note])),
      '',
      table(['event burst', 'figure'], [
        ['start events sent (one per engine)', String(started.length)],
        ['all applied to the cache (seen in /info)', `${ms(appliedMs)} ms`],
        ['/_ping latency meanwhile (every 5 ms)', `n ${pingLat.length}, p50 ${ms(pct(50))} ms, p99 ${ms(pct(99))} ms, max ${ms(pingLat[pingLat.length - 1])} ms`],
        ['manager event-loop delay', `p99 ${ms(burstStats.eld.p99)} ms, max ${ms(burstStats.eld.max)} ms`],
        ['manager CPU', `${num(burstStats.cpuMs)} ms`],
      ]),
    );
    process.stdout.write('\n' + report.join('\n') + '\n');
    if (prof) {
      await sleep(500);
      const files = fs.readdirSync(PROF_DIR).filter((f) => f.endsWith('.cpuprofile'));
      for (const f of files) process.stdout.write(`\nCPU profile ${path.join(PROF_DIR, f)}:\n${summarizeProfile(path.join(PROF_DIR, f), 30)}\n`);
    }
  } finally {
    await cleanup();
  }
}

main().then(() => process.exit(0), (err) => { process.stderr.write(`${(err as Error).stack}\n`); process.exit(1); });
