// The audit log (src/access/audit.ts): what lands in the file, in what
// order, across a logrotate-style rename and reopen, and what a failing disk
// costs (counted lines, one log line, no exception).
import { test, describe, after, mock } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFile } from 'node:child_process';
import { AuditLog, auditLine, type AuditEntry } from '../../src/access/audit.js';
import { log } from '../../src/log.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'swarm-audit-unit-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));

const ORDER = ['time', 'user', 'remote', 'method', 'path', 'route', 'object', 'node', 'decision', 'reason', 'status'];

const entry = (i: number, extra: Partial<AuditEntry> = {}): AuditEntry => ({
  time: new Date(1_700_000_000_000 + i).toISOString(), user: 'alice', remote: '10.0.0.9:51000', method: 'POST',
  path: `/v1.41/containers/c${i}/start`, route: '/containers/{id}/start', decision: 'allowed', ...extra,
});

const lines = (file: string): any[] => fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
const seq = (file: string): number[] => lines(file).map((l) => Number(/\/c(\d+)\//.exec(l.path)?.[1]));
const range = (from: number, n: number): number[] => Array.from({ length: n }, (_, i) => from + i);

/** Calls to log.error while `fn` runs (the real logger stays quiet). */
async function logErrors(fn: () => Promise<void>): Promise<unknown[][]> {
  const m = mock.method(log, 'error', () => log);
  try {
    await fn();
    return m.mock.calls.map((c) => c.arguments);
  } finally {
    m.mock.restore();
  }
}

describe('AuditLog: lines', () => {
  test('one JSON object a line, keys in the fixed order whatever the entry\'s, undefined fields left out', async () => {
    const file = path.join(root, 'order.log');
    const a = AuditLog.open(file);
    // the fields given in reverse order: the line must not follow the object
    a.write({
      status: 403, reason: 'level none on node-1', decision: 'denied', node: 'node-1', object: 'web', route: '/containers/{id}/start',
      path: '/v1.41/containers/web/start', method: 'POST', remote: '10.0.0.9:51000', user: 'bob', time: '2026-11-30T12:00:00.000Z',
    });
    a.write(entry(1, { object: undefined, status: 'hijacked' }));
    await a.close();
    const [full, partial] = lines(file);
    assert.deepEqual(Object.keys(full), ORDER);
    assert.equal(full.status, 403);
    assert.deepEqual(Object.keys(partial), ['time', 'user', 'remote', 'method', 'path', 'route', 'decision', 'status']);
    assert.equal(partial.status, 'hijacked');
    assert.equal(auditLine(entry(2)), JSON.stringify(entry(2)) + '\n');
    assert.equal(a.dropped, 0);
  });

  test('a new file is created 0600; an existing one is appended to, not truncated', async () => {
    const file = path.join(root, 'mode.log');
    const a = AuditLog.open(file);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    a.write(entry(1));
    await a.close();
    const b = AuditLog.open(file);
    b.write(entry(2));
    await b.close();
    assert.deepEqual(seq(file), [1, 2]);
  });

  test('10,000 lines written back to back all land, in order, once close() resolves', async () => {
    const file = path.join(root, 'many.log');
    const a = AuditLog.open(file);
    for (let i = 0; i < 10_000; i++) a.write(entry(i));
    await a.close();
    assert.deepEqual(seq(file), range(0, 10_000));
    assert.equal(a.dropped, 0);
  });

  test('a path it cannot open fails at open, saying which and why', () => {
    const missing = path.join(root, 'no-such-dir', 'audit.log');
    assert.throws(() => AuditLog.open(missing), {
      message: new RegExp(`^cannot open audit log ${missing}: ENOENT: .*\\(want a file path, or - for stdout\\)$`),
    });
    assert.equal(fs.existsSync(path.dirname(missing)), false);
    assert.throws(() => AuditLog.open(root), { message: new RegExp(`^cannot open audit log ${root}: EISDIR`) });
  });

  test('"-" writes the lines to stdout', async () => {
    const mod = path.resolve(__dirname, '..', '..', 'src', 'access', 'audit.js');
    const script = `
      const { AuditLog } = require(${JSON.stringify(mod)});
      const a = AuditLog.open('-');
      a.write(${JSON.stringify(entry(1))});
      a.write(${JSON.stringify(entry(2, { decision: 'hidden' }))});
      a.close().then(() => { a.write(${JSON.stringify(entry(3))}); process.stderr.write(String(a.dropped)); });`;
    const r = await new Promise<{ err: Error | null; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, ['-e', script], (err, stdout, stderr) => resolve({ err, stdout, stderr }));
    });
    assert.equal(r.err, null, r.stderr);
    assert.equal(r.stdout, auditLine(entry(1)) + auditLine(entry(2, { decision: 'hidden' })));
    assert.equal(r.stderr, '1', 'the line written after close() is counted as dropped');
  });
});

