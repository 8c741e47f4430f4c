// What TLS costs: inspect and `ps -a` latency, `docker cp` throughput (a 20 MB
// file through PUT/GET /containers/{id}/archive) and a fresh connection
// (handshake + one /_ping), through the manager and straight to an engine,
// plain and TLS.
//
//   node dist/bench/tls.js    real dockerd engines (root; block 11: slots 110-111,
//                             engine ports 25000-25001, manager 25050; not with api.js --real)
//   options: --count N (requests per latency row, default 1000), --concurrency N (default 4),
//            --cp-reps N (archive round trips per row, default 5), --fresh N (fresh connections, default 200),
//            --no-verify (TLS manager with --tls instead of --tlsverify)
//
// One engine set cannot serve plain and TLS at once (dockerd's --tlsverify
// covers every tcp -H), so two phases run on the same slots, one after the
// other: plain engines + a plain manager, then engines with --tlsverify + a
// TLS manager. Clients keep connections alive (undici Pools), so the latency
// rows measure requests, not handshakes; the fresh-connection row measures
// those (full handshakes: no session resumption).
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Client, Pool } from 'undici';
import { startEngines, type EngineSet } from '../src/devcluster/engines.js';
import { startManager, type ManagerProcess } from '../src/devcluster/manager.js';
import { spawnReaper } from '../src/devcluster/reap.js';
import { recordManager } from '../src/devcluster/state.js';
import { certsDir, issueClientBundle, issueManagerCert, readClientTls } from '../src/devcluster/tls.js';
import { createCA } from '../src/certs/index.js';
import type { ClientTls } from '../src/devcluster/util.js';
import { clusterState, measure, ms, num, sleep, summarize, table, tarOf, type Stats } from './lib.js';

const REAL = { slotBase: 110, basePort: 25000, managerPort: 25050, stateDir: '/tmp/swarm-bench-110' };
const ENGINES = 2;
const PER_ENGINE = 50;
const CP_BYTES = 20 * 1024 * 1024;

export interface TlsBenchOptions {
  count: number;
  concurrency: number;
  warmup: number;
  cpReps: number;
  fresh: number;
  verify: boolean;
  log?: (s: string) => void;
}

type Side = 'manager' | 'engine';
interface Row { phase: 'plain' | 'TLS'; side: Side; inspect: Stats; ps: Stats; put: Stats; get: Stats; fresh: Stats }

const origin = (addr: string, tls?: ClientTls) => `${tls ? 'https' : 'http'}://${addr}`;

function mkPool(addr: string, connections: number, tls?: ClientTls): Pool {
  return new Pool(origin(addr, tls), {
    connections, pipelining: 1, keepAliveTimeout: 30_000, bodyTimeout: 120_000, headersTimeout: 120_000,
    connect: tls ? { ca: tls.ca, cert: tls.cert, key: tls.key, rejectUnauthorized: true } : undefined,
  });
}

/** PUT then GET of the archive, `reps` times after one warm-up: time per transfer. */
async function archive(p: Pool, id: string, tar: Buffer, reps: number): Promise<{ put: Stats; get: Stats }> {
  const puts: number[] = [];
  const gets: number[] = [];
  for (let i = 0; i <= reps; i++) {
    let t0 = performance.now();
    const r = await p.request({ method: 'PUT', path: `/v1.41/containers/${id}/archive?path=/tmp`, body: tar, headers: { 'content-type': 'application/x-tar' } });
    const text = await r.body.text();
    if (r.statusCode !== 200) throw new Error(`PUT archive: HTTP ${r.statusCode} ${text}`);
    if (i > 0) puts.push(performance.now() - t0);
    t0 = performance.now();
    const g = await p.request({ method: 'GET', path: `/v1.41/containers/${id}/archive?path=/tmp/big.bin` });
    const got = Buffer.from(await g.body.arrayBuffer());
    if (g.statusCode !== 200 || got.length < CP_BYTES) throw new Error(`GET archive: HTTP ${g.statusCode}, ${got.length} bytes`);
    if (i > 0) gets.push(performance.now() - t0);
  }
  const wall = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  return { put: summarize(puts, wall(puts)), get: summarize(gets, wall(gets)) };
}

