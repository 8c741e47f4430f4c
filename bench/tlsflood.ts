// A flood of bad connections on a --tlsverify manager's TLS listener: does it
// refuse them fast, keep its memory, and keep serving good clients?
//
//   node dist/bench/tlsflood.js [--count 1000] [--concurrency 50] [--silent 5] [--rounds 1]
//
// The manager is a child process (`swarm manage --tlsverify`, bench/probe.js
// preloaded, port 26980; its log in /tmp/swarm-bench-tlsflood-manager.log) so
// its RSS is its own. The flood cycles through six kinds of bad client: random
// bytes, a plain HTTP request, a truncated ClientHello then EOF, a TLS 1.0
// ClientHello, a full handshake without a client certificate and one with a
// certificate from another CA. `--silent` more send a ClientHello and then
// nothing: the 10 s handshake timeout must cut them. A good client (mutual
// TLS) pings all along: on one keep-alive connection every 20 ms, and on a
// fresh connection (handshake included) every 100 ms, from this process while
// the flood comes from a child of its own. Before the flood, each
// kind is timed one at a time (the refusal itself, without queueing);
// `--rounds N` floods N times over, to tell a leak from a high-water mark.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import net from 'node:net';
import tls from 'node:tls';
import https from 'node:https';
import { randomBytes } from 'node:crypto';
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { Duplex } from 'node:stream';
import { createCA, issueCert, type KeyPair } from '../src/certs/index.js';
import { startSimulator, type Simulator } from './simulator.js';
import { kb, ms, num, percentile, sleep, table } from './lib.js';

const PORT = 26980;
const HOST = '127.0.0.1';
const LOG_FILE = path.join(os.tmpdir(), 'swarm-bench-tlsflood-manager.log');
const KINDS = ['random bytes', 'plain HTTP', 'truncated ClientHello', 'TLS 1.0 ClientHello', 'no client cert', 'cert from another CA'] as const;
type Kind = typeof KINDS[number];

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

/** A ClientHello by hand: `version` in the hello, no extensions (an old client). */
function clientHello(version: number): Buffer {
  const suites = Buffer.from([0x00, 0x2f, 0x00, 0x35, 0xc0, 0x13, 0xc0, 0x14, 0xc0, 0x2f, 0xc0, 0x30]);
  const body = Buffer.concat([Buffer.from([0x03, version]), randomBytes(32), Buffer.from([0x00, 0x00, suites.length]), suites, Buffer.from([0x01, 0x00])]);
  const hs = Buffer.concat([Buffer.from([0x01, 0x00, body.length >> 8, body.length & 0xff]), body]);
  return Buffer.concat([Buffer.from([0x16, 0x03, 0x01, hs.length >> 8, hs.length & 0xff]), hs]);
}

/** One bad connection: how long until closed, when it closed (ms after the flood began; flood only), what came back. */
interface Outcome { ms: number; end?: number; plainText: boolean; hung: boolean }

/** One bad connection: connect, misbehave, and time until the manager closes it. */
function badConnection(kind: Kind, pki: { ca: string; other: KeyPair }, timeoutMs = 15_000): Promise<Outcome> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    let got = Buffer.alloc(0);
    let hung = false;
    const done = (): void => resolve({ ms: performance.now() - t0, plainText: got.subarray(0, 5).toString('latin1') === 'HTTP/', hung });
    let s: net.Socket;
    if (kind === 'no client cert' || kind === 'cert from another CA') {
      const cert = kind === 'cert from another CA' ? { cert: pki.other.cert, key: pki.other.key } : {};
      const t = tls.connect({ host: HOST, port: PORT, ca: pki.ca, ...cert });
      t.once('secureConnect', () => t.write(`GET /_ping HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`));
      s = t;
    } else {
      s = net.connect(PORT, HOST, () => {
        if (kind === 'random bytes') s.write(randomBytes(512));
        else if (kind === 'plain HTTP') s.write(`GET /_ping HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`);
        else if (kind === 'TLS 1.0 ClientHello') s.write(clientHello(0x01));
        else s.end(clientHello(0x03).subarray(0, 40)); // truncated, then EOF
      });
    }
    s.on('data', (d: Buffer) => { got = Buffer.concat([got, d]); });
    s.on('error', () => undefined);
    s.setTimeout(timeoutMs, () => { hung = true; s.destroy(); });
    s.on('close', done);
  });
}