describe('AuditLog: rotation', () => {
  test('rename (as logrotate does), reopen: earlier lines in the renamed file, later ones in a fresh file, none lost', async () => {
    const file = path.join(root, 'rotate.log');
    const a = AuditLog.open(file);
    // written back to back, so most are still buffered when the file is renamed and reopened
    for (let i = 0; i < 2_000; i++) a.write(entry(i));
    fs.renameSync(file, `${file}.1`);
    a.reopen();
    for (let i = 2_000; i < 4_000; i++) a.write(entry(i));
    a.reopen();
    for (let i = 4_000; i < 4_010; i++) a.write(entry(i));
    await a.close();
    assert.deepEqual(seq(`${file}.1`), range(0, 2_000));
    // the second reopen found the file in place: lines go on in the same file
    assert.deepEqual(seq(file), range(2_000, 2_010));
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.equal(a.dropped, 0);
  });

  test('reopen with no rename before it: one file, old lines still buffered first, then the new ones', async () => {
    const file = path.join(root, 'same.log');
    const a = AuditLog.open(file);
    let n = 0;
    for (let round = 0; round < 10; round++) {
      // some lines on their way to the disk, more buffered behind them, when the new stream opens
      for (let i = 0; i < 1_000; i++) a.write(entry(n++));
      await new Promise((r) => setImmediate(r));
      for (let i = 0; i < 1_000; i++) a.write(entry(n++));
      a.reopen();
      if (round % 3 === 0) a.reopen();
    }
    await a.close();
    assert.deepEqual(seq(file), range(0, n));
    assert.equal(a.dropped, 0);
  });

  test('a path it cannot reopen: logged, and lines keep going to the file open before', async () => {
    const dir = path.join(root, 'gone');
    fs.mkdirSync(dir);
    const file = path.join(dir, 'audit.log');
    const moved = path.join(root, 'gone.log');
    const a = AuditLog.open(file);
    const errors = await logErrors(async () => {
      a.write(entry(1));
      fs.renameSync(file, moved);
      fs.rmdirSync(dir);
      a.reopen();
      a.write(entry(2));
      await a.close();
    });
    assert.equal(errors.length, 1);
    assert.match(String(errors[0][0]), /audit log: cannot reopen; still writing to the file open before/);
    assert.match(JSON.stringify(errors[0][1]), /cannot open audit log .*ENOENT/);
    assert.deepEqual(seq(moved), [1, 2]);
    assert.equal(a.dropped, 0);
  });
});

describe('AuditLog: a failing disk', () => {
  test('writes to a full device do not throw: the lines are counted as dropped, the failure logged once', { skip: !fs.existsSync('/dev/full') && 'no /dev/full' }, async () => {
    const a = AuditLog.open('/dev/full');
    const errors = await logErrors(async () => {
      for (let i = 0; i < 50; i++) a.write(entry(i));
      await new Promise((r) => setTimeout(r, 50));
      // after the failure: counted at once, not written
      for (let i = 50; i < 60; i++) a.write(entry(i));
      await a.close();
    });
    assert.equal(a.dropped, 60);
    assert.equal(errors.length, 1, JSON.stringify(errors));
    assert.match(String(errors[0][0]), /audit log: cannot write; dropping lines until it is reopened/);
    assert.match(JSON.stringify(errors[0][1]), /"file":"\/dev\/full".*ENOSPC/);
    a.write(entry(60));
    assert.equal(a.dropped, 61, 'after close()');
  });

  test('reopen after a failure starts a fresh stream that writes again', { skip: !fs.existsSync('/dev/full') && 'no /dev/full' }, async () => {
    // /dev/full fails every time: the second failure is logged again (once per stream)
    const a = AuditLog.open('/dev/full');
    const errors = await logErrors(async () => {
      a.write(entry(1));
      await new Promise((r) => setTimeout(r, 50));
      a.reopen();
      a.write(entry(2));
      await a.close();
    });
    assert.equal(a.dropped, 2);
    assert.equal(errors.length, 2);
  });
});