/** A new connection per request (handshake included), sequentially; no session resumption. */
async function fresh(addr: string, n: number, tls?: ClientTls): Promise<Stats> {
  const samples: number[] = [];
  const t00 = performance.now();
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const c = new Client(origin(addr, tls), { connect: tls ? { ca: tls.ca, cert: tls.cert, key: tls.key, maxCachedSessions: 0 } : undefined });
    const r = await c.request({ method: 'GET', path: '/_ping' });
    await r.body.dump();
    samples.push(performance.now() - t0);
    await c.close();
  }
  return summarize(samples, performance.now() - t00);
}

async function phase(o: TlsBenchOptions, tlsOn: boolean, say: (s: string) => void, track: (s: EngineSet | undefined, m: ManagerProcess | undefined) => void): Promise<Row[]> {
  const label = tlsOn ? 'TLS' : 'plain';
  const t0 = Date.now();
  const set = await startEngines({
    count: ENGINES, slotBase: REAL.slotBase, basePort: REAL.basePort, stateDir: REAL.stateDir, names: (i) => `bench-${i}`,
    tls: tlsOn ? { ca: createCA({ commonName: 'swarm bench CA' }) } : undefined,
  });
  track(set, undefined);
  const mgrAddr = `127.0.0.1:${REAL.managerPort}`;
  const dir = certsDir(REAL.stateDir);
  const client = tlsOn ? readClientTls(issueClientBundle(dir, `tcp://${mgrAddr}`)) : undefined;
  say(`[${label}] ${ENGINES} engines up in ${Date.now() - t0} ms; creating ${PER_ENGINE} containers on each`);
  const ids: string[] = [];
  await Promise.all(set.engines.map(async (e, k) => {
    const p = mkPool(e.addr, 4, client);
    for (let i = 0; i < PER_ENGINE; i++) {
      const r = await p.request({ method: 'POST', path: `/v1.41/containers/create?name=tb-${k}-${i}`, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ Image: 'busybox', Cmd: ['true'] }) });
      const j = JSON.parse(await r.body.text());
      if (r.statusCode !== 201) throw new Error(`create on ${e.addr}: HTTP ${r.statusCode} ${JSON.stringify(j)}`);
      if (k === 0) ids.push(j.Id);
    }
    await p.close();
  }));
  const m = await startManager({
    host: mgrAddr, discovery: `nodes://${set.engines.map((e) => e.addr).join(',')}`,
    tls: tlsOn ? issueManagerCert(dir) : undefined, tlsVerify: o.verify,
    logFile: path.join(os.tmpdir(), `swarm-bench-tls-${label}-manager.log`),
  });
  recordManager(REAL.stateDir, { pid: m.pid, host: mgrAddr, logFile: m.logFile });
  track(set, m);
  const mp = mkPool(mgrAddr, o.concurrency, client);
  const deadline = Date.now() + 60_000;
  for (;;) {
    const st = await clusterState(mp).catch(() => ({ healthy: 0, containers: 0 }));
    if (st.healthy === ENGINES && st.containers === ENGINES * PER_ENGINE) break;
    if (Date.now() > deadline) throw new Error(`[${label}] manager not ready after 60s: ${JSON.stringify(st)}; log ${m.logFile}`);
    await sleep(100);
  }
  say(`[${label}] manager ready (${tlsOn ? (o.verify ? '--tlsverify' : '--tls') : 'no TLS'})`);
  const ep = mkPool(set.engines[0]!.addr, o.concurrency, client);
  const tar = tarOf('big.bin', randomBytes(CP_BYTES));
  const rows: Row[] = [];
  for (const [side, p, addr] of [['engine', ep, set.engines[0]!.addr], ['manager', mp, mgrAddr]] as const) {
    const lat = (f: (i: number) => string) => measure(p, { count: o.count, concurrency: o.concurrency, warmup: o.warmup, path: f });
    const inspect = await lat((i) => `/v1.41/containers/${ids[i % ids.length]}/json`);
    const ps = await lat(() => '/v1.41/containers/json?all=1');
    const { put, get } = await archive(p, ids[0]!, tar, o.cpReps);
    const fr = await fresh(addr, o.fresh, client);
    rows.push({ phase: label, side, inspect, ps, put, get, fresh: fr });
    say(`[${label}] ${side}: inspect p50 ${ms(inspect.p50)} ms, ps -a p50 ${ms(ps.p50)} ms, cp in ${ms(put.p50)} ms / out ${ms(get.p50)} ms, fresh ${ms(fr.p50)} ms`);
  }
  await mp.close();
  await ep.close();
  await m.stop();
  await set.stop();
  track(undefined, undefined);
  return rows;
}

