// Start several real dockerd engines side by side on this machine, each in its
// own UTS namespace (own hostname), data/exec root, bridge, publish IP, port
// and engine ID, all sharing the host network namespace.
// Past 400 lines on purpose: setup and teardown of an engine set (bridge,
// namespace, dockerd, busybox import, state file) stay in one file so that
// every step taken has its undo next to it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { busyboxTar, importBusybox, DEFAULT_CACHE_DIR } from './busybox.js';
import { readState, writeState, type ClusterState, type EngineRecord } from './state.js';
import { CLIENT_CERT_NAME, MANAGER_CERT_NAME, certsDir, issueEngineCert, tlsFlags, writeCA, type CertDirs, type KeyPair, type Sans } from './tls.js';
import {
  api,
  apiJson,
  assertSafeStateDir,
  bridgesWithAddrPrefix,
  deleteLink,
  findPids,
  findPidsInContainers,
  killAndWait,
  linkExists,
  logTail,
  pingOk,
  portAnswers,
  procCmdline,
  removeStateDir,
  runOk,
  sleep,
  unmountBelow,
} from './util.js';

export const DOCKERD = '/usr/sbin/dockerd';

export interface StartEnginesOptions {
  count: number;
  /** Engine i uses slot slotBase+i: bridge br-sc<slot>, 172.31.(100+slot).1/24, publish IP 127.0.0.(slot+2). */
  slotBase: number;
  /** Engine i listens on 127.0.0.1:(basePort+i). */
  basePort: number;
  /** Dedicated dir for all engine state; removed by stop(). */
  stateDir: string;
  labels?: (i: number) => Record<string, string>;
  /** Hostname / engine name; default node-<i>. */
  names?: (i: number) => string;
  /** Where the busybox rootfs tar is cached. */
  cacheDir?: string;
  /** Per-engine wait for /_ping; default 60s. */
  startTimeoutMs?: number;
  /** Import busybox:latest into each engine (default true). */
  busybox?: boolean;
  /**
   * Serve the tcp port with mutual TLS (dockerd --tlsverify): the CA goes to
   * <stateDir>/certs, engine i's server pair to <stateDir>/certs/<name>, valid
   * for 127.0.0.1, its name and localhost unless sans(i) says otherwise (a
   * wrong-host certificate for tests). The unix socket stays plain.
   */
  tls?: { ca: KeyPair; sans?: (i: number) => Sans | undefined };
  /**
   * Also serve the API on the engine's bridge address (172.31.(100+slot).1,
   * same port): containers reach it there (127.0.0.1 is their own), as a
   * `swarm` container managing or joining the engines must.
   */
  bridgeApi?: boolean;
}

export interface Engine {
  index: number;
  name: string;
  /** "127.0.0.1:PORT" */
  addr: string;
  /** dockerd's unix socket: plain HTTP even when the tcp port is TLS; the tool's own calls use it. */
  sock: string;
  /** The engine's server pair when it serves TLS. */
  tls?: CertDirs;
  port: number;
  slot: number;
  /** Current dockerd PID (changes on restartEngine). */
  pid: number;
  dir: string;
  logFile: string;
  bridge: string;
  /** Publish address for -p (docker-proxy binds here). */
  publishIp: string;
  /** "172.31.(100+slot).1:PORT" when the API is also served on the bridge (bridgeApi). */
  bridgeAddr?: string;
  labels: Record<string, string>;
}

export interface EngineSet {
  engines: Engine[];
  stateDir: string;
  /** Remove all containers, stop every dockerd (and its containerd/shims), delete bridges and stateDir. */
  stop(): Promise<void>;
  /** Stop one dockerd; data dir and bridge stay. kill:true = SIGKILL (crash: containerd and containers live on). */
  stopEngine(i: number, opts?: { kill?: boolean }): Promise<void>;
  /** (Re)start engine i with the same data dir, port and labels; waits for /_ping. */
  restartEngine(i: number): Promise<void>;
  /** SIGSTOP / SIGCONT dockerd: the engine hangs (connections accepted, no answers) without losing state. */
  pauseEngine(i: number): void;
  resumeEngine(i: number): void;
}

export const bridgeName = (slot: number) => `br-sc${slot}`;
export const bridgeIp = (slot: number) => `172.31.${100 + slot}.1`;
export const bridgeCidr = (slot: number) => `${bridgeIp(slot)}/24`;
export const publishIp = (slot: number) => `127.0.0.${slot + 2}`;
/** Pool for user-defined networks, so engines never pick overlapping subnets in the shared netns. */
export const networkPool = (slot: number) => `172.30.${slot}.0/24`;

