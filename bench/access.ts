// Issue 17: what per-user access control costs `docker ps -a`. 30,000
// containers (1,000 simulated engines × 30 by default), one in ten carrying
// com.docker.swarm.access.label=red, the rest blue. A manager with --tlsverify
// and --access-policy (admins: [root]; alice: default none, team red with
// view on red) answers GET /containers/json?all=1 to
//   admin  root:  everything, the unfiltered listing (~24 MB);
//   user   alice: the red tenth (~3,000 items).
// Each at 1 client (sequential) and 8 concurrent clients, with nothing
// changing between requests (the kept-body path) and with one container
// changing before each request (a red one stopped or started through the
// manager, as root; so every request re-walks the cluster's list).
//
//   node dist/bench/access.js [--engines 1000] [--containers 30] [--seq 30] [--conc 80]
//                             [--clients 8] [--base-port 29000] [--prof]
//
// Processes: the simulators (HTTPS, --tlsverify-like, certificates from the
// bench's CA) in a child of their own; the manager started in-process
// (startManager(parseManageConfig({...}))) in another child, which reports its
// CPU time (process.cpuUsage) and, with --prof, a V8 CPU profile of each
// 1-client row (printed: top functions by self time); the clients (undici Pools over TLS, CN root
// and CN alice from the same CA) here. Manager CPU per request: its CPU time
// over the measured requests / their number; in the changing rows minus the
// toggles' own cost (measured alone first, per toggle).
// Ports: simulators BASE.., manager BASE-10 (default 29000 / 28990).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fork, type ChildProcess } from 'node:child_process';
import { Pool } from 'undici';
import { createCA, issueCert, type KeyPair } from '../src/certs/index.js';
import { ACCESS_LABEL } from '../src/access/table.js';
import { kb, ms, num, percentile, rpc, sleep, table, uptimeLoad } from './lib.js';
import { summarizeProfile } from './profsummary.js';

const WORK_DIR = path.join(os.tmpdir(), 'swarm-bench-access');
const PROF_DIR = path.join(os.tmpdir(), 'swarm-bench-access-prof');
const PS = '/v1.41/containers/json?all=1';
/** Pre-made container i of each engine: red when i % RED_EVERY === 0. */
const RED_EVERY = 10;

const POLICY = `# bench/access.ts
admins: [root]
users:
  alice: {default: none}
teams:
  red: {members: [alice], grants: {red: view}}
`;

// ---- children -------------------------------------------------------------------

type Call = (msg: Record<string, unknown>, timeoutMs?: number) => Promise<any>;

/** Fork this file in a role; requests and answers over IPC, matched by id. */
function forkRole(role: string, logFile: string | undefined, execArgv: string[]): { child: ChildProcess; call: Call } {
  const out = logFile ? fs.openSync(logFile, 'w') : 'inherit';
  const child = fork(__filename, [role], { stdio: ['ignore', out, out, 'ipc'], execArgv });
  if (typeof out === 'number') fs.closeSync(out);
  const ask = rpc(child);
  const call: Call = (msg, timeoutMs = 600_000) => {
    if (child.exitCode !== null || child.signalCode !== null) return Promise.reject(new Error(`${role} child has exited${logFile ? `; see ${logFile}` : ''}`));
    return ask(msg, timeoutMs);
  };
  return { child, call };
}

function serve(handle: (m: any) => Promise<Record<string, unknown>>): void {
  process.on('message', (m: any) => {
    handle(m).then((r) => process.send?.({ id: m.id, ...r }), (err: Error) => process.send?.({ id: m.id, error: err.stack ?? err.message }));
  });
  process.on('disconnect', () => process.exit(0));
}

