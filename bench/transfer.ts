// Bulk transfers through the manager against straight to an engine (issue 13):
// a 100 MB `docker cp` (PUT and GET of a container archive) and a 200 MB
// `docker load` (through the manager it is sent to every node at once).
//
//   node dist/bench/transfer.js [--reps N]   real dockerd engines (root; block 11:
//                                            slots 110-112, engine ports 25000-25002,
//                                            manager 25050; not with api.js --real or tls.js)
//
// The image to load is made on engine 0 (a container writing 200 MB of random
// bytes, committed, saved), then removed everywhere before each load.
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Pool } from 'undici';
import { startEngines, type EngineSet } from '../src/devcluster/engines.js';
import { startManager, type ManagerProcess } from '../src/devcluster/manager.js';
import { spawnReaper } from '../src/devcluster/reap.js';
import { recordManager } from '../src/devcluster/state.js';
import { clusterState, ms, sleep, summarize, table, tarOf, type Stats } from './lib.js';

const REAL = { slotBase: 110, basePort: 25000, managerPort: 25050, stateDir: '/tmp/swarm-bench-transfer' };
const ENGINES = 3;
const CP_BYTES = 100 * 1024 * 1024;
const LOAD_BYTES = 200 * 1024 * 1024;
const IMAGE = 'bench-load:v1';

const mkPool = (addr: string): Pool => new Pool(`http://${addr}`, { connections: 2, bodyTimeout: 600_000, headersTimeout: 600_000 });

async function call(p: Pool, method: 'GET' | 'POST' | 'PUT' | 'DELETE', urlPath: string, body?: Buffer | string, type = 'application/json'): Promise<Buffer> {
  const r = await p.request({ method, path: urlPath, body, headers: body ? { 'content-type': type } : {} });
  const out = Buffer.from(await r.body.arrayBuffer());
  if (r.statusCode >= 300) throw new Error(`${method} ${urlPath}: HTTP ${r.statusCode} ${out.toString().slice(0, 300)}`);
  return out;
}

async function timed(reps: number, f: () => Promise<void>): Promise<Stats> {
  const xs: number[] = [];
  for (let i = 0; i <= reps; i++) {
    const t0 = performance.now();
    await f();
    if (i > 0) xs.push(performance.now() - t0); // the first is a warm-up
  }
  return summarize(xs, xs.reduce((a, b) => a + b, 0));
}