// Make sure ip, dockerd, docker-proxy, containerd are found even with a minimal PATH.
function sysEnv(): NodeJS.ProcessEnv {
  const p = (process.env.PATH ?? '').split(':').filter(Boolean);
  for (const d of ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin']) if (!p.includes(d)) p.push(d);
  return { ...process.env, PATH: p.join(':') };
}

function validate(opts: StartEnginesOptions): void {
  assertSafeStateDir(opts.stateDir);
  if (!Number.isInteger(opts.count) || opts.count < 1 || opts.count > 16) throw new Error(`count must be 1..16, got ${opts.count}`);
  const last = opts.slotBase + opts.count - 1;
  if (!Number.isInteger(opts.slotBase) || opts.slotBase < 0 || last > 152) throw new Error(`slots ${opts.slotBase}..${last} out of range 0..152`);
  if (!Number.isInteger(opts.basePort) || opts.basePort < 1024 || opts.basePort + opts.count - 1 > 65535) throw new Error(`bad basePort ${opts.basePort}`);
  if (!fs.existsSync(DOCKERD)) throw new Error(`${DOCKERD} not found: install docker.io (bash .ci/install)`);
}

async function ensureBridge(slot: number, recreate: boolean): Promise<void> {
  const br = bridgeName(slot);
  if (await linkExists(br)) {
    if (!recreate) return;
    await deleteLink(br); // leftover from a crashed run
  }
  await runOk('ip', ['link', 'add', br, 'type', 'bridge']);
  await runOk('ip', ['addr', 'add', bridgeCidr(slot), 'dev', br]);
  await runOk('ip', ['link', 'set', br, 'up']);
}

function dockerdArgs(e: Engine): string[] {
  const args = [
    '--config-file', path.join(e.dir, 'daemon.json'),
    '--data-root', path.join(e.dir, 'data'),
    '--exec-root', path.join(e.dir, 'exec'),
    '--pidfile', path.join(e.dir, 'docker.pid'),
    '-H', `tcp://${e.addr}`,
    '-H', `unix://${e.sock}`,
    ...(e.bridgeAddr ? ['-H', `tcp://${e.bridgeAddr}`] : []),
    '-b', e.bridge,
    '--ip', e.publishIp,
    '--iptables=false',
    '--ip-forward=false',
  ];
  for (const [k, v] of Object.entries(e.labels)) args.push('--label', `${k}=${v}`);
  if (e.tls) args.push(...tlsFlags(e.tls));
  return args;
}

function writeDaemonConfig(e: Engine): void {
  const cfg = {
    // Own key => own engine ID (the default /etc/docker/key.json is shared).
    'deprecated-key-path': path.join(e.dir, 'key.json'),
    'default-address-pools': [{ base: networkPool(e.slot), size: 28 }],
    // Containers are removed before stop; don't wait the default 15s for stragglers.
    'shutdown-timeout': 3,
  };
  fs.writeFileSync(path.join(e.dir, 'daemon.json'), JSON.stringify(cfg, null, 2) + '\n');
}

/** Spawn dockerd for e (detached: own process group, outlives us, Ctrl-C doesn't reach it). */
function spawnDockerd(e: Engine): { exited: () => string | undefined } {
  const out = fs.openSync(e.logFile, 'a');
  fs.writeSync(out, `\n=== ${new Date().toISOString()} starting dockerd (${e.name}) ===\n`);
  let exitInfo: string | undefined;
  // unshare (no --fork) and sh both exec, so child.pid is dockerd's PID.
  const child = spawn(
    'unshare',
    ['--uts', 'sh', '-c', 'hostname "$1" && shift && exec "$@"', 'sh', e.name, DOCKERD, ...dockerdArgs(e)],
    { detached: true, stdio: ['ignore', out, out], env: sysEnv() },
  );
  fs.closeSync(out);
  child.on('error', (err) => (exitInfo = `spawn failed: ${err.message}`));
  child.on('exit', (code, sig) => (exitInfo = `exited with ${sig ?? `code ${code}`}`));
  child.unref();
  if (child.pid === undefined) throw new Error(`could not spawn dockerd for ${e.name}`);
  e.pid = child.pid;
  return { exited: () => exitInfo };
}

// Asked on the engine's unix socket (plain or TLS port alike); dockerd binds
// every -H before it serves any, and startEngines saw the tcp port free before
// the spawn, so a live socket plus an answering port means our daemon is up.
async function waitReady(e: Engine, exited: () => string | undefined, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const dataRoot = path.join(e.dir, 'data');
  let last = 'no answer';
  while (Date.now() < deadline) {
    const ex = exited();
    if (ex) throw new Error(`dockerd for ${e.name} (${e.addr}) ${ex} before answering /_ping; log ${e.logFile}:\n${logTail(e.logFile)}`);
    if (await pingOk(e.sock)) {
      const info = await apiJson<{ Name: string; DockerRootDir: string }>(e.sock, 'GET', '/info').catch(() => undefined);
      if (info && info.DockerRootDir === dataRoot && info.Name === e.name) {
        if (await portAnswers(e.port)) return;
        last = `nothing listens on ${e.addr}`;
      } else if (info) last = `${e.sock} answered by another daemon (Name=${info.Name}, DockerRootDir=${info.DockerRootDir})`;
    }
    await sleep(150);
  }
  throw new Error(`dockerd for ${e.name} did not answer GET /_ping on ${e.sock} within ${timeoutMs}ms (${last}); log ${e.logFile}:\n${logTail(e.logFile)}`);
}

const engineSock = (dir: string) => path.join(dir, 'docker.sock');

const isOurDockerd = (pid: number, dir: string) => {
  const argv = procCmdline(pid);
  if (!argv) return false;
  const i = argv.indexOf('--data-root');
  return i >= 0 && argv[i + 1] === path.join(dir, 'data');
};

const DAEMON_BINS = /^(dockerd|containerd|containerd-shim.*|docker-proxy|runc)$/;

/**
 * Everything still running for one engine dir once dockerd is gone: container
 * processes (by cgroup, IDs from its data root), then containerd/shims/stray
 * dockerd (their argv names paths inside dir), then docker-proxy for its subnets.
 */
async function reapEngineLeftovers(rec: Pick<EngineRecord, 'dir' | 'slot'>): Promise<void> {
  let ids: string[] = [];
  try {
    ids = fs.readdirSync(path.join(rec.dir, 'data', 'containers')).filter((s) => /^[0-9a-f]{64}$/.test(s));
  } catch {
    /* no containers dir */
  }
  await killAndWait(findPidsInContainers(ids), 5000, 'SIGKILL');
  const prefix = rec.dir.endsWith('/') ? rec.dir : rec.dir + '/';
  const owned = findPids((argv) => DAEMON_BINS.test(path.basename(argv[0] ?? '')) && argv.some((a) => a.startsWith(prefix) || a.includes(`=${prefix}`) || a.includes(`://${prefix}`)));
  await killAndWait(owned, 10_000);
  const subnets = [`172.31.${100 + rec.slot}.`, networkPool(rec.slot).replace(/0\/24$/, '')];
  const proxies = findPids((argv) => {
    if (path.basename(argv[0] ?? '') !== 'docker-proxy') return false;
    const ip = argv[argv.indexOf('-container-ip') + 1] ?? '';
    return subnets.some((s) => ip.startsWith(s));
  });
  await killAndWait(proxies, 3000, 'SIGKILL');
  // Empty cgroups of our containers (cgroup v1 hierarchies or v2), best effort.
  for (const id of ids) {
    for (const ctrl of safeReaddir('/sys/fs/cgroup')) {
      for (const d of [`/sys/fs/cgroup/${ctrl}/docker/${id}`, `/sys/fs/cgroup/docker/${id}`]) {
        try {
          fs.rmdirSync(d);
        } catch {
          /* not there or busy */
        }
      }
    }
  }
}

function readOr(file: string, dflt: string): string {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return dflt;
  }
}

