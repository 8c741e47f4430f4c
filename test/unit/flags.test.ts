// `swarm manage` flag validation speaks classic Swarm's texts (cli/manage.go,
// cluster/swarm/cluster.go) and exits non-zero, before touching any engine.
// Spawns the built CLI; -H 127.0.0.1:23594 (see test/lib/README.md) so a
// manager that wrongly starts never takes the default port.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn } from 'node:child_process';

const MAIN = path.resolve(__dirname, '..', '..', 'src', 'cli', 'main.js');
const LISTEN = 'tcp://127.0.0.1:23594';

interface Run { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

function manage(args: string[], timeoutMs = 10_000): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN, 'manage', '-H', LISTEN, ...args, 'nodes://127.0.0.1:1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      stderr += `\n[test] manage ${args.join(' ')} still running after ${timeoutMs}ms: killed`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

describe('swarm manage: flag validation in classic\'s words', { skip: fs.existsSync(MAIN) ? false : 'dist/src/cli/main.js not built' }, () => {
  const cases: Array<{ args: string[]; text: string }> = [
    // Go's %f: six decimals.
    { args: ['--cluster-opt', 'swarm.overcommit=-2'], text: 'swarm.overcommit should be larger than -1, -2.000000 is invalid' },
    { args: ['--cluster-opt', 'swarm.overcommit=-1'], text: 'swarm.overcommit should be larger than -1, -1.000000 is invalid' },
    { args: ['--cluster-opt', 'swarm.overcommit=-1.5'], text: 'swarm.overcommit should be larger than -1, -1.500000 is invalid' },
    { args: ['--engine-refresh-min-interval', '0s'], text: 'min refresh interval should be a positive number' },
  ];
  for (const { args, text } of cases) {
    test(`${args.join(' ')} -> "${text}"`, { timeout: 20_000 }, async () => {
      const r = await manage(args);
      assert.ok(r.stderr.includes(text), `stderr lacks "${text}":\n${r.stderr}`);
      assert.equal(r.signal, null, r.stderr);
      assert.notEqual(r.code, 0, 'must exit non-zero');
    });
  }
});