export async function runTransferBench(reps: number, say: (s: string) => void): Promise<string> {
  let set: EngineSet | undefined;
  let mgr: ManagerProcess | undefined;
  const onExit = (): void => { if (set) spawnReaper(REAL.stateDir); };
  process.once('exit', onExit);
  try {
    set = await startEngines({ count: ENGINES, slotBase: REAL.slotBase, basePort: REAL.basePort, stateDir: REAL.stateDir, names: (i) => `bench-${i}` });
    const mgrAddr = `127.0.0.1:${REAL.managerPort}`;
    mgr = await startManager({ host: mgrAddr, discovery: `nodes://${set.engines.map((e) => e.addr).join(',')}`, logFile: path.join(os.tmpdir(), 'swarm-bench-transfer-manager.log') });
    recordManager(REAL.stateDir, { pid: mgr.pid, host: mgrAddr, logFile: mgr.logFile });
    const mp = mkPool(mgrAddr);
    const engines = set.engines.map((e) => mkPool(e.addr));
    const e0 = engines[0]!;
    for (let t = Date.now(); (await clusterState(mp).catch(() => ({ healthy: 0 }))).healthy < ENGINES; await sleep(100)) {
      if (Date.now() - t > 60_000) throw new Error('manager not ready');
    }

    // The image to load: 200 MB of random bytes in one layer, saved from engine 0.
    say('making a 200 MB image on engine 0 ...');
    const mk = JSON.parse((await call(e0, 'POST', '/v1.41/containers/create', JSON.stringify({ Image: 'busybox', Cmd: ['sh', '-c', `head -c ${LOAD_BYTES} /dev/urandom > /blob`] }))).toString());
    await call(e0, 'POST', `/v1.41/containers/${mk.Id}/start`);
    await call(e0, 'POST', `/v1.41/containers/${mk.Id}/wait`);
    await call(e0, 'POST', `/v1.41/commit?container=${mk.Id}&repo=bench-load&tag=v1`);
    const saved = await call(e0, 'GET', `/v1.41/images/${IMAGE}/get`);
    await call(e0, 'DELETE', `/v1.41/containers/${mk.Id}?force=1`);
    const dropEverywhere = async (): Promise<void> => {
      for (const p of engines) await call(p, 'DELETE', `/v1.41/images/${IMAGE}?force=1`).catch(() => undefined);
    };

    // docker cp, 100 MB, into and out of a container on engine 0.
    const cpc = JSON.parse((await call(e0, 'POST', '/v1.41/containers/create?name=bench-cp', JSON.stringify({ Image: 'busybox', Cmd: ['sleep', '3600'] }))).toString());
    await call(e0, 'POST', `/v1.41/containers/${cpc.Id}/start`);
    const tar = tarOf('big.bin', randomBytes(CP_BYTES));
    const rows: string[][] = [];
    const results: Record<string, { cpIn: Stats; cpOut: Stats; load: Stats }> = {};
    for (const [side, p] of [['engine', e0], ['manager', mp]] as const) {
      say(`[${side}] docker cp 100 MB x${reps} ...`);
      const cpIn = await timed(reps, async () => { await call(p, 'PUT', `/v1.41/containers/${cpc.Id}/archive?path=/tmp`, tar, 'application/x-tar'); });
      const cpOut = await timed(reps, async () => { await call(p, 'GET', `/v1.41/containers/${cpc.Id}/archive?path=/tmp/big.bin`); });
      say(`[${side}] docker load 200 MB x${reps} ...`);
      const load = await timed(reps, async () => {
        await dropEverywhere();
        await call(p, 'POST', '/v1.41/images/load?quiet=1', saved, 'application/x-tar');
      });
      results[side] = { cpIn, cpOut, load };
    }
    await call(e0, 'DELETE', `/v1.41/containers/${cpc.Id}?force=1`);
    await dropEverywhere();
    const mbps = (bytes: number, s: Stats) => ((bytes / 1048576) / (s.p50 / 1000)).toFixed(0);
    for (const side of ['engine', 'manager'] as const) {
      const r = results[side]!;
      const f = results.engine!;
      rows.push([
        side === 'engine' ? 'straight to engine 0' : `manager (load: to all ${ENGINES} nodes)`,
        `${ms(r.cpIn.p50)} (${mbps(CP_BYTES, r.cpIn)})`, `${(r.cpIn.p50 / f.cpIn.p50).toFixed(2)}×`,
        `${ms(r.cpOut.p50)} (${mbps(CP_BYTES, r.cpOut)})`, `${(r.cpOut.p50 / f.cpOut.p50).toFixed(2)}×`,
        `${ms(r.load.p50)} (${mbps(saved.length, r.load)})`, `${(r.load.p50 / f.load.p50).toFixed(2)}×`,
      ]);
    }
    await mp.close();
    for (const p of engines) await p.close();
    return [
      `Bulk transfers, real dockerd 20.10, ${ENGINES} engines; p50 of ${reps} after one warm-up, ms (MB/s); × = against straight to the engine.`,
      `docker load: a ${(saved.length / 1048576).toFixed(0)} MB image archive; through the manager it goes to every node at once.`,
      '',
      table(['path', 'cp in 100 MB', '×', 'cp out 100 MB', '×', 'load 200 MB', '×'], rows),
    ].join('\n');
  } finally {
    await mgr?.stop().catch(() => undefined);
    await set?.stop().catch(() => undefined);
    process.off('exit', onExit);
  }
}

if (require.main === module) {
  const i = process.argv.indexOf('--reps');
  const reps = i > 0 ? Number(process.argv[i + 1]) : 3;
  runTransferBench(reps, (s) => process.stderr.write(s + '\n'))
    .then((out) => { process.stdout.write(out + '\n'); process.exit(0); })
    .catch((err) => { process.stderr.write(`${(err as Error).stack ?? err}\n`); process.exit(1); });
}
