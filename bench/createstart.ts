// Write path latency: `POST /containers/create` then `POST /containers/{id}/start`
// (what `docker run -d` sends), through one manager in front of simulated engines.
//
//   flock /tmp/swarm-bench.lock node dist/bench/createstart.js [--engines 300] [--pairs 300] [--prof] [--heap heap|live|aged]
//
// --heap KIND: the manager's sampling heap profile of the 1-client row, ended
// 3 s after it (the idle pools it opened let go) and a full collection, per
// pair: 'heap' all it allocated, 'live' what it kept, 'aged' what lived long
// enough to be promoted (kept, or old-space garbage a full collection freed).
//
// Rows: pairs from 1 client, pairs from 8 clients, and (1 client) create+start
// followed by `ps -a` filtered by the new name, which must show it running
// (read-your-writes; an error if not). Uses the scale bench's ports (27000.., 26990).
import * as os from 'node:os';
import * as path from 'node:path';
import type { Pool } from 'undici';
import { summarizeHeapProfile, summarizeProfile } from './profsummary.js';
import { clusterState, gcNote, ms, num, percentile, pool, procCpuMs, sleep, startManagerChild, startSimHost, table, type ManagerChild, type SimHost } from './lib.js';

const SIM_BASE_PORT = 27000;
const MANAGER_PORT = 26990;

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

async function call(p: Pool, method: 'GET' | 'POST', urlPath: string, body?: unknown): Promise<{ status: number; text: string }> {
  const r = await p.request({ method, path: urlPath, headers: body ? { 'content-type': 'application/json' } : {}, body: body ? JSON.stringify(body) : undefined });
  return { status: r.statusCode, text: await r.body.text() };
}

