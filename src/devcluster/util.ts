// Small helpers shared by the dev-cluster code: Engine API calls over
// node:http (tcp, a unix socket, or mutual TLS), process lookups in /proc, and
// shelling out to `ip`/`umount`.
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import * as path from 'node:path';
import { execFile } from 'node:child_process';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface ApiResponse {
  status: number;
  body: string;
}

/** A client pair and the CA to check the server against (PEM contents). */
export interface ClientTls {
  ca: string | Buffer;
  cert: string | Buffer;
  key: string | Buffer;
}

export interface ApiOptions {
  body?: Buffer | string;
  headers?: Record<string, string>;
  timeoutMs?: number;
  /** HTTPS with this client pair; the server's certificate must be valid for the host dialled. */
  tls?: ClientTls;
}

/** One request to an Engine API (or the manager) at "host:port", or at a unix socket ("/path/docker.sock"). */
export function api(addr: string, method: string, urlPath: string, opts: ApiOptions = {}): Promise<ApiResponse> {
  const i = addr.lastIndexOf(':');
  // A unix socket path: the engines' own sockets need no TLS whatever the tcp port speaks.
  const where: http.RequestOptions = addr.startsWith('/')
    ? { socketPath: addr }
    : { host: addr.slice(0, i), port: Number(addr.slice(i + 1)) };
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const headers: Record<string, string | number> = { ...opts.headers };
  if (opts.body !== undefined) headers['Content-Length'] = Buffer.byteLength(opts.body);
  const t = opts.tls;
  return new Promise((resolve, reject) => {
    // agent:false: no keep-alive sockets, so a CLI that just ran `up` can exit at once.
    const reqOpts: https.RequestOptions = { ...where, method, path: urlPath, agent: false, headers };
    const onRes = (res: http.IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    };
    const req = t
      ? https.request({ ...reqOpts, ca: t.ca, cert: t.cert, key: t.key, rejectUnauthorized: true }, onRes)
      : http.request(reqOpts, onRes);
    const timer = setTimeout(
      () => req.destroy(new Error(`${method} ${urlPath} on ${addr}: no answer after ${timeoutMs}ms`)),
      timeoutMs,
    );
    req.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    req.end(opts.body);
  });
}

/** Like api(), but throws unless the status is 2xx; returns parsed JSON (or undefined for empty bodies). */
export async function apiJson<T = unknown>(addr: string, method: string, urlPath: string, opts: ApiOptions = {}): Promise<T> {
  const res = await api(addr, method, urlPath, opts);
  if (res.status < 200 || res.status >= 300) {
    throw new Error(`${method} ${urlPath} on ${addr}: HTTP ${res.status}: ${res.body.trim().slice(0, 500)}`);
  }
  return (res.body.trim() === '' ? undefined : JSON.parse(res.body)) as T;
}

/** True if GET /_ping answers "OK" within timeoutMs. */
export async function pingOk(addr: string, timeoutMs = 1000, tls?: ClientTls): Promise<boolean> {
  try {
    const res = await api(addr, 'GET', '/_ping', { timeoutMs, tls });
    return res.status === 200 && res.body.trim() === 'OK';
  } catch {
    return false;
  }
}

/** True if something accepts TCP connections on 127.0.0.1:port. */
export function portAnswers(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    s.setTimeout(1000);
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('timeout', () => (s.destroy(), resolve(false)));
    s.once('error', () => resolve(false));
  });
}

export function run(cmd: string, args: string[], timeoutMs = 30_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as NodeJS.ErrnoException).code === 'number' ? Number((err as NodeJS.ErrnoException).code) : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr || (err && !stderr ? err.message : '')) });
    });
  });
}

export async function runOk(cmd: string, args: string[], timeoutMs = 30_000): Promise<string> {
  const r = await run(cmd, args, timeoutMs);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
  return r.stdout;
}

/** Last `lines` useful lines of a log file (dockerd's grpc chatter filtered out). */
export function logTail(file: string, lines = 25): string {
  let text: string;
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      const len = Math.min(size, 256 * 1024);
      const buf = Buffer.alloc(len);
      fs.readSync(fd, buf, 0, len, size - len);
      text = buf.toString('utf8');
    } finally {
      fs.closeSync(fd);
    }
  } catch (e) {
    return `(no log: ${(e as Error).message})`;
  }
  const useful = text.split('\n').filter((l) => l.trim() !== '' && !l.includes('module=grpc'));
  return useful.slice(-lines).join('\n');
}

// ---- processes -------------------------------------------------------------

