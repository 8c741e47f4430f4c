// Shared bench plumbing: a latency/throughput meter over an undici Pool, the
// simulator host and manager child processes, and table printing.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { Pool } from 'undici';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---- measuring ----------------------------------------------------------------

export interface Stats {
  n: number;
  p50: number;
  p99: number;
  max: number;
  mean: number;
  /** Requests per second over the whole run (all workers). */
  rps: number;
  /** Mean response size in bytes. */
  bytes: number;
}

export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export function summarize(samples: number[], wallMs: number, bytes = 0): Stats {
  const s = [...samples].sort((a, b) => a - b);
  const mean = s.reduce((a, b) => a + b, 0) / (s.length || 1);
  return { n: s.length, p50: percentile(s, 50), p99: percentile(s, 99), max: s[s.length - 1] ?? NaN, mean, rps: (s.length * 1000) / wallMs, bytes: bytes / (s.length || 1) };
}

export interface MeasureOptions {
  /** Measured requests (after warm-up). */
  count: number;
  /** Requests in flight at once (one connection each). */
  concurrency: number;
  warmup?: number;
  /** Path of request i (e.g. cycling over container IDs). */
  path: (i: number) => string;
  /** Give up after this long (bounded loops); default 120s. */
  maxMs?: number;
}

/** Time `count` GETs (latency per request, throughput overall); every answer must be 200. */
export async function measure(pool: Pool, o: MeasureOptions): Promise<Stats> {
  const run = async (count: number, record: boolean): Promise<{ samples: number[]; wall: number; bytes: number }> => {
    const samples: number[] = [];
    let next = 0;
    let bytes = 0;
    const deadline = Date.now() + (o.maxMs ?? 120_000);
    const worker = async (): Promise<void> => {
      while (next < count && Date.now() < deadline) {
        const i = next++;
        const p = o.path(i);
        const t0 = process.hrtime.bigint();
        const res = await pool.request({ method: 'GET', path: p });
        const body = await res.body.arrayBuffer();
        const ms = Number(process.hrtime.bigint() - t0) / 1e6;
        if (res.statusCode !== 200) throw new Error(`GET ${p}: HTTP ${res.statusCode}: ${Buffer.from(body).toString('utf8').slice(0, 200)}`);
        if (record) { samples.push(ms); bytes += body.byteLength; }
      }
    };
    const t0 = performance.now();
    await Promise.all(Array.from({ length: o.concurrency }, worker));
    return { samples, wall: performance.now() - t0, bytes };
  };
  if (o.warmup) await run(o.warmup, false);
  const r = await run(o.count, true);
  return summarize(r.samples, r.wall, r.bytes);
}

/** Result of measureOps: latency stats plus the failures, which do not stop the run. */
export interface OpStats extends Stats { errors: number; firstError?: string }

/**
 * Time `count` operations of any shape (e.g. a create+start pair), `concurrency`
 * at once. An operation that throws is counted as an error, not timed, and the
 * run goes on.
 */
export async function measureOps(o: { count: number; concurrency: number; warmup?: number; op: (i: number) => Promise<void>; maxMs?: number; onMeasureStart?: () => Promise<unknown> }): Promise<OpStats> {
  let errors = 0;
  let firstError: string | undefined;
  const run = async (from: number, count: number, record: boolean): Promise<{ samples: number[]; wall: number }> => {
    const samples: number[] = [];
    let next = 0;
    const deadline = Date.now() + (o.maxMs ?? 120_000);
    const worker = async (): Promise<void> => {
      while (next < count && Date.now() < deadline) {
        const i = from + next++;
        const t0 = process.hrtime.bigint();
        try {
          await o.op(i);
          if (record) samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
        } catch (err) {
          if (record) { errors++; firstError ??= (err as Error).message.slice(0, 200); }
        }
      }
    };
    const t0 = performance.now();
    await Promise.all(Array.from({ length: o.concurrency }, worker));
    return { samples, wall: performance.now() - t0 };
  };
  if (o.warmup) await run(0, o.warmup, false);
  await o.onMeasureStart?.();
  const r = await run(o.warmup ?? 0, o.count, true);
  return { ...summarize(r.samples, r.wall), errors, firstError };
}