function safeReaddir(d: string): string[] {
  try {
    return fs.readdirSync(d);
  } catch {
    return [];
  }
}

/** Remove all containers and user-defined networks through the API at addr (a unix socket; fast: force-delete = SIGKILL). */
async function removeContainersAndNetworks(addr: string): Promise<void> {
  const cs = await apiJson<{ Id: string }[]>(addr, 'GET', '/containers/json?all=1', { timeoutMs: 5000 });
  await Promise.all(
    cs.map((c) => api(addr, 'DELETE', `/containers/${c.Id}?force=1&v=1`, { timeoutMs: 20_000 }).catch(() => undefined)),
  );
  const nets = await apiJson<{ Id: string; Name: string }[]>(addr, 'GET', '/networks', { timeoutMs: 5000 });
  await Promise.all(
    nets
      .filter((n) => !['bridge', 'host', 'none'].includes(n.Name))
      .map((n) => api(addr, 'DELETE', `/networks/${n.Id}`, { timeoutMs: 10_000 }).catch(() => undefined)),
  );
}

/** Stop one engine completely and delete its bridges (not its dir). */
async function teardownEngine(rec: EngineRecord, removeContainers: boolean): Promise<void> {
  const ours = rec.pid > 0 && isOurDockerd(rec.pid, rec.dir);
  if (ours) {
    try {
      process.kill(rec.pid, 'SIGCONT'); // in case it was paused
    } catch {
      /* gone */
    }
    // The unix socket: plain HTTP whether or not the tcp port speaks TLS.
    const sock = engineSock(rec.dir);
    if (removeContainers && (await pingOk(sock, 2000))) {
      await removeContainersAndNetworks(sock).catch(() => undefined);
    }
    await killAndWait([rec.pid], 20_000);
  }
  await reapEngineLeftovers(rec);
  await unmountBelow(rec.dir);
  await deleteLink(rec.bridge);
  for (const br of await bridgesWithAddrPrefix(networkPool(rec.slot).replace(/0\/24$/, ''))) await deleteLink(br);
}

