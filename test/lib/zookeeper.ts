// Integration-test helper: one real standalone ZooKeeper (Debian's
// libzookeeper-java jars, `bash .ci/install`), run in the foreground from
// Java with its own config: data in /tmp/swarm-zk-<port>, bound to 127.0.0.1,
// admin server off, a small tickTime so short session timeouts are granted
// (ZooKeeper clamps them to [2, 20] × tickTime). Start in before(), stop() in
// after(). A crashed run's server is killed at process exit, or at the latest
// by the next start on the same port (pid file).
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';

const JAVA_DIR = '/usr/share/java';
/** zookeeper.jar's manifest names its dependencies; slf4j-simple is the log binding. */
const CLASSPATH = [`${JAVA_DIR}/zookeeper.jar`, `${JAVA_DIR}/slf4j-simple.jar`];
const MAIN = 'org.apache.zookeeper.server.ZooKeeperServerMain';

export interface ZooKeeperOptions {
  /** Client port (default 23531). */
  port?: number;
  /** Milliseconds (default 500: session timeouts from 1 s to 10 s). */
  tickTime?: number;
}

export interface ZooKeeper {
  /** "127.0.0.1:PORT", for zk://<connect>/path. */
  connect: string;
  port: number;
  tickTime: number;
  /** The server's pid (changes on restart). */
  readonly pid: number;
  dataDir: string;
  logFile: string;
  /** SIGSTOP: connections stay open, nothing answers. */
  pause(): void;
  /** SIGCONT. */
  resume(): void;
  /** Stop (keeping the data: sessions and znodes survive) and start again on the same port. */
  restart(): Promise<void>;
  /** Stop, keeping the data (an outage: connections refused); start() brings it back. */
  halt(): Promise<void>;
  /** Start again after halt(), on the same data; resolves when it answers. */
  start(): Promise<void>;
  /** Stop the server and remove its data. */
  stop(): Promise<void>;
}

/** Why ZooKeeper can't be started here, or undefined. */
export function zookeeperMissing(): string | undefined {
  for (const jar of CLASSPATH) if (!fs.existsSync(jar)) return `${jar} missing (bash .ci/install installs libzookeeper-java)`;
  const java = process.env.PATH?.split(':').some((d) => d && fs.existsSync(path.join(d, 'java')));
  if (!java) return 'java not installed (bash .ci/install installs default-jre-headless)';
  return undefined;
}

const running = new Set<ChildProcess>();
let hooked = false;
function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => {
    for (const p of running) {
      try { process.kill(p.pid!, 'SIGKILL'); } catch { /* gone */ }
    }
  });
}

/** One 4-letter-word command; '' when nothing answers within ms. */
export function fourLetter(port: number, cmd: string, ms = 1000): Promise<string> {
  return new Promise((resolve) => {
    let out = '';
    const sock = net.connect(port, '127.0.0.1', () => sock.write(cmd));
    const done = (): void => { clearTimeout(timer); sock.destroy(); resolve(out); };
    const timer = setTimeout(done, ms);
    sock.on('data', (d) => { out += d.toString(); });
    sock.on('end', done);
    sock.on('error', done);
  });
}

function killLeftover(pidFile: string): void {
  let pid: number;
  try { pid = parseInt(fs.readFileSync(pidFile, 'utf8'), 10); } catch { return; }
  if (!(pid > 0)) return;
  try {
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (!cmdline.includes(MAIN) || !cmdline.includes(path.dirname(pidFile))) return;
    process.kill(pid, 'SIGKILL');
  } catch { /* not running */ }
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

export async function startZooKeeper(opts: ZooKeeperOptions = {}): Promise<ZooKeeper> {
  const port = opts.port ?? 23531;
  const tickTime = opts.tickTime ?? 500;
  const dir = `/tmp/swarm-zk-${port}`;
  const pidFile = path.join(dir, 'zk.pid');
  killLeftover(pidFile);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(path.join(dir, 'data'), { recursive: true });
  const cfg = path.join(dir, 'zoo.cfg');
  fs.writeFileSync(cfg, [
    `tickTime=${tickTime}`,
    `dataDir=${path.join(dir, 'data')}`,
    `clientPort=${port}`,
    'clientPortAddress=127.0.0.1',
    'admin.enableServer=false',
    '4lw.commands.whitelist=ruok,srvr,stat,cons,mntr,dump',
    'maxClientCnxns=0',
    // No snapshots piling up in a test.
    'autopurge.purgeInterval=0',
    '',
  ].join('\n'));
  const logFile = path.join(dir, 'zookeeper.log');
  hookExit();

  let proc: ChildProcess | undefined;
  let paused = false;

  const launch = async (): Promise<void> => {
    if (!(await portFree(port))) throw new Error(`ZooKeeper test port 127.0.0.1:${port} is already in use`);
    const log = fs.openSync(logFile, 'a');
    const p = spawn('java', [
      '-Xmx128m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1',
      '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn',
      '-Dzookeeper.jmx.log4j.disable=true',
      '-cp', CLASSPATH.join(':'), MAIN, cfg,
    ], { stdio: ['ignore', log, log] });
    fs.closeSync(log);
    proc = p;
    running.add(p);
    p.once('exit', () => running.delete(p));
    fs.writeFileSync(pidFile, String(p.pid));
    const end = Date.now() + 30_000;
    while (Date.now() < end) {
      if (p.exitCode !== null || p.signalCode !== null) break;
      if ((await fourLetter(port, 'ruok', 500)) === 'imok') return;
      await new Promise((r) => setTimeout(r, 200));
    }
    await halt();
    const tail = fs.readFileSync(logFile, 'utf8').split('\n').slice(-20).join('\n');
    throw new Error(`ZooKeeper did not start on 127.0.0.1:${port}:\n${tail}`);
  };

  const halt = async (): Promise<void> => {
    const p = proc;
    proc = undefined;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise<void>((r) => p.once('exit', () => r()));
    if (paused) { p.kill('SIGCONT'); paused = false; }
    p.kill('SIGTERM');
    const t = setTimeout(() => p.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(t);
  };

  await launch();
  return {
    connect: `127.0.0.1:${port}`,
    port,
    tickTime,
    get pid() { return proc?.pid ?? 0; },
    dataDir: path.join(dir, 'data'),
    logFile,
    pause() { proc?.kill('SIGSTOP'); paused = true; },
    resume() { proc?.kill('SIGCONT'); paused = false; },
    async restart() { await halt(); await launch(); },
    halt: () => halt(),
    async start() { if (proc) throw new Error('ZooKeeper is running'); await launch(); },
    async stop() {
      await halt();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
