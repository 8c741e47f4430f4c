// `swarm dev-cluster up|down`: real dockerd engines plus a detached manager
// for local hacking; state.json records what to stop later.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { startEngines, teardownState, type EngineSet } from './engines.js';
import { randomBytes } from 'node:crypto';
import { startManager, startJoin, isManagerProcess } from './manager.js';
import { readState, recordJoins, recordManager } from './state.js';
import { api, procCmdline, removeStateDir, type ClientTls } from './util.js';
import { createCA, envLines } from '../certs/index.js';
import { certsDir, issueClientBundle, issueManagerCert, readClientTls, type CertDirs } from './tls.js';
import { buildSwarmImageTar, importSwarmImage, IMAGE_CHANGES, SWARM_IMAGE } from './swarmimage.js';

export { startEngines, type EngineSet, type Engine, type StartEnginesOptions } from './engines.js';
export { startManager, type ManagerProcess, type StartManagerOptions } from './manager.js';

export const DEFAULT_STATE_DIR = '/var/tmp/swarm-dev-cluster';
export const DEFAULT_MANAGER_PORT = 3375;
/** With --tls, as `swarm manage --tls` without -H. */
export const DEFAULT_TLS_MANAGER_PORT = 3376;
/** Engines listen on 12375, 12376, ... (2375 is docker's own port; 2380 is etcd's peer port). */
export const DEFAULT_ENGINE_PORT = 12375;
/** Dev clusters use slots 0..9; integration tests use 10 and up (test/lib/README.md). */
export const DEV_SLOT_BASE = 0;
export const MAX_DEV_NODES = 10;

export interface UpOptions {
  nodes: number;
  stateDir?: string;
  /** Manager port on 127.0.0.1 (default 3375, 3376 with tls). */
  port?: number;
  /**
   * Mutual TLS everywhere: a CA in <stateDir>/certs, engines with
   * --tlsverify, the manager with --tlsverify, a client bundle in
   * <stateDir>/certs/client.
   */
  tls?: boolean;
  /** First engine port (default 12375). */
  enginePort?: number;
  /** "zone=a" (every node) or "node-1:zone=a" (that node only). */
  labels?: string[];
  /** Extra `swarm manage` flags. */
  managerArgs?: string[];
  /** Start the manager too (default true). */
  manager?: boolean;
  /**
   * How the manager finds the engines: "nodes" (the list, default) or
   * "token" (the manager embeds the token service on tokenPort and one
   * `swarm join` agent per engine registers it, as in classic's quick start).
   */
  discovery?: 'nodes' | 'token';
  /** Port of the embedded token service (default 4243). */
  tokenPort?: number;
  /** Progress lines (default: stderr). */
  log?: (line: string) => void;
}

export interface UpResult {
  stateDir: string;
  dockerHost?: string;
  engines: { name: string; addr: string; pid: number; labels: Record<string, string> }[];
  managerPid?: number;
  /** With tls: the client bundle (DOCKER_CERT_PATH). */
  certPath?: string;
}

/** Parse --label values into per-node label maps for nodes named node-0..node-(n-1). */
export function parseLabels(specs: string[], names: string[]): Record<string, string>[] {
  const out = names.map(() => ({}) as Record<string, string>);
  for (const spec of specs) {
    const colon = spec.indexOf(':');
    const eq = spec.indexOf('=');
    // "node-1:zone=a" targets one node; a ':' after the '=' is part of the value.
    const target = colon > 0 && (eq < 0 || colon < eq) ? spec.slice(0, colon) : undefined;
    const kv = target === undefined ? spec : spec.slice(colon + 1);
    const i = kv.indexOf('=');
    if (i <= 0) throw new Error(`bad label "${spec}": want key=value or node-N:key=value`);
    const [k, v] = [kv.slice(0, i), kv.slice(i + 1)];
    if (target === undefined) {
      for (const m of out) m[k] = v;
    } else {
      const idx = names.indexOf(target);
      if (idx < 0) throw new Error(`label "${spec}": no node named ${target} (have ${names.join(', ')})`);
      out[idx]![k] = v;
    }
  }
  return out;
}

function stateIsLive(stateDir: string): boolean {
  const st = readState(stateDir);
  if (!st) return false;
  const dockerdAlive = st.engines.some((e) => {
    const argv = e.pid > 0 ? procCmdline(e.pid) : undefined;
    return !!argv && argv.includes(path.join(e.dir, 'data'));
  });
  const joinAlive = (st.joins ?? []).some((j) => !!procCmdline(j.pid)?.includes('join'));
  return dockerdAlive || joinAlive || (!!st.manager && isManagerProcess(st.manager.pid));
}