/** Stop everything a state.json lists (join agents and manager first), then remove its dir. */
export async function teardownState(st: ClusterState): Promise<void> {
  const errors: string[] = [];
  const joins = (st.joins ?? []).map((j) => j.pid).filter((pid) => {
    const argv = pid > 0 ? procCmdline(pid) : undefined;
    return !!argv && argv.some((a) => a.endsWith('main.js')) && argv.includes('join');
  });
  if (joins.length) await killAndWait(joins, 10_000).catch((e: Error) => errors.push(e.message));
  if (st.manager && st.manager.pid > 0) {
    const argv = procCmdline(st.manager.pid);
    if (argv && argv.some((a) => a.endsWith('main.js')) && argv.includes('manage')) {
      await killAndWait([st.manager.pid], 10_000).catch((e: Error) => errors.push(e.message));
    }
  }
  await Promise.all(
    st.engines.map((e) => teardownEngine(e, true).catch((err: Error) => errors.push(`${e.name}: ${err.message}`))),
  );
  try {
    removeStateDir(st.stateDir);
  } catch (err) {
    errors.push((err as Error).message);
  }
  if (errors.length) throw new Error(`dev-cluster teardown incomplete:\n${errors.join('\n')}`);
}

/** Clean up whatever a crashed earlier run left for these slots / this dir. */
async function cleanLeftovers(opts: StartEnginesOptions): Promise<void> {
  const prev = readState(opts.stateDir);
  if (prev) await teardownState(prev).catch(() => undefined);
  for (let i = 0; i < opts.count; i++) {
    const slot = opts.slotBase + i;
    const dir = path.join(opts.stateDir, `engine-${i}`);
    await reapEngineLeftovers({ dir, slot });
    await unmountBelow(dir);
    for (const br of await bridgesWithAddrPrefix(networkPool(slot).replace(/0\/24$/, ''))) await deleteLink(br);
  }
  if (fs.existsSync(opts.stateDir)) removeStateDir(opts.stateDir);
}