/** The simulators' child: HTTPS engines that ask for a client certificate from the bench's CA. */
async function simChild(): Promise<void> {
  const { startSimulators } = await import('./simulator.js');
  let sims: Awaited<ReturnType<typeof startSimulators>> = [];
  serve(async (m) => {
    switch (m.cmd) {
      case 'start': {
        sims = await startSimulators(m.count, m.basePort, {
          containers: m.containers, prefix: 'acc-',
          tls: { cert: m.tls.cert, key: m.tls.key, ca: m.tls.ca, requestCert: true },
          containerLabels: (i) => ({ [ACCESS_LABEL]: i % RED_EVERY === 0 ? 'red' : 'blue' }),
        });
        return { engines: sims.map((s) => ({ name: s.name, addr: s.addr, ids: s.ids() })) };
      }
      case 'counts': {
        const counts: Record<string, number> = {};
        for (const s of sims) for (const [k, v] of s.counts) counts[k] = (counts[k] ?? 0) + v;
        return { counts };
      }
      case 'stop':
        await Promise.all(sims.map((s) => s.stop()));
        setImmediate(() => process.exit(0));
        return {};
      default: throw new Error(`unknown command ${m.cmd}`);
    }
  });
}

/** The manager's child: startManager in-process; CPU time and profile windows on request. */
async function managerChild(): Promise<void> {
  const { parseManageConfig } = await import('../src/cli/config.js');
  const { startManager } = await import('../src/cli/manage.js');
  let mgr: Awaited<ReturnType<typeof startManager>> | undefined;
  let session: import('node:inspector').Session | undefined;
  const post = (method: string, params: object = {}): Promise<any> =>
    new Promise((resolve, reject) => session!.post(method, params, (err, r) => (err ? reject(err) : resolve(r))));
  serve(async (m) => {
    switch (m.cmd) {
      case 'start':
        mgr = await startManager(parseManageConfig(m.argv));
        return {};
      case 'cpu': {
        const u = process.cpuUsage();
        return { cpuMs: (u.user + u.system) / 1000, rss: process.memoryUsage().rss };
      }
      case 'profile':
        if (m.action === 'start') {
          const inspector = await import('node:inspector');
          session = new inspector.Session();
          session.connect();
          await post('Profiler.enable');
          await post('Profiler.setSamplingInterval', { interval: 200 });
          await post('Profiler.start');
        } else {
          const { profile } = await post('Profiler.stop');
          fs.writeFileSync(m.file, JSON.stringify(profile));
          session?.disconnect();
          session = undefined;
        }
        return {};
      case 'stop':
        await mgr?.stop();
        setImmediate(() => process.exit(0));
        return {};
      default: throw new Error(`unknown command ${m.cmd}`);
    }
  });
}

// ---- measuring --------------------------------------------------------------------

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

const say = (s: string): void => { process.stdout.write(`[${new Date().toISOString().slice(11, 23)}] ${s}\n`); };

interface Row {
  mode: 'kept' | 'changing';
  who: 'admin' | 'user';
  clients: number;
  n: number;
  p50: number;
  p99: number;
  /** Manager CPU per request (ms), toggles' cost taken out. */
  cpu: number;
  bytes: number;
  errors: number;
}

interface Pair { cert: string; key: string }

function tlsPool(addr: string, connections: number, ca: string, pair: Pair): Pool {
  return new Pool(`https://${addr}`, {
    connections, pipelining: 1, keepAliveTimeout: 60_000, bodyTimeout: 120_000, headersTimeout: 120_000,
    connect: { ca, cert: pair.cert, key: pair.key, rejectUnauthorized: true },
  });
}

async function getText(p: Pool, urlPath: string): Promise<string> {
  const res = await p.request({ method: 'GET', path: urlPath });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`GET ${urlPath}: HTTP ${res.statusCode}: ${text.slice(0, 200)}`);
  return text;
}

/** One ps -a, body drained and counted, not kept. */
async function ps(p: Pool): Promise<number> {
  const res = await p.request({ method: 'GET', path: PS });
  if (res.statusCode !== 200) throw new Error(`GET ${PS}: HTTP ${res.statusCode}: ${(await res.body.text()).slice(0, 200)}`);
  let bytes = 0;
  for await (const chunk of res.body) bytes += (chunk as Buffer).length;
  return bytes;
}