/** argv of a live (non-zombie) process, or undefined. */
export function procCmdline(pid: number): string[] | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // state is the field after "(comm)"; comm may contain spaces or parens.
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    if (state === 'Z' || state === 'X') return undefined;
    const raw = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return raw.split('\0').filter((s, i, a) => !(s === '' && i === a.length - 1));
  } catch {
    return undefined;
  }
}

export function isAlive(pid: number): boolean {
  return procCmdline(pid) !== undefined;
}

/** PIDs of live processes whose argv satisfies pred. */
export function findPids(pred: (argv: string[], pid: number) => boolean): number[] {
  const out: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (pid === process.pid) continue;
    const argv = procCmdline(pid);
    if (argv && argv.length > 0 && pred(argv, pid)) out.push(pid);
  }
  return out;
}

/** PIDs of processes whose cgroup path mentions one of the given container IDs. */
export function findPidsInContainers(ids: string[]): number[] {
  if (ids.length === 0) return [];
  const out: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let cg: string;
    try {
      cg = fs.readFileSync(`/proc/${name}/cgroup`, 'utf8');
    } catch {
      continue;
    }
    if (ids.some((id) => cg.includes(`/docker/${id}`) || cg.includes(`docker-${id}.scope`))) out.push(Number(name));
  }
  return out;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    /* already gone */
  }
}

/** SIGTERM (or `first`), wait up to timeoutMs, then SIGKILL and wait a bit more. */
export async function killAndWait(pids: number[], timeoutMs = 15_000, first: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  let live = pids.filter(isAlive);
  if (live.length === 0) return;
  for (const p of live) {
    signal(p, first);
    // A SIGSTOPped process (pauseEngine) would never act on SIGTERM.
    if (first !== 'SIGKILL') signal(p, 'SIGCONT');
  }
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    live = live.filter(isAlive);
    if (live.length === 0) return;
    await sleep(100);
  }
  for (const p of live) signal(p, 'SIGKILL');
  const hardDeadline = Date.now() + 5000;
  while (Date.now() < hardDeadline) {
    live = live.filter(isAlive);
    if (live.length === 0) return;
    await sleep(100);
  }
  throw new Error(`processes still alive after SIGKILL: ${live.join(', ')}`);
}

// ---- mounts, links, dirs ---------------------------------------------------

/** Unmount everything mounted at or below dir (deepest first), lazily. */
export async function unmountBelow(dir: string): Promise<void> {
  let text: string;
  try {
    text = fs.readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return;
  }
  const prefix = dir.endsWith('/') ? dir : dir + '/';
  const points = text
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((p): p is string => !!p)
    .map((p) => p.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))))
    .filter((p) => p === dir || p.startsWith(prefix))
    .sort((a, b) => b.length - a.length);
  for (const p of [...new Set(points)]) await run('umount', ['-l', p]);
}

export async function linkExists(name: string): Promise<boolean> {
  return (await run('ip', ['link', 'show', 'dev', name])).code === 0;
}

export async function deleteLink(name: string): Promise<void> {
  if (await linkExists(name)) await runOk('ip', ['link', 'del', 'dev', name]);
}

/** Names of bridges holding an IPv4 address that starts with prefix (e.g. "172.30.20."). */
export async function bridgesWithAddrPrefix(prefix: string): Promise<string[]> {
  const out = await run('ip', ['-j', '-4', 'addr', 'show']);
  if (out.code !== 0) return [];
  const ifaces = JSON.parse(out.stdout || '[]') as { ifname: string; addr_info?: { local?: string }[] }[];
  return ifaces
    .filter((i) => i.ifname.startsWith('br-') && (i.addr_info ?? []).some((a) => a.local?.startsWith(prefix)))
    .map((i) => i.ifname);
}

/**
 * Guard before removing a state dir recursively: it must be absolute, not a
 * top-level or system dir, and carry our marker file (or not exist).
 */
export const MARKER = '.swarm-devcluster';

export function assertSafeStateDir(dir: string): void {
  const abs = path.resolve(dir);
  const depth = abs.split('/').filter(Boolean).length;
  const forbidden = ['/', '/tmp', '/var', '/var/tmp', '/root', '/home', '/usr', '/etc', '/var/lib', '/run'];
  if (!path.isAbsolute(dir) || depth < 2 || forbidden.includes(abs)) {
    throw new Error(`refusing to use ${dir} as a dev-cluster state dir (give a dedicated absolute path)`);
  }
}

export function removeStateDir(dir: string): void {
  assertSafeStateDir(dir);
  if (!fs.existsSync(dir)) return;
  const entries = fs.readdirSync(dir);
  if (entries.length > 0 && !entries.includes(MARKER)) {
    throw new Error(`refusing to remove ${dir}: it has no ${MARKER} marker, so this tool did not create it`);
  }
  fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
}