/** The ClientHello Node's TLS client sends (TLS 1.3, extensions and all), caught on a stream. */
function realClientHello(): Promise<Buffer> {
  return new Promise((resolve) => {
    const wire = new Duplex({ read() { /* nothing comes back */ }, write(chunk: Buffer, _enc, cb) { resolve(Buffer.from(chunk)); cb(); setImmediate(() => t.destroy()); } });
    const t = tls.connect({ socket: wire, servername: 'localhost' });
    t.on('error', () => undefined);
  });
}

/** A ClientHello and then silence: only the manager's handshake timeout ends it. */
function silentConnection(hello: Buffer): Promise<Outcome> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const s = net.connect(PORT, HOST, () => s.write(hello));
    let hung = false;
    s.on('data', () => undefined);
    s.on('error', () => undefined);
    s.setTimeout(30_000, () => { hung = true; s.destroy(); });
    s.on('close', () => resolve({ ms: performance.now() - t0, plainText: false, hung }));
  });
}

/** GET /_ping over mutual TLS on `agent` (keep-alive) or a fresh connection (agent false). */
function ping(client: KeyPair & { ca: string }, agent: https.Agent | false): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = https.request({ host: HOST, port: PORT, path: '/_ping', agent, ca: client.ca, cert: client.cert, key: client.key }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve(performance.now() - t0) : reject(new Error(`/_ping: HTTP ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error('/_ping: timeout')));
    req.end();
  });
}

/** A good client pinging at a steady pace until stopped: keep-alive every 20 ms, fresh every 100 ms. */
function goodClient(client: KeyPair & { ca: string }): { stop(): Promise<{ keep: number[]; fresh: number[]; errors: number }> } {
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
  const keep: number[] = [];
  const fresh: number[] = [];
  let errors = 0;
  let running = true;
  const loop = async (every: number, a: https.Agent | false, into: number[]): Promise<void> => {
    while (running) {
      const t = performance.now();
      try { into.push(await ping(client, a)); } catch { errors++; }
      await sleep(Math.max(0, every - (performance.now() - t)));
    }
  };
  const loops = Promise.all([loop(20, agent, keep), loop(100, false, fresh)]);
  return { async stop() { running = false; await loops; agent.destroy(); return { keep, fresh, errors }; } };
}

interface ManagerProc { child: ChildProcess; rss(): number; fds(): number; stats(reset?: boolean, gc?: boolean): Promise<any>; stop(): Promise<void> }

async function spawnManager(files: { ca: string; cert: string; key: string }, engine: string, client: KeyPair & { ca: string }): Promise<ManagerProc> {
  const mainJs = path.resolve(__dirname, '..', 'src', 'cli', 'main.js');
  const out = fs.openSync(LOG_FILE, 'w');
  const child = spawn(process.execPath, ['--expose-gc', '-r', path.join(__dirname, 'probe.js'), mainJs, 'manage', '--tlsverify',
    '--tlscacert', files.ca, '--tlscert', files.cert, '--tlskey', files.key, '-H', `tcp://${HOST}:${PORT}`, engine], { stdio: ['ignore', out, out, 'ipc'] });
  fs.closeSync(out);
  let seq = 0;
  const stats = (reset = false, gc = false): Promise<any> => new Promise((resolve) => {
    const id = ++seq;
    const on = (m: any): void => { if (m?.id === id) { child.off('message', on); resolve(m.stats); } };
    child.on('message', on);
    child.send({ cmd: 'stats', id, reset, gc });
  });
  const deadline = Date.now() + 30_000;
  while (!(await ping(client, false).then(() => true, () => false))) {
    if (child.exitCode !== null || Date.now() > deadline) { child.kill('SIGKILL'); throw new Error(`manager not up; see ${LOG_FILE}`); }
    await sleep(100);
  }
  return {
    child, stats,
    rss: () => Number(/VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? NaN) * 1024,
    fds: () => { try { return fs.readdirSync(`/proc/${child.pid}/fd`).length; } catch { return NaN; } },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(10_000).then(() => child.kill('SIGKILL'))]);
    },
  };
}

const pct = (xs: number[]): string => `${ms(percentile([...xs].sort((a, b) => a - b), 50))} / ${ms(percentile([...xs].sort((a, b) => a - b), 99))}`;

interface WorkerJob { count: number; concurrency: number; rounds: number; pki: { ca: string; other: KeyPair } }

/** The flood itself, in a process of its own: its TLS handshakes must not slow the good client's measurements. */
async function floodWorker(job: WorkerJob, onRound: () => void): Promise<Array<[Kind, Outcome[]]>> {
  const outcomes = new Map<Kind, Outcome[]>(KINDS.map((k) => [k, []]));
  const t0 = performance.now();
  for (let round = 0; round < job.rounds; round++) {
    let next = 0;
    await Promise.all(Array.from({ length: job.concurrency }, async () => {
      while (next < job.count) {
        const kind = KINDS[next++ % KINDS.length];
        const r = await badConnection(kind, job.pki);
        outcomes.get(kind)!.push({ ...r, end: performance.now() - t0 });
      }
    }));
    onRound();
  }
  return [...outcomes];
}