let seq = 0;
/** Each half of the pairs of the current row, for its split. */
let createMs: number[] = [];
let startMs: number[] = [];
/** One create+start pair; with `check`, a `ps -a --filter name=` right after must show it running. */
async function pair(p: Pool, check: boolean): Promise<number> {
  const name = `cs-${process.pid}-${seq++}`;
  const t0 = process.hrtime.bigint();
  const c = await call(p, 'POST', `/v1.41/containers/create?name=${name}`, { Image: 'busybox', Cmd: ['top'] });
  if (c.status !== 201) throw new Error(`create: HTTP ${c.status} ${c.text}`);
  const id = JSON.parse(c.text).Id;
  const t1 = process.hrtime.bigint();
  createMs.push(Number(t1 - t0) / 1e6);
  const s = await call(p, 'POST', `/v1.41/containers/${id}/start`);
  startMs.push(Number(process.hrtime.bigint() - t1) / 1e6);
  if (s.status !== 204) throw new Error(`start: HTTP ${s.status} ${s.text}`);
  if (check) {
    const l = await call(p, 'GET', `/v1.41/containers/json?all=1&filters=${encodeURIComponent(JSON.stringify({ name: [name] }))}`);
    const list = JSON.parse(l.text);
    if (list.length !== 1 || list[0].State !== 'running') throw new Error(`ps right after start: ${l.text.slice(0, 300)}`);
  }
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

async function run(p: Pool, n: number, clients: number, check: boolean): Promise<{ p50: number; p99: number; rps: number; errors: number; first: string; split: string }> {
  const samples: number[] = [];
  createMs = [];
  startMs = [];
  let next = 0;
  let errors = 0;
  let first = '';
  const t0 = performance.now();
  await Promise.all(Array.from({ length: clients }, async () => {
    while (next < n) {
      next++;
      try { samples.push(await pair(p, check)); } catch (err) { errors++; first ||= (err as Error).message; }
    }
  }));
  const wall = performance.now() - t0;
  samples.sort((a, b) => a - b);
  createMs.sort((a, b) => a - b);
  startMs.sort((a, b) => a - b);
  return {
    p50: percentile(samples, 50), p99: percentile(samples, 99), rps: (samples.length / wall) * 1000, errors, first,
    split: `create p50 ${ms(percentile(createMs, 50))}, start p50 ${ms(percentile(startMs, 50))}`,
  };
}

async function main(): Promise<void> {
  const engines = arg('--engines', 300);
  const pairs = arg('--pairs', 300);
  const heapAt = process.argv.indexOf('--heap');
  const heapKind = heapAt >= 0 ? process.argv[heapAt + 1] as 'heap' | 'live' | 'aged' : undefined;
  if (heapKind && !['heap', 'live', 'aged'].includes(heapKind)) throw new Error('--heap takes heap, live or aged');
  const say = (s: string): void => { process.stdout.write(s + '\n'); };
  let sims: SimHost | undefined;
  let mgr: ManagerChild | undefined;
  try {
    sims = await startSimHost({ count: engines, basePort: SIM_BASE_PORT, containers: 30 });
    mgr = await startManagerChild({
      port: MANAGER_PORT, discovery: `nodes://${sims.engines.map((e) => e.addr).join(',')}`,
      args: ['--engine-refresh-min-interval', '1h', '--engine-refresh-max-interval', '2h'],
      logFile: path.join(os.tmpdir(), 'swarm-bench-createstart-manager.log'), readyTimeoutMs: 600_000,
      nodeArgs: [...(heapKind ? ['--expose-gc'] : []), ...(process.env.SCALE_NODE_ARGS ? process.env.SCALE_NODE_ARGS.split(' ').filter(Boolean) : [])],
    });
    const poll = pool(mgr.addr, 1);
    for (const deadline = Date.now() + 600_000; Date.now() < deadline;) {
      const st = await clusterState(poll);
      if (st.healthy === engines && st.containers === engines * 30) break;
      await sleep(250);
    }
    const p1 = pool(mgr.addr, 1);
    const p8 = pool(mgr.addr, 8);
    await run(p1, 30, 1, false); // warm-up
    const rows: string[][] = [];
    const add = (label: string, r: Awaited<ReturnType<typeof run>>, cpuMs: number, gc: string): void => {
      rows.push([label, ms(r.p50), ms(r.p99), num(r.rps), ms(cpuMs), String(r.errors), r.first.slice(0, 80)]);
      say(`  ${label}: p50 ${ms(r.p50)} p99 ${ms(r.p99)} ms (${r.split}), ${num(r.rps)} pairs/s, manager CPU ${ms(cpuMs)} ms/pair, ${r.errors} errors ${r.first}; ${gc}`);
    };
    const m = mgr;
    const measured = async (label: string, n: number, p: Pool, clients: number, check: boolean): Promise<void> => {
      const gc0 = await m.gcs(true);
      const cpu0 = procCpuMs(m.pid);
      const r = await run(p, n, clients, check);
      const cpu = (procCpuMs(m.pid) - cpu0) / n;
      add(label, r, cpu, gcNote(await m.gcs(), gc0));
    };
    // --prof: the manager's CPU profile of the two timed create+start rows alone
    const prof = process.argv.includes('--prof') ? path.join(os.tmpdir(), `swarm-bench-createstart-${process.pid}.cpuprofile`) : undefined;
    if (prof) await mgr.profile('start');
    const before = await sims.counts();
    const heapProf = heapKind ? path.join(os.tmpdir(), `swarm-bench-createstart-${process.pid}.heapprofile`) : undefined;
    if (heapProf) { await mgr.stats(true, true); await mgr.profile('start', undefined, heapKind); }
    await measured('create+start, 1 client', pairs, p1, 1, false);
    if (heapProf) {
      await sleep(3000);
      // Scavenges first: what is still young then dies as it would have, not in the full collection.
      await mgr.stats(true, 'minor');
      await mgr.stats(true, true);
      await mgr.profile('stop', heapProf, heapKind);
      say(`manager heap profile (${heapKind}) of that row, per pair: ${heapProf}`);
      say(summarizeHeapProfile(heapProf, 25, pairs));
    }
    // What a pair costs the engines: every call the manager made during that row, per pair.
    const after = await sims.counts();
    const perPair = Object.entries(after).map(([k, v]) => [k, (v - (before[k] ?? 0)) / pairs] as const).filter(([, v]) => v > 0).sort((a, b) => b[1] - a[1]);
    say(`  engine calls per pair (1 client): ${perPair.map(([k, v]) => `${k} ${v.toFixed(2)}`).join('; ')}`);
    await measured('create+start, 8 clients', pairs, p8, 8, false);
    if (prof) {
      await mgr.profile('stop', prof);
      say(`manager CPU profile of those rows: ${prof}`);
      say(summarizeProfile(prof, 40));
    }
    await measured('create+start+ps, 1 client', Math.min(pairs, 100), p1, 1, true);
    say('');
    say(`create+start pairs through the manager, ${engines} simulated engines × 30 containers. Latency in ms.`);
    say(table(['row', 'p50', 'p99', 'pairs/s', 'manager CPU ms/pair', 'errors', 'first error'], rows));
    await Promise.all([poll.close(), p1.close(), p8.close()]);
  } finally {
    await mgr?.stop().catch(() => undefined);
    await sims?.stop().catch(() => undefined);
  }
}

main().then(() => process.exit(0), (err) => { process.stderr.write(`${(err as Error).stack}\n`); process.exit(1); });