/** One request; throws unless the status is in `ok`. */
export async function req(p: Pool, method: string, urlPath: string, body?: unknown, ok: number[] = [200, 201, 204]): Promise<string> {
  const res = await p.request({
    method: method as 'GET', path: urlPath,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.body.text();
  if (!ok.includes(res.statusCode)) throw new Error(`${method} ${urlPath}: HTTP ${res.statusCode}: ${text.slice(0, 200)}`);
  return text;
}

/** Median of the finite values (NaN if none). */
export function median(xs: number[]): number {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export const DOCKER_CLI = '/usr/local/bin/docker'; // CLI 28

/** Wall time (ms) of one CLI command against `addr` (DOCKER_HOST=tcp://addr); throws on a non-zero exit. */
export function timeCli(addr: string, args: string[], cli = DOCKER_CLI): Promise<{ ms: number; out: string }> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_HOST: `tcp://${addr}`, DOCKER_CONFIG: '/tmp/swarm-bench-docker-config' };
    delete env.DOCKER_TLS_VERIFY;
    delete env.DOCKER_CERT_PATH;
    const c = spawn(cli, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    c.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    c.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    c.on('error', reject);
    c.on('exit', (code) => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (code === 0) resolve({ ms, out: out.trim() }); else reject(new Error(`docker ${args.join(' ')}: exit ${code}: ${out.trim().slice(0, 200)}`));
    });
  });
}

/** CPU time (user + system, ms) a process has used, from /proc/PID/stat. */
export function procCpuMs(pid: number): number {
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
    // fields 14 and 15 (utime, stime) are rest[11], rest[12], in clock ticks (100 Hz on Linux).
    return (Number(rest[11]) + Number(rest[12])) * 10;
  } catch { return NaN; }
}

export const pool = (addr: string, connections = 4): Pool =>
  new Pool(`http://${addr}`, { connections, pipelining: 1, keepAliveTimeout: 30_000, bodyTimeout: 120_000, headersTimeout: 120_000 });

export async function getJson(p: Pool, urlPath: string): Promise<any> {
  const res = await p.request({ method: 'GET', path: urlPath });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`GET ${urlPath}: HTTP ${res.statusCode}: ${text.slice(0, 200)}`);
  return JSON.parse(text);
}

/** Healthy engines and cached containers as the manager's /info reports them. */
export async function clusterState(p: Pool): Promise<{ healthy: number; nodes: number; containers: number; running: number }> {
  const info = await getJson(p, '/info');
  const rows: Array<[string, string]> = info.SystemStatus ?? [];
  let healthy = 0;
  for (const [k, v] of rows) if (k === '  └ Status' && v === 'Healthy') healthy++;
  const nodes = Number(rows.find(([k]) => k === 'Nodes')?.[1] ?? 0);
  return { healthy, nodes, containers: info.Containers, running: info.ContainersRunning };
}

// ---- formatting ---------------------------------------------------------------

export const ms = (v: number): string => (isNaN(v) ? '-' : v < 1 ? v.toFixed(3) : v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0));
export const num = (v: number): string => (isNaN(v) ? '-' : Math.round(v).toLocaleString('en-US'));
export const kb = (v: number): string => (v < 1024 ? `${Math.round(v)} B` : v < 1024 ** 2 ? `${(v / 1024).toFixed(1)} KB` : `${(v / 1024 ** 2).toFixed(1)} MB`);

/** A Markdown table (also readable in a terminal). */
export function table(head: string[], rows: string[][]): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => '| ' + cells.map((c, i) => c.padEnd(w[i])).join(' | ') + ' |';
  return [line(head), '| ' + w.map((x) => '-'.repeat(x)).join(' | ') + ' |', ...rows.map(line)].join('\n');
}