export async function up(opts: UpOptions): Promise<UpResult> {
  const log = opts.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const stateDir = path.resolve(opts.stateDir ?? DEFAULT_STATE_DIR);
  const port = opts.port ?? (opts.tls ? DEFAULT_TLS_MANAGER_PORT : DEFAULT_MANAGER_PORT);
  const enginePort = opts.enginePort ?? DEFAULT_ENGINE_PORT;
  if (!Number.isInteger(opts.nodes) || opts.nodes < 1 || opts.nodes > MAX_DEV_NODES) {
    throw new Error(`--nodes must be 1..${MAX_DEV_NODES}`);
  }
  if (stateIsLive(stateDir)) {
    throw new Error(`a dev cluster is already running from ${stateDir}; stop it first: swarm dev-cluster down`);
  }
  const names = Array.from({ length: opts.nodes }, (_, i) => `node-${i}`);
  const labels = parseLabels(opts.labels ?? [], names);

  const t0 = Date.now();
  log(`starting ${opts.nodes} engine(s) in ${stateDir} ...`);
  const set: EngineSet = await startEngines({
    count: opts.nodes,
    slotBase: DEV_SLOT_BASE,
    basePort: enginePort,
    stateDir,
    labels: (i) => labels[i] ?? {},
    names: (i) => names[i]!,
    tls: opts.tls ? { ca: createCA({ commonName: 'swarm dev-cluster CA' }) } : undefined,
    // Also on the bridge address: a `swarm` container (docs/install.md) reaches the engines there.
    bridgeApi: true,
  });
  for (const e of set.engines) {
    const l = Object.entries(e.labels).map(([k, v]) => `${k}=${v}`).join(',');
    log(`  ${e.name}  tcp://${e.addr}${e.tls ? ' (TLS)' : ''} (containers: tcp://${e.bridgeAddr})  pid ${e.pid}  bridge ${e.bridge}  -p binds ${e.publishIp}${l ? `  labels ${l}` : ''}`);
  }
  const result: UpResult = {
    stateDir,
    engines: set.engines.map((e) => ({ name: e.name, addr: e.addr, pid: e.pid, labels: e.labels })),
  };
  let managerCerts: CertDirs | undefined;
  let clientTls: ClientTls | undefined;
  if (opts.tls) {
    try {
      const dir = certsDir(stateDir);
      if (opts.manager !== false) managerCerts = issueManagerCert(dir);
      const client = issueClientBundle(dir, opts.manager !== false ? `tcp://127.0.0.1:${port}` : `tcp://${set.engines[0]!.addr}`);
      clientTls = readClientTls(client);
      result.certPath = client.dir;
      log(`  certs    ${dir}  (CA, a server pair per engine, manager/, client/ with env.sh)`);
    } catch (err) {
      await set.stop().catch(() => undefined);
      throw err;
    }
  }
  if (opts.manager !== false) {
    const host = `127.0.0.1:${port}`;
    const token = opts.discovery === 'token' ? randomBytes(16).toString('hex') : undefined;
    const tokenUrl = `http://127.0.0.1:${opts.tokenPort ?? 4243}`;
    try {
      const m = await startManager({
        tls: managerCerts,
        host,
        discovery: token ? `token://${token}` : `nodes://${set.engines.map((e) => e.addr).join(',')}`,
        args: token
          ? ['--token-server', tokenUrl.slice('http://'.length), '--token-server-data-dir', path.join(stateDir, 'token-server'), '--heartbeat', '1s', ...(opts.managerArgs ?? [])]
          : opts.managerArgs,
        logFile: path.join(stateDir, 'manager.log'),
        detached: true,
      });
      recordManager(stateDir, { pid: m.pid, host, logFile: m.logFile });
      result.managerPid = m.pid;
      result.dockerHost = `tcp://${host}`;
      log(`  manager  tcp://${host}${managerCerts ? ' (TLS, --tlsverify)' : ''}  pid ${m.pid}  log ${m.logFile}`);
      if (token) {
        for (const e of set.engines) {
          const logFile = path.join(stateDir, `join-${e.name}.log`);
          const pid = startJoin(e.addr, `token://${token}`, ['--heartbeat', '5s', '--ttl', '15s', '--discovery-opt', `token.url=${tokenUrl}`], logFile);
          // Recorded one by one: a failed start later still leaves these to `down`.
          recordJoins(stateDir, [{ pid, advertise: e.addr, logFile }]);
        }
        log(`  token    token://${token}  (service ${tokenUrl}, embedded in the manager; ${set.engines.length} swarm join agents)`);
        await waitForNodes(host, set.engines.length, 30_000, clientTls);
      } else if (clientTls) {
        // Proves the whole chain (client -> manager -> engines) before the export lines are printed.
        await waitForNodes(host, set.engines.length, 30_000, clientTls);
      }
    } catch (err) {
      await set.stop().catch(() => undefined);
      throw err;
    }
  }
  log(`up in ${((Date.now() - t0) / 1000).toFixed(1)}s; stop with: swarm dev-cluster down${stateDir !== DEFAULT_STATE_DIR ? ` --state-dir ${stateDir}` : ''}`);
  return result;
}