async function post(p: Pool, urlPath: string): Promise<void> {
  const res = await p.request({ method: 'POST', path: urlPath });
  const text = await res.body.text();
  if (res.statusCode !== 204 && res.statusCode !== 304) throw new Error(`POST ${urlPath}: HTTP ${res.statusCode}: ${text.slice(0, 200)}`);
}

/**
 * The changes: each worker owns one red container that was running at the
 * start, and stops it, starts it, stops it… through the manager (as root), so
 * the manager's cache has changed (its re-read done) when the next listing asks.
 */
class Toggler {
  private running: boolean[];
  constructor(private readonly pool: Pool, private readonly ids: string[]) { this.running = ids.map(() => true); }
  async toggle(worker: number): Promise<void> {
    const k = worker % this.ids.length;
    const action = this.running[k] ? 'stop?t=0' : 'start';
    await post(this.pool, `/v1.41/containers/${this.ids[k]}/${action}`);
    this.running[k] = !this.running[k];
  }
}

async function main(): Promise<void> {
  const t00 = Date.now();
  const engines = arg('--engines', 1000);
  const perEngine = arg('--containers', 30);
  const seqCount = arg('--seq', 30);
  const concCount = arg('--conc', 80);
  const clients = arg('--clients', 8);
  const basePort = arg('--base-port', 29000);
  const prof = process.argv.includes('--prof');
  const total = engines * perEngine;
  const redPerEngine = Math.ceil(perEngine / RED_EVERY);
  process.stdout.write(`access bench: ${num(engines)} simulated engines × ${perEngine} containers = ${num(total)}, ${num(engines * redPerEngine)} labelled red; ` +
    `${seqCount} requests at 1 client, ${concCount} at ${clients}; load average ${uptimeLoad()}\n`);

  fs.rmSync(WORK_DIR, { recursive: true, force: true });
  fs.mkdirSync(WORK_DIR, { recursive: true });
  if (prof) { fs.rmSync(PROF_DIR, { recursive: true, force: true }); fs.mkdirSync(PROF_DIR, { recursive: true }); }
  let t = Date.now();
  const ca: KeyPair = createCA({ commonName: 'swarm access bench CA' });
  const local = { ips: ['127.0.0.1'], dnsNames: ['localhost'] };
  const engineCert = issueCert(ca, { commonName: 'sim-engine', server: true, ...local });
  const mgrCert = issueCert(ca, { commonName: 'swarm-manager', server: true, client: true, ...local });
  const rootPair = issueCert(ca, { commonName: 'root', client: true });
  const alicePair = issueCert(ca, { commonName: 'alice', client: true });
  const file = (name: string, data: string): string => { const f = path.join(WORK_DIR, name); fs.writeFileSync(f, data, { mode: 0o600 }); return f; };
  const files = { ca: file('ca.pem', ca.cert), cert: file('manager.pem', mgrCert.cert), key: file('manager-key.pem', mgrCert.key), policy: file('policy.yaml', POLICY) };
  say(`certificates made in ${Date.now() - t} ms (${WORK_DIR})`);

  const sim = forkRole('--sim-child', undefined, ['--max-old-space-size=4096']);
  let mgr: { child: ChildProcess; call: Call } | undefined;
  const pools: Pool[] = [];
  const cleanup = async (): Promise<void> => {
    await Promise.all(pools.splice(0).map((p) => p.close().catch(() => undefined)));
    if (mgr) await mgr.call({ cmd: 'stop' }, 20_000).catch(() => mgr?.child.kill('SIGKILL'));
    await sim.call({ cmd: 'stop' }, 20_000).catch(() => sim.child.kill('SIGKILL'));
  };
  const onSignal = (): void => { void cleanup().finally(() => process.exit(130)); };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    t = Date.now();
    const started = await sim.call({ cmd: 'start', count: engines, basePort, containers: perEngine, tls: { cert: engineCert.cert, key: engineCert.key, ca: ca.cert } });
    const simEngines = started.engines as Array<{ name: string; addr: string; ids: string[] }>;
    say(`${num(engines)} HTTPS simulators up in ${num(Date.now() - t)} ms`);

    const maddr = `127.0.0.1:${basePort - 10}`;
    const logFile = path.join(os.tmpdir(), 'swarm-bench-access-manager.log');
    mgr = forkRole('--manager-child', logFile, ['--max-old-space-size=4096']);
    const m = mgr;
    const cpu = async (): Promise<number> => (await m.call({ cmd: 'cpu' })).cpuMs;
    t = Date.now();
    await m.call({
      cmd: 'start',
      argv: {
        discovery: `nodes://${simEngines.map((e) => e.addr).join(',')}`, host: [`tcp://${maddr}`],
        tlsverify: true, tlscacert: files.ca, tlscert: files.cert, tlskey: files.key, 'access-policy': files.policy,
        // The refresh loop would re-list every engine every 30-60 s: keep it out of the figures.
        'engine-refresh-min-interval': '1h', 'engine-refresh-max-interval': '2h',
      },
    });
    say(`manager started (--tlsverify --access-policy) in ${num(Date.now() - t)} ms; log ${logFile}`);

    const P = (pair: Pair, n: number): Pool => { const p = tlsPool(maddr, n, ca.cert, pair); pools.push(p); return p; };
    const admin1 = P(rootPair, 1);
    const user1 = P(alicePair, 1);
    const adminN = P(rootPair, clients);
    const userN = P(alicePair, clients);
    const togglePool = P(rootPair, clients);

    // Every engine healthy and every container cached, then the background inspects answered.
    const deadline = Date.now() + 600_000;
    for (;;) {
      const info = JSON.parse(await getText(admin1, '/v1.41/info'));
      let healthy = 0;
      for (const [k, v] of (info.SystemStatus ?? []) as Array<[string, string]>) if (k === '  └ Status' && v === 'Healthy') healthy++;
      if (healthy === engines && info.Containers >= total) break;
      if (Date.now() > deadline) throw new Error(`not loaded after 600 s: ${healthy}/${engines} healthy, ${info.Containers}/${total} containers`);
      await sleep(500);
    }
    say(`all ${num(total)} containers cached ${num(Date.now() - t)} ms after the start`);
    const inspectKey = 'GET /containers/{id}/json';
    for (;;) {
      const n = ((await sim.call({ cmd: 'counts' })).counts[inspectKey] ?? 0) as number;
      if (n >= total || Date.now() > deadline) { say(`${num(n)}/${num(total)} background inspects answered`); break; }
      await sleep(1000);
    }
    await sleep(2000);

    // What each sees: the admin everything, alice the red tenth (and /info counts alike).
    const redIds: string[] = [];
    const runningRed: string[] = [];
    for (const e of simEngines) {
      e.ids.forEach((id, i) => {
        if (i % RED_EVERY !== 0) return;
        redIds.push(id);
        if (i % 3 !== 2 && runningRed.length < clients) runningRed.push(id); // the simulator's pre-made containers: i % 3 === 2 exited
      });
    }
    const adminItems = JSON.parse(await getText(admin1, PS)) as Array<{ Id: string }>;
    const userItems = JSON.parse(await getText(user1, PS)) as Array<{ Id: string; Labels: Record<string, string> }>;
    const userInfo = JSON.parse(await getText(user1, '/v1.41/info'));
    const notRed = userItems.filter((c) => c.Labels?.[ACCESS_LABEL] !== 'red').length;
    say(`admin sees ${num(adminItems.length)} containers, alice ${num(userItems.length)} (${notRed} not red; /info says ${num(userInfo.Containers)}); red on the engines: ${num(redIds.length)}`);
    if (adminItems.length !== total) throw new Error(`admin listing has ${adminItems.length} items, expected ${total}`);
    if (userItems.length !== redIds.length || notRed) throw new Error(`alice's listing has ${userItems.length} items (${notRed} not red), expected the ${redIds.length} red ones`);

    // A change shows at once in the next listing (the kept bodies follow the containers version), alice's included.
    const stateFor = async (p: Pool, id: string): Promise<string | undefined> =>
      (JSON.parse(await getText(p, PS)) as Array<{ Id: string; State: string }>).find((c) => c.Id === id)?.State;
    for (const [action, want] of [['stop?t=0', 'exited'], ['start', 'running']]) {
      await post(togglePool, `/v1.41/containers/${runningRed[0]}/${action}`);
      const seen = [await stateFor(user1, runningRed[0]), await stateFor(admin1, runningRed[0])];
      if (seen.some((st) => st !== want)) throw new Error(`after POST ${action}: alice's and root's listings show ${seen.join(' and ')}, not ${want}`);
    }

    // The toggles' own manager CPU (alone, at 1 and at N workers), to take out of the changing rows.
    const toggler = new Toggler(togglePool, runningRed);
    const calib = 40;
    const calibrate = async (workers: number): Promise<{ cpu: number; wall: number }> => {
      let next = 0;
      const go = async (count: number): Promise<void> => {
        next = 0;
        await Promise.all(Array.from({ length: workers }, async (_, w) => { while (next < count) { next++; await toggler.toggle(w); } }));
      };
      await go(2 * workers);
      await sleep(300);
      const c = await cpu();
      const w0 = performance.now();
      await go(calib);
      const wall = (performance.now() - w0) / calib;
      await sleep(300); // the engines' events for the last ones, handled
      return { cpu: (await cpu() - c) / calib, wall };
    };
    const toggle1 = await calibrate(1);
    const toggleN = await calibrate(clients);
    say(`a toggle (POST stop or start of a red container, as root), ${calib} alone: ${ms(toggle1.wall)} ms, ${ms(toggle1.cpu)} manager CPU-ms at 1 worker; ${ms(toggleN.cpu)} CPU-ms at ${clients}`);
    let c0 = 0;

    const rows: Row[] = [];
    const profiles: string[] = [];
    const measureRow = async (mode: Row['mode'], who: Row['who'], n: number, count: number): Promise<void> => {
      const p = who === 'admin' ? (n === 1 ? admin1 : adminN) : (n === 1 ? user1 : userN);
      const change = mode === 'changing';
      const samples: number[] = [];
      let bytes = 0;
      let errors = 0;
      let toggles = 0;
      const run = async (reqs: number, record: boolean): Promise<void> => {
        let next = 0;
        const worker = async (w: number): Promise<void> => {
          while (next < reqs) {
            next++;
            try {
              if (change) { await toggler.toggle(w); if (record) toggles++; }
              const t0 = performance.now();
              const b = await ps(p);
              if (record) { samples.push(performance.now() - t0); bytes += b; }
            } catch (err) {
              if (record) errors++;
              if (errors === 1 && record) say(`  error: ${(err as Error).message}`);
            }
          }
        };
        await Promise.all(Array.from({ length: n }, (_, w) => worker(w)));
      };
      await run(Math.max(3, n), false); // warm-up: this caller's kept body rendered, connections open
      await sleep(200);
      const profFile = prof && n === 1 ? path.join(PROF_DIR, `${mode}-${who}-1.cpuprofile`) : undefined;
      if (profFile) await m.call({ cmd: 'profile', action: 'start' });
      c0 = await cpu();
      await run(count, true);
      const used = await cpu() - c0;
      if (profFile) { await m.call({ cmd: 'profile', action: 'stop', file: profFile }); profiles.push(profFile); }
      const s = [...samples].sort((a, b) => a - b);
      const r: Row = {
        mode, who, clients: n, n: s.length, p50: percentile(s, 50), p99: percentile(s, 99),
        cpu: (used - toggles * (n === 1 ? toggle1.cpu : toggleN.cpu)) / Math.max(1, s.length), bytes: bytes / Math.max(1, s.length), errors,
      };
      rows.push(r);
      say(`  ${mode} ${who} ${n} client${n > 1 ? 's' : ''}: p50 ${ms(r.p50)} ms, p99 ${ms(r.p99)} ms, ${ms(r.cpu)} CPU-ms/req, ${kb(r.bytes)}${errors ? `, ${errors} errors` : ''}`);
    };
    for (const mode of ['kept', 'changing'] as const) {
      for (const n of [1, clients]) {
        for (const who of ['admin', 'user'] as const) await measureRow(mode, who, n, n === 1 ? seqCount : concCount);
      }
    }
    const rssAfter = (await m.call({ cmd: 'cpu' })).rss as number;
    await cleanup();

    // ---- report -------------------------------------------------------------------
    const size = `${num(engines)} simulated engines × ${perEngine} containers = ${num(total)} (${num(redIds.length)} red)`;
    const out: string[] = [
      '',
      `ps -a (GET /containers/json?all=1) under --tlsverify --access-policy: ${size}.`,
      `admin = CN root (admins: [root]): every container; user = CN alice (default none, team red with view on red): the red tenth.`,
      `kept: nothing changes between requests; changing: before each request a red container is stopped or started through the manager (as root), ` +
      `so each listing follows a change (a toggle alone: ${ms(toggle1.wall)} ms and ${ms(toggle1.cpu)} manager CPU-ms at 1 worker, ${ms(toggleN.cpu)} at ${clients}; taken out of CPU-ms/req).`,
      `Latency in ms; manager CPU-ms per request from its process.cpuUsage() over the measured requests. Manager RSS at the end ${kb(rssAfter)}.`,
      '',
      table(['path', 'clients', 'caller', 'items', 'body', 'n', 'p50', 'p99', 'manager CPU-ms/req'], rows.map((r) => [
        r.mode, String(r.clients), r.who, num(r.who === 'admin' ? adminItems.length : userItems.length), kb(r.bytes), String(r.n) + (r.errors ? ` (${r.errors} errors)` : ''),
        ms(r.p50), ms(r.p99), ms(r.cpu),
      ])),
      '',
      'user / admin (target: ≤ 1, the user\'s listing costs no more than the admin\'s):',
      '',
      table(['path', 'clients', 'p50', 'p99', 'CPU-ms/req', 'met'], (['kept', 'changing'] as const).flatMap((mode) => [1, clients].map((n) => {
        const a = rows.find((r) => r.mode === mode && r.clients === n && r.who === 'admin')!;
        const u = rows.find((r) => r.mode === mode && r.clients === n && r.who === 'user')!;
        const x = (f: (r: Row) => number): number => f(u) / f(a);
        return [mode, String(n), `${x((r) => r.p50).toFixed(2)}×`, `${x((r) => r.p99).toFixed(2)}×`, `${x((r) => r.cpu).toFixed(2)}×`,
          x((r) => r.p50) <= 1 && x((r) => r.cpu) <= 1 ? 'yes' : 'no'];
      }))),
    ];
    if (profiles.length) {
      await sleep(200);
      for (const f of profiles) if (fs.existsSync(f)) out.push('', `manager CPU profile ${f}:`, summarizeProfile(f, 20));
    }
    out.push('', `total ${num((Date.now() - t00) / 1000)} s; load average ${uptimeLoad()}`);
    process.stdout.write(out.join('\n') + '\n');
  } finally {
    await cleanup();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

if (require.main === module) {
  const role = process.argv[2];
  const run = role === '--sim-child' ? simChild() : role === '--manager-child' ? managerChild() : main().then(() => process.exit(0));
  run.catch((err) => { process.stderr.write(`${(err as Error).stack}\n`); process.exit(1); });
}