export async function runTlsBench(o: TlsBenchOptions): Promise<string> {
  const say = o.log ?? ((s: string) => process.stdout.write(s + '\n'));
  let set: EngineSet | undefined;
  let mgr: ManagerProcess | undefined;
  const track = (s: EngineSet | undefined, m: ManagerProcess | undefined) => { set = s; mgr = m; };
  const cleanup = async (): Promise<void> => {
    await mgr?.stop().catch(() => undefined);
    await set?.stop().catch((e: Error) => say(`engine teardown: ${e.message}`));
  };
  const onSignal = (): void => { void cleanup().finally(() => process.exit(130)); };
  const onExit = (): void => { if (set) spawnReaper(REAL.stateDir); };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  process.once('exit', onExit);
  try {
    const rows = [...(await phase(o, false, say, track)), ...(await phase(o, true, say, track))];
    return report(o, rows);
  } finally {
    await cleanup();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('exit', onExit);
  }
}

function report(o: TlsBenchOptions, rows: Row[]): string {
  const floor = rows.find((r) => r.phase === 'plain' && r.side === 'engine')!;
  const name = (r: Row) => `${r.phase} ${r.side}`;
  const x = (a: number, b: number) => `${(a / b).toFixed(2)}×`;
  const mbps = (s: Stats) => num((CP_BYTES / 1024 / 1024) / (s.p50 / 1000));
  return [
    `TLS bench, real dockerd 20.10: ${ENGINES} engines × ${PER_ENGINE} containers; "engine" = engine 0 straight, "manager" answers ps -a with all ${ENGINES * PER_ENGINE}.`,
    `Two phases on the same slots (dockerd cannot serve plain and TLS on tcp at once): plain engines + plain manager, then engines with --tlsverify + a manager with ${o.verify ? '--tlsverify' : '--tls (its pair is still its client certificate; engines check it)'}; clients present the client pair and check the server against the CA.`,
    `Latency: ${o.count} requests per row after ${o.warmup} warm-up, ${o.concurrency} keep-alive connections, ms. Floor = plain engine.`,
    '',
    table(
      ['path', 'inspect p50', 'p99', 'req/s', '× floor', 'ps -a p50', 'p99', 'req/s', '× floor'],
      rows.map((r) => [name(r), ms(r.inspect.p50), ms(r.inspect.p99), num(r.inspect.rps), x(r.inspect.p50, floor.inspect.p50),
        ms(r.ps.p50), ms(r.ps.p99), num(r.ps.rps), x(r.ps.p50, floor.ps.p50)]),
    ),
    '',
    `docker cp: a 20 MB file in (PUT archive) and out (GET archive), ${o.cpReps} round trips after one warm-up; ms p50 (MB/s at p50). Fresh connection: connect + handshake + GET /_ping, ${o.fresh} in a row, full handshakes (RSA 2048).`,
    '',
    table(
      ['path', 'cp in p50', 'MB/s', '× floor', 'cp out p50', 'MB/s', '× floor', 'fresh p50', 'p99', '× floor'],
      rows.map((r) => [name(r), ms(r.put.p50), mbps(r.put), x(r.put.p50, floor.put.p50), ms(r.get.p50), mbps(r.get), x(r.get.p50, floor.get.p50),
        ms(r.fresh.p50), ms(r.fresh.p99), x(r.fresh.p50, floor.fresh.p50)]),
    ),
  ].join('\n');
}

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

if (require.main === module) {
  const count = arg('--count', 1000);
  runTlsBench({
    count, concurrency: arg('--concurrency', 4), warmup: Math.max(50, Math.floor(count / 10)),
    cpReps: arg('--cp-reps', 5), fresh: arg('--fresh', 200), verify: !process.argv.includes('--no-verify'),
  })
    .then((s) => { process.stdout.write('\n' + s + '\n'); process.exit(0); })
    .catch((err) => { process.stderr.write(`${(err as Error).stack}\n`); process.exit(1); });
}