export async function startEngines(opts: StartEnginesOptions): Promise<EngineSet> {
  validate(opts);
  const stateDir = path.resolve(opts.stateDir);
  await cleanLeftovers({ ...opts, stateDir });

  const engines: Engine[] = [];
  for (let i = 0; i < opts.count; i++) {
    const slot = opts.slotBase + i;
    const port = opts.basePort + i;
    const dir = path.join(stateDir, `engine-${i}`);
    engines.push({
      index: i,
      name: opts.names?.(i) ?? `node-${i}`,
      addr: `127.0.0.1:${port}`,
      sock: engineSock(dir),
      port,
      slot,
      pid: 0,
      dir,
      logFile: path.join(dir, 'dockerd.log'),
      bridge: bridgeName(slot),
      publishIp: publishIp(slot),
      bridgeAddr: opts.bridgeApi ? `${bridgeIp(slot)}:${opts.basePort + i}` : undefined,
      labels: { ...(opts.labels?.(i) ?? {}) },
    });
  }
  const names = new Set(engines.map((e) => e.name));
  if (names.size !== engines.length) throw new Error(`engine names must be distinct: ${engines.map((e) => e.name).join(', ')}`);
  if (opts.tls && (names.has(MANAGER_CERT_NAME) || names.has(CLIENT_CERT_NAME))) {
    throw new Error(`with tls, no engine may be named ${MANAGER_CERT_NAME} or ${CLIENT_CERT_NAME} (their certificate directories)`);
  }

  const state: ClusterState = { version: 1, stateDir, createdAt: new Date().toISOString(), engines: engines.map(toRecord) };
  const save = () => {
    state.engines = engines.map(toRecord);
    // Keep the manager that recordManager() added, or restartEngine() would drop
    // it and stop() would leave the manager running.
    const saved = readState(stateDir);
    state.manager = saved?.manager;
    if (!state.manager) delete state.manager;
    if (saved?.joins) state.joins = saved.joins;
    writeState(state);
  };
  save(); // before spawning, so a crash mid-start can still be reaped from state.json

  const timeoutMs = opts.startTimeoutMs ?? 60_000;
  const tarP = opts.busybox === false ? Promise.resolve('') : busyboxTar(opts.cacheDir ?? DEFAULT_CACHE_DIR);
  tarP.catch(() => undefined);

  const set = makeSet(engines, stateDir, save, timeoutMs);
  try {
    if (opts.tls) {
      const dir = certsDir(stateDir);
      writeCA(dir, opts.tls.ca);
      const own = (e: Engine): Sans | undefined => (e.bridgeAddr ? { ips: ['127.0.0.1', bridgeIp(e.slot)], dnsNames: [e.name, 'localhost'] } : undefined);
      for (const e of engines) e.tls = issueEngineCert(dir, e.name, opts.tls.sans?.(e.index) ?? own(e));
    }
    await Promise.all(
      engines.map(async (e) => {
        if (await portAnswers(e.port)) throw new Error(`port ${e.port} for ${e.name} is already in use`);
        fs.mkdirSync(e.dir, { recursive: true });
        writeDaemonConfig(e);
        await ensureBridge(e.slot, true);
        const { exited } = spawnDockerd(e);
        save();
        await waitReady(e, exited, timeoutMs);
      }),
    );
    if (opts.busybox !== false) {
      const tar = await tarP;
      await Promise.all(engines.map((e) => importBusybox(e.sock, tar)));
    }
  } catch (err) {
    await set.stop().catch(() => undefined);
    throw err;
  }
  return set;
}

function toRecord(e: Engine): EngineRecord {
  return { index: e.index, name: e.name, slot: e.slot, port: e.port, addr: e.addr, pid: e.pid, dir: e.dir, logFile: e.logFile, bridge: e.bridge, labels: e.labels };
}

function makeSet(engines: Engine[], stateDir: string, save: () => void, timeoutMs: number): EngineSet {
  const get = (i: number) => {
    const e = engines[i];
    if (!e) throw new Error(`no engine ${i} (have ${engines.length})`);
    return e;
  };
  let stopped = false;
  const set: EngineSet = {
    engines,
    stateDir,
    async stop() {
      if (stopped) return;
      stopped = true;
      const st = readState(stateDir) ?? { version: 1, stateDir, createdAt: '', engines: [] };
      st.engines = engines.map(toRecord);
      await teardownState(st);
    },
    async stopEngine(i, opts) {
      const e = get(i);
      if (!isOurDockerd(e.pid, e.dir)) return;
      if (opts?.kill) await killAndWait([e.pid], 5000, 'SIGKILL');
      else await killAndWait([e.pid], 20_000);
    },
    async restartEngine(i) {
      const e = get(i);
      if (isOurDockerd(e.pid, e.dir)) await set.stopEngine(i);
      await ensureBridge(e.slot, false);
      // After a SIGKILL, the old containerd dies of SIGPIPE on its next log line
      // but may linger as an unreaped zombie that dockerd mistakes for a live
      // daemon (and then times out on). Stop it and drop both pidfiles; the new
      // containerd re-attaches to the still-running shims.
      const cdPidFile = path.join(e.dir, 'exec', 'containerd', 'containerd.pid');
      const cdPid = Number(readOr(cdPidFile, '0'));
      if (cdPid > 0 && (procCmdline(cdPid) ?? []).some((a) => a.startsWith(e.dir + '/'))) await killAndWait([cdPid], 10_000);
      fs.rmSync(cdPidFile, { force: true });
      fs.rmSync(path.join(e.dir, 'docker.pid'), { force: true });
      const { exited } = spawnDockerd(e);
      save();
      await waitReady(e, exited, timeoutMs);
    },
    pauseEngine(i) {
      const e = get(i);
      if (isOurDockerd(e.pid, e.dir)) process.kill(e.pid, 'SIGSTOP');
    },
    resumeEngine(i) {
      const e = get(i);
      if (isOurDockerd(e.pid, e.dir)) process.kill(e.pid, 'SIGCONT');
    },
  };
  return set;
}