/** Wait until the manager's `docker info` counts `n` Healthy nodes. */
async function waitForNodes(host: string, n: number, timeoutMs: number, tls?: ClientTls): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let seen = 0;
  let errors: string[] = [];
  while (Date.now() < deadline) {
    try {
      const info: any = JSON.parse((await api(host, 'GET', '/info', { tls, timeoutMs: 5000 })).body);
      const st = info.SystemStatus as string[][];
      seen = st.filter(([k, v]) => k.trim() === '└ Status' && v === 'Healthy').length;
      if (seen >= n) return;
      errors = st.filter(([k]) => k.trim() === '└ Error').map(([, v]) => `  ${v}`);
    } catch (err) {
      errors = [`  ${(err as Error).message}`];
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  // The state dir (manager.log included) goes with the teardown: say why here.
  throw new Error(`the manager saw ${seen} of ${n} engines Healthy after ${timeoutMs / 1000}s${errors.length ? `:\n${[...new Set(errors)].join('\n')}` : ''}`);
}

/** Stop exactly what stateDir/state.json lists, delete its bridges and the dir. Returns false if nothing was recorded. */
export async function down(stateDir: string = DEFAULT_STATE_DIR): Promise<boolean> {
  const dir = path.resolve(stateDir);
  const st = readState(dir);
  if (!st) {
    if (fs.existsSync(dir)) removeStateDir(dir);
    return false;
  }
  await teardownState(st);
  return true;
}

// ---- yargs command module ----------------------------------------------------

interface UpArgs {
  nodes: number;
  label: string[];
  port?: number;
  tls: boolean;
  'engine-port': number;
  'state-dir': string;
  manager: boolean;
  'manager-arg': string[];
  discovery: string;
  'token-port': number;
}

const fail = (err: unknown) => {
  process.stderr.write(`dev-cluster: ${(err as Error).message ?? String(err)}\n`);
  process.exitCode = 1;
};

const upCommand: CommandModule<object, UpArgs> = {
  command: 'up',
  describe: 'start N local dockerd engines and a manager in front of them',
  builder: (y: Argv<object>) =>
    y
      .option('nodes', { alias: 'n', type: 'number', default: 3, describe: `number of engines (1-${MAX_DEV_NODES})` })
      .option('label', { type: 'string', array: true, default: [] as string[], describe: 'engine label: key=value (all nodes) or node-1:key=value' })
      .option('port', { alias: 'p', type: 'number', describe: `manager port on 127.0.0.1 (default ${DEFAULT_MANAGER_PORT}, ${DEFAULT_TLS_MANAGER_PORT} with --tls)` })
      .option('tls', { type: 'boolean', default: false, describe: 'mutual TLS: a CA in <state-dir>/certs, engines and manager with --tlsverify, a client bundle in <state-dir>/certs/client' })
      .option('engine-port', { type: 'number', default: DEFAULT_ENGINE_PORT, describe: 'first engine port (127.0.0.1)' })
      .option('state-dir', { type: 'string', default: DEFAULT_STATE_DIR, describe: 'where engine data, logs and state.json live' })
      .option('manager', { type: 'boolean', default: true, describe: 'also start the manager (--no-manager: engines only)' })
      .option('discovery', { type: 'string', choices: ['nodes', 'token'], default: 'nodes', describe: 'nodes: the manager gets the engine list; token: it embeds the token service and a swarm join agent per engine registers it' })
      .option('token-port', { type: 'number', default: 4243, describe: 'port of the embedded token service (--discovery token)' })
      .option('manager-arg', { type: 'string', array: true, default: [] as string[], describe: 'extra flag for swarm manage (repeatable), e.g. --manager-arg=--strategy=binpack' }) as unknown as Argv<UpArgs>,
  handler: async (argv) => {
    try {
      const r = await up({
        nodes: argv.nodes,
        labels: argv.label.map(String),
        port: argv.port,
        tls: argv.tls,
        enginePort: argv['engine-port'],
        stateDir: argv['state-dir'],
        manager: argv.manager,
        managerArgs: argv['manager-arg'].map(String),
        discovery: argv.discovery === 'token' ? 'token' : 'nodes',
        tokenPort: argv['token-port'],
      });
      // The only stdout lines, so `eval "$(swarm dev-cluster up)"` works.
      const host = r.dockerHost ?? `tcp://${r.engines[0]!.addr}`;
      const lines = r.certPath ? envLines(host, r.certPath) : [`export DOCKER_HOST=${host}`];
      process.stdout.write(lines.join('\n') + '\n');
    } catch (err) {
      fail(err);
    }
  },
};

const downCommand: CommandModule<object, { 'state-dir': string }> = {
  command: 'down',
  describe: 'stop the dev cluster and remove its bridges and state dir',
  builder: (y: Argv<object>) =>
    y.option('state-dir', { type: 'string', default: DEFAULT_STATE_DIR, describe: 'state dir given to up' }) as unknown as Argv<{ 'state-dir': string }>,
  handler: async (argv) => {
    try {
      const had = await down(argv['state-dir']);
      process.stderr.write(had ? `dev cluster in ${argv['state-dir']} stopped\n` : `no dev cluster recorded in ${argv['state-dir']}\n`);
    } catch (err) {
      fail(err);
    }
  },
};

const mb = (n: number): string => `${(n / 1e6).toFixed(1)} MB`;

/**
 * Build the `swarm` image offline, then import it into every engine of the
 * dev cluster (when one runs from state-dir) and any engine given with
 * --engine (its unix socket or plain host:port).
 */
export async function image(o: { stateDir: string; engines: string[]; log?: (l: string) => void }): Promise<{ tar: string; into: string[] }> {
  const log = o.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const built = await buildSwarmImageTar();
  log(`${SWARM_IMAGE}: ${built.tar}, ${mb(built.bytes)} (Node.js and its libraries ${mb(built.runtimeBytes)}, the program and its production dependencies ${mb(built.appBytes)})`);
  const into = [...o.engines];
  const state = readState(path.resolve(o.stateDir));
  if (state && stateIsLive(path.resolve(o.stateDir))) into.push(...state.engines.map((e) => path.join(e.dir, 'docker.sock')));
  if (into.length) await importSwarmImage(into, built.tar);
  for (const addr of into) log(`  imported into ${addr}`);
  if (!into.length) {
    log(`no dev cluster runs from ${o.stateDir}; import it into an engine with:`);
    log(`  docker import ${IMAGE_CHANGES.map((c) => `--change '${c}'`).join(' ')} ${built.tar} ${SWARM_IMAGE}`);
  }
  return { tar: built.tar, into };
}

const imageCommand: CommandModule<object, { 'state-dir': string; engine: string[] }> = {
  command: 'image',
  describe: `build the ${SWARM_IMAGE} image offline and import it into the dev cluster's engines`,
  builder: (y: Argv<object>) =>
    y
      .option('state-dir', { type: 'string', default: DEFAULT_STATE_DIR, describe: 'state dir of the dev cluster whose engines get the image' })
      .option('engine', { type: 'string', array: true, default: [] as string[], describe: 'also import into this engine: its unix socket path or plain host:port (repeatable)' }) as unknown as Argv<{ 'state-dir': string; engine: string[] }>,
  handler: async (argv) => {
    try {
      await image({ stateDir: argv['state-dir'], engines: argv.engine.map(String) });
    } catch (err) {
      fail(err);
    }
  },
};

/** `dev-cluster`'s subcommands: main.ts loads this module only when `dev-cluster` is the command. */
export const devClusterSubcommands = (y: Argv<object>): Argv<object> =>
  y
    .command(upCommand as CommandModule<object, UpArgs>)
    .command(downCommand as CommandModule<object, { 'state-dir': string }>)
    .command(imageCommand as CommandModule<object, { 'state-dir': string; engine: string[] }>)
    .demandCommand(1, 'dev-cluster needs a subcommand: up, down or image') as Argv<object>;