// ---- processes ----------------------------------------------------------------

/**
 * Open-files limit (soft, hard). Node does not raise it itself; `ulimit -n`
 * before the run can, up to the hard limit (beyond it only with
 * CAP_SYS_RESOURCE, which a sandbox may lack).
 */
export function fdLimit(): { soft: number; hard: number } {
  const m = /Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/.exec(fs.readFileSync('/proc/self/limits', 'utf8'));
  const v = (x: string | undefined): number => (x === 'unlimited' ? Infinity : Number(x ?? 0));
  return { soft: v(m?.[1]), hard: v(m?.[2]) };
}

export interface SimEngine { name: string; addr: string; id: string; ids: string[] }

export interface SimHost {
  /** The first child's pid; `pids` has every child's. */
  pid: number;
  pids: number[];
  engines: SimEngine[];
  /** Each of the first `count` sims starts one stopped container (a `start` event each). */
  burst(count: number, afterMs?: number): Promise<{ started: string[]; before: Record<string, number> }>;
  /** Running containers over all sims (the truth the manager's cache should show). */
  running(): Promise<number>;
  /** Request counts per kind, summed over the sims. */
  counts(): Promise<Record<string, number>>;
  stop(): Promise<void>;
}

type Reply = { id: number; [k: string]: any };

/** Requests to a forked child over IPC, answers matched by id (the child replies `{ id, ...}` or `{ id, error }`). */
export function rpc(child: ChildProcess): (msg: Record<string, unknown>, timeoutMs?: number) => Promise<any> {
  let seq = 0;
  const waiting = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();
  child.on('message', (m: Reply) => {
    const w = waiting.get(m.id);
    if (!w) return;
    waiting.delete(m.id);
    if (m.error) w.reject(new Error(m.error)); else w.resolve(m);
  });
  child.on('exit', (code, sig) => {
    for (const w of waiting.values()) w.reject(new Error(`child ${child.pid} exited (${sig ?? code})`));
    waiting.clear();
  });
  return (msg, timeoutMs = 300_000) => new Promise((resolve, reject) => {
    const id = ++seq;
    const t = setTimeout(() => { waiting.delete(id); reject(new Error(`child ${child.pid}: no answer to ${String(msg.cmd)} in ${timeoutMs}ms`)); }, timeoutMs);
    waiting.set(id, { resolve: (v) => { clearTimeout(t); resolve(v); }, reject: (e) => { clearTimeout(t); reject(e); } });
    child.send({ ...msg, id });
  });
}

function waitExit(child: ChildProcess, ms: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); resolve(); }, ms);
    child.once('exit', () => { clearTimeout(t); resolve(); });
  });
}

/**
 * `count` simulators (ports basePort..), in child processes of their own so
 * they don't share our event loop: at most `perProcess` (default 1,000) per
 * child, so each child's listening sockets plus the manager's connections to
 * them stay under the open-files limit (5,000 engines = 5 children).
 */
