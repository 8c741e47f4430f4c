// `swarm` subcommands (join, token-server, manage) as real processes for
// integration tests, each logging to a file, all killed by killAll().
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { bound } from './wait.js';

/** dist/src/cli/main.js, from dist/test/lib. */
export const SWARM_MAIN = path.resolve(__dirname, '..', '..', 'src', 'cli', 'main.js');

export interface SwarmProc {
  proc: ChildProcess;
  args: string[];
  logFile: string;
  /** SIGKILL, and wait for the exit. */
  kill(): Promise<void>;
  /** SIGTERM, and wait for the exit. */
  stop(): Promise<void>;
}

export class SwarmProcs {
  private readonly live = new Set<SwarmProc>();
  private n = 0;
  constructor(private readonly logDir: string) { fs.mkdirSync(logDir, { recursive: true }); }

  start(args: string[], env: NodeJS.ProcessEnv = {}): SwarmProc {
    const logFile = path.join(this.logDir, `${args[0]}-${++this.n}.log`);
    const out = fs.openSync(logFile, 'a');
    const clean = { ...process.env };
    for (const k of ['SWARM_TOKEN_URL', 'SWARM_DISCOVERY', 'SWARM_HOST', 'SWARM_ADVERTISE']) delete clean[k];
    const proc = spawn(process.execPath, [SWARM_MAIN, ...args], { env: { ...clean, ...env }, stdio: ['ignore', out, out] });
    fs.closeSync(out);
    const exited = new Promise<void>((r) => proc.once('exit', () => r()));
    const p: SwarmProc = {
      proc, args, logFile,
      kill: async () => { if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL'); await exited; this.live.delete(p); },
      stop: async () => { if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM'); await Promise.race([exited, bound(5000)]); await p.kill(); },
    };
    this.live.add(p);
    return p;
  }

  /** Run a command to its end: exit code and output. */
  run(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 20_000): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      const clean = { ...process.env };
      for (const k of ['SWARM_TOKEN_URL', 'SWARM_DISCOVERY', 'SWARM_HOST', 'SWARM_ADVERTISE']) delete clean[k];
      const proc = spawn(process.execPath, [SWARM_MAIN, ...args], { env: { ...clean, ...env } });
      let stdout = '';
      let stderr = '';
      proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const t = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
      proc.on('close', (code) => { clearTimeout(t); resolve({ code: code ?? -1, stdout, stderr }); });
    });
  }

  async killAll(): Promise<void> {
    await Promise.all([...this.live].map((p) => p.kill()));
  }

  /** The last lines of a process's log, for assertion messages. */
  static tail(p: SwarmProc, lines = 20): string {
    try { return fs.readFileSync(p.logFile, 'utf8').split('\n').slice(-lines).join('\n'); } catch { return ''; }
  }
}