function floodFromChild(job: WorkerJob, onRound: () => void): Promise<Map<Kind, Outcome[]>> {
  const child = fork(__filename, ['--flood-worker'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.on('message', (msg: { round?: true; done?: Array<[Kind, Outcome[]]> }) => {
      if (msg.round) onRound();
      if (msg.done) resolve(new Map(msg.done));
    });
    child.once('exit', (code) => reject(new Error(`flood worker exited (${code})`)));
    child.send(job);
  });
}

export interface FloodOptions { count: number; concurrency: number; silent: number; rounds: number }

export async function runTlsFlood(o: FloodOptions): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swarm-bench-tlsflood-'));
  let sim: Simulator | undefined;
  let mgr: ManagerProc | undefined;
  try {
    const ca = createCA();
    const other = issueCert(createCA({ commonName: 'other CA' }), { commonName: 'mallory', client: true });
    const pair = issueCert(ca, { commonName: 'manager', ips: [HOST], server: true, client: true });
    const client = { ...issueCert(ca, { commonName: 'bench', client: true }), ca: ca.cert };
    const pki = { ca: ca.cert, other };
    const files = { ca: path.join(dir, 'ca.pem'), cert: path.join(dir, 'cert.pem'), key: path.join(dir, 'key.pem') };
    fs.writeFileSync(files.ca, ca.cert);
    fs.writeFileSync(files.cert, pair.cert);
    fs.writeFileSync(files.key, pair.key, { mode: 0o600 });
    // The engine does not matter here (the listener is under test); one TLS simulator.
    sim = await startSimulator({ port: 0, name: 'flood-engine', tls: { ...issueCert(ca, { commonName: 'engine', ips: [HOST], server: true }), ca: ca.cert, requestCert: true } });
    mgr = await spawnManager(files, sim.addr, client);
    const m = mgr;
    const heap = async (): Promise<{ heapUsed: number; external: number }> => m.stats(false, true);

    const phase = async (ms_: number): Promise<{ keep: number[]; fresh: number[]; errors: number }> => { const g = goodClient(client); await sleep(ms_); return g.stop(); };
    await phase(1000); // warm-up
    const unloaded = new Map<Kind, number[]>();
    for (const k of KINDS) {
      const xs: number[] = [];
      for (let i = 0; i < 20; i++) xs.push((await badConnection(k, pki)).ms);
      unloaded.set(k, xs);
    }
    const before = { rss: m.rss(), fds: m.fds(), heap: await heap(), good: await phase(3000) };

    await m.stats(true);
    let peak = m.rss();
    const sampler = setInterval(() => { peak = Math.max(peak, m.rss()); }, 20);
    const hello = await realClientHello();
    const silent = Array.from({ length: o.silent }, () => silentConnection(hello));
    const good = goodClient(client);
    const afterRound: string[] = [];
    const t0 = performance.now();
    const outcomes = await floodFromChild({ count: o.count, concurrency: o.concurrency, rounds: o.rounds, pki }, () => afterRound.push(kb(m.rss())));
    const floodMs = performance.now() - t0;
    // The rate over the connections refused at once: one cut by the handshake timeout would stretch the wall time by 10 s.
    const quick = [...outcomes.values()].flat().filter((x) => x.ms < 9_900);
    const quickMs = Math.max(...quick.map((x) => x.end ?? 0));
    const during = await good.stop();
    const floodStats = await m.stats(true);
    const afterFlood = { rss: m.rss(), fds: m.fds() };
    const silentOut = await Promise.all(silent);
    clearInterval(sampler);
    const after = { good: await phase(3000), rss: m.rss(), fds: m.fds(), heap: await heap() };

    // Every refusal must be in the log: a line of its own, or counted in a summary line.
    const countLines = (): { lines: number; summed: number; summaries: number } => {
      const text = fs.readFileSync(LOG_FILE, 'utf8').split('\n');
      const counts = text.filter((l) => l.includes('more TLS connections refused')).map((l) => Number(/count=(\d+)/.exec(l)?.[1] ?? 0));
      return { lines: text.filter((l) => l.includes('TLS connection refused')).length, summed: counts.reduce((a, b) => a + b, 0), summaries: counts.length };
    };
    const refusals = 20 * KINDS.length + o.count * o.rounds + o.silent;
    const logNow = countLines();
    // A summary is written by the first refusal after its 10 s window: wait the window out, then one more.
    await sleep(10_500);
    await badConnection('plain HTTP', pki);
    await sleep(300);
    const logLater = countLines();

    const all = [...outcomes.values()].flat();
    const sorted = (xs: number[]): number[] => [...xs].sort((a, b) => a - b);
    const rows = KINDS.map((k) => {
      const xs = outcomes.get(k)!.map((x) => x.ms);
      return [k, pct(unloaded.get(k)!), num(xs.length), pct(xs), ms(sorted(xs)[xs.length - 1])];
    });
    rows.push(['all', pct([...unloaded.values()].flat()), num(all.length), pct(all.map((x) => x.ms)), ms(sorted(all.map((x) => x.ms))[all.length - 1])]);
    const goodRow = (name: string, g: { keep: number[]; fresh: number[]; errors: number }): string[] =>
      [name, num(g.keep.length), pct(g.keep), num(g.fresh.length), pct(g.fresh), num(g.errors)];
    const total = o.count * o.rounds;
    return [
      `TLS flood: ${num(total)} bad connections (${o.rounds} × ${num(o.count)}) at a concurrency of ${o.concurrency} on a --tlsverify manager (child process), ` +
        `in ${num(floodMs)} ms; the ${num(quick.length)} refused at once in ${num(quickMs)} ms (${num((quick.length * 1000) / quickMs)}/s). ` +
        `${os.cpus().length} CPUs shared by the manager, the flood and the good client; Node ${process.version}. Times in ms.`,
      '',
      'Time from connect to the manager closing the connection: one at a time (20 each) before the flood, then during the flood:',
      '',
      table(['bad client', 'alone p50 / p99', 'flood n', 'flood p50 / p99', 'flood max'], rows),
      '',
      `answered in plain text: ${all.filter((x) => x.plainText).length}; left hanging (15 s): ${all.filter((x) => x.hung).length}; ` +
        `closed by the 10 s handshake timeout: ${all.filter((x) => x.ms >= 9_900).length} (random bytes that began like a TLS record)`,
      `real ClientHello then silence (${o.silent}): closed after ${silentOut.map((x) => (x.ms / 1000).toFixed(1)).join(', ')} s${silentOut.some((x) => x.hung) ? ' (some never closed!)' : ''}`,
      '',
      'Good client (mutual TLS), GET /_ping: keep-alive every 20 ms, fresh connection every 100 ms:',
      '',
      table(['phase', 'keep-alive n', 'p50 / p99', 'fresh n', 'p50 / p99', 'errors'],
        [goodRow('before (3 s)', before.good), goodRow('during the flood', during), goodRow('after (3 s)', after.good)]),
      '',
      `manager VmRSS: before ${kb(before.rss)}, peak ${kb(peak)}, after each round ${afterRound.join(', ')}, after the silent ones and 3 s more ${kb(after.rss)}`,
      `manager after a full GC: heap ${kb(before.heap.heapUsed)} before, ${kb(after.heap.heapUsed)} after; external ${kb(before.heap.external)} before, ${kb(after.heap.external)} after`,
      `manager fds: before ${before.fds}, right after ${afterFlood.fds}, after ${after.fds}`,
      `manager during the flood: CPU ${num(floodStats.cpuMs)} ms, event-loop delay p99 ${ms(floodStats.eld.p99)} ms (max ${ms(floodStats.eld.max)})`,
      `log: ${num(refusals)} refusals; right after: ${logNow.lines} lines + ${num(logNow.summed)} in ${logNow.summaries} summary lines = ${num(logNow.lines + logNow.summed)}; ` +
        `after one more refusal 10.5 s later: ${logLater.lines} + ${num(logLater.summed)} in ${logLater.summaries} = ${num(logLater.lines + logLater.summed)} (of ${num(refusals + 1)})`,
    ].join('\n');
  } finally {
    await mgr?.stop();
    await sim?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module && process.argv.includes('--flood-worker')) {
  process.once('message', (job: WorkerJob) => {
    void floodWorker(job, () => process.send!({ round: true }))
      .then((done) => process.send!({ done }, () => process.exit(0)));
  });
} else if (require.main === module) {
  runTlsFlood({ count: arg('--count', 1000), concurrency: arg('--concurrency', 50), silent: arg('--silent', 5), rounds: arg('--rounds', 1) })
    .then((s) => { process.stdout.write('\n' + s + '\n'); process.exit(0); })
    .catch((err) => { process.stderr.write(`${(err as Error).stack}\n`); process.exit(1); });
}