export async function startSimHost(o: { count: number; basePort: number; containers: number; prefix?: string; perProcess?: number }): Promise<SimHost> {
  const per = Math.max(1, o.perProcess ?? 1000);
  const parts: Array<{ child: ChildProcess; call: ReturnType<typeof rpc>; from: number; count: number }> = [];
  try {
    for (let from = 0; from < o.count; from += per) {
      const child = fork(path.join(__dirname, 'simhost.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: ['--max-old-space-size=4096'] });
      parts.push({ child, call: rpc(child), from, count: Math.min(per, o.count - from) });
    }
    const started = await Promise.all(parts.map((p) => p.call({ cmd: 'start', count: p.count, basePort: o.basePort + p.from, first: p.from, containers: o.containers, prefix: o.prefix })));
    const sum = (rs: Array<Record<string, number>>): Record<string, number> => {
      const out: Record<string, number> = {};
      for (const r of rs) for (const [k, v] of Object.entries(r)) out[k] = (out[k] ?? 0) + v;
      return out;
    };
    return {
      pid: parts[0].child.pid!,
      pids: parts.map((p) => p.child.pid!),
      engines: started.flatMap((r) => r.engines),
      async burst(count, afterMs = 0) {
        const rs = await Promise.all(parts.map((p) => p.call({ cmd: 'burst', count: Math.max(0, Math.min(p.count, count - p.from)), after: afterMs })));
        return { ...rs[0], started: rs.flatMap((r) => r.started), before: sum(rs.map((r) => r.before)) };
      },
      counts: async () => sum((await Promise.all(parts.map((p) => p.call({ cmd: 'counts' })))).map((r) => r.counts)),
      running: async () => (await Promise.all(parts.map((p) => p.call({ cmd: 'running' })))).reduce((a, r) => a + r.running, 0),
      async stop() {
        await Promise.all(parts.map(async (p) => {
          await p.call({ cmd: 'stop' }, 30_000).catch(() => undefined);
          await waitExit(p.child, 5000);
        }));
      },
    };
  } catch (err) {
    for (const p of parts) p.child.kill('SIGKILL');
    throw err;
  }
}

export interface ManagerStats {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  /** CPU time (ms) used since the last reset. */
  cpuMs: number;
  /** Event-loop delay since the last reset (ms). */
  eld: { p50: number; p99: number; max: number; mean: number };
}

export interface GcStats { minor: number; minorMs: number; major: number; majorMs: number; maxMs: number; heapUsed: number; external?: number }

/** "2 major (61 ms), 40 minor (52 ms), longest 31 ms; heap 91 → 140 MB; external 12 → 40 MB" (external: Buffers' memory, outside the heap) */
export function gcNote(g: GcStats, before?: GcStats): string {
  const f = (x: number): string => x.toFixed(0);
  const ext = g.external !== undefined ? `; external ${before?.external !== undefined ? `${kb(before.external)} → ` : ''}${kb(g.external)}` : '';
  return `GC ${g.major} major (${f(g.majorMs)} ms), ${g.minor} minor (${f(g.minorMs)} ms), longest ${f(g.maxMs)} ms; heap ${before !== undefined ? `${kb(before.heapUsed)} → ` : ''}${kb(g.heapUsed)}${ext}`;
}

export interface ManagerChild {
  pid: number;
  addr: string;
  logFile: string;
  /** Probe figures; reset=true starts a new window; gc=true collects first (needs --expose-gc in nodeArgs). */
  stats(reset?: boolean, gc?: boolean | 'minor'): Promise<ManagerStats>;
  /** Collections since the last reset (main-thread pauses) and the heap used now. */
  gcs(reset?: boolean): Promise<GcStats>;
  /** A CPU profile of a window: start, then stop writing it to `file` (a .cpuprofile). */
  profile(action: 'start' | 'stop', file?: string, kind?: 'cpu' | 'heap' | 'live' | 'aged'): Promise<void>;
  /** Turn the event-loop delay monitor off (an idle window) or on again. */
  eld(on: boolean): Promise<void>;
  /** VmRSS of the process, bytes (from /proc). */
  vmRss(): number;
  /** VmHWM (peak RSS since start), bytes. */
  vmHwm(): number;
  /** Still running. */
  alive(): boolean;
  /** Open file descriptors (sockets mostly). */
  fds(): number;
  stop(): Promise<void>;
}

/** `swarm manage` as a child with bench/probe.js preloaded (event-loop delay, memory and CPU over IPC). */
/** wait=false: return right after the spawn (the caller polls, e.g. to time the first answer). */
export async function startManagerChild(o: { port: number; discovery: string; args?: string[]; logFile: string; cpuProfDir?: string; nodeArgs?: string[]; readyTimeoutMs?: number; wait?: boolean }): Promise<ManagerChild> {
  const mainJs = path.resolve(__dirname, '..', 'src', 'cli', 'main.js');
  const addr = `127.0.0.1:${o.port}`;
  fs.mkdirSync(path.dirname(o.logFile), { recursive: true });
  const out = fs.openSync(o.logFile, 'w');
  const nodeArgs = [...(o.nodeArgs ?? []), '-r', path.join(__dirname, 'probe.js')];
  if (o.cpuProfDir) nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${o.cpuProfDir}`);
  const child = spawn(process.execPath, [...nodeArgs, mainJs, 'manage', o.discovery, '-H', `tcp://${addr}`, ...(o.args ?? [])], {
    stdio: ['ignore', out, out, 'ipc'],
    // SCALE_MANAGER_ENV="K=V ...": the manager's alone (malloc tunables tried on it, not on the simulators).
    env: { ...process.env, ...Object.fromEntries((process.env.SCALE_MANAGER_ENV ?? '').split(' ').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)])) },
  });
  fs.closeSync(out);
  const call = rpc(child);
  const p = pool(addr, 1);
  const readyMs = o.readyTimeoutMs ?? 60_000;
  const deadline = Date.now() + readyMs;
  for (;;) {
    if (o.wait === false) break;
    if (child.exitCode !== null) throw new Error(`manager exited (${child.exitCode}); see ${o.logFile}`);
    const ok = await p.request({ method: 'GET', path: '/_ping' }).then(async (r) => { await r.body.dump(); return r.statusCode === 200; }, () => false);
    if (ok) break;
    if (Date.now() > deadline) { child.kill('SIGKILL'); throw new Error(`manager did not answer /_ping in ${readyMs} ms; see ${o.logFile}`); }
    await sleep(100);
  }
  await p.close();
  return {
    pid: child.pid!, addr, logFile: o.logFile,
    stats: async (reset = false, gc = false) => (await call({ cmd: 'stats', reset, gc })).stats,
    gcs: async (reset = false) => (await call({ cmd: 'gcs', reset })).gcs,
    profile: async (action: 'start' | 'stop', file?: string, kind: 'cpu' | 'heap' | 'live' | 'aged' = 'cpu') => { await call({ cmd: 'profile', action, file, kind }); },
    eld: async (on: boolean) => { await call({ cmd: 'eld', on }); },
    vmRss: () => {
      try {
        const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        return m ? Number(m[1]) * 1024 : NaN;
      } catch { return NaN; }
    },
    vmHwm: () => {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        return m ? Number(m[1]) * 1024 : NaN;
      } catch { return NaN; }
    },
    alive: () => child.exitCode === null && child.signalCode === null,
    fds: () => { try { return fs.readdirSync(`/proc/${child.pid}/fd`).length; } catch { return NaN; } },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM'); // graceful: the CPU profile is written on exit
      await waitExit(child, 15_000);
    },
  };
}

/** A one-member ustar archive, as `docker cp` sends it. */
export function tarOf(name: string, data: Buffer): Buffer {
  const h = Buffer.alloc(512);
  const put = (s: string, off: number, len: number) => h.write(s.padEnd(len, '\0').slice(0, len), off, 'latin1');
  put(name, 0, 100);
  put('0000644\0', 100, 8);
  put('0000000\0', 108, 8);
  put('0000000\0', 116, 8);
  put(data.length.toString(8).padStart(11, '0') + '\0', 124, 12);
  put(Math.floor(Date.now() / 1000).toString(8).padStart(11, '0') + '\0', 136, 12);
  put('        ', 148, 8);
  put('0', 156, 1);
  put('ustar\u000000', 257, 8);
  let sum = 0;
  for (const b of h) sum += b;
  put(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8);
  const pad = Buffer.alloc((512 - (data.length % 512)) % 512);
  return Buffer.concat([h, data, pad, Buffer.alloc(1024)]);
}

/** The 1/5/15-minute load averages (`uptime`), e.g. "0.52 0.61 0.70". */
export function uptimeLoad(): string {
  try { return fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '); } catch { return '?'; }
}
