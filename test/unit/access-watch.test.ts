// PolicyHolder (src/access/watch.ts): the manager's live policy keeps the last
// good one through a bad edit, swaps on a good one, and follows the file when
// it is replaced (an editor's save, `mv`), not only when written in place.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import winston from 'winston';
import { log } from '../../src/log.js';
import { PolicyError, PolicyHolder, levelOn, type Policy } from '../../src/access/index.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'swarm-access-watch-'));

interface Line { level: string; message: string; [k: string]: unknown }
const lines: Line[] = [];
const capture = new winston.transports.Stream({
  stream: new Writable({ objectMode: true, write(info: Line, _enc, cb) { lines.push(info); cb(); } }),
});
before(() => {
  for (const t of log.transports) t.silent = true; // keep the test output readable
  log.add(capture);
});
after(() => {
  log.remove(capture);
  for (const t of log.transports) t.silent = false;
  fs.rmSync(root, { recursive: true, force: true });
});

const policy = (aliceDefault: string): string => `# live policy\nadmins: [root]\nusers:\n  alice: {default: ${aliceDefault}}\n`;

/** Replace the file the way editors and `mv` do: a new inode renamed over it. */
function replace(file: string, text: string): void {
  const tmp = `${file}.new`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}

/** The next 'change' event, or a rejection after `ms`. */
function nextChange(h: PolicyHolder, ms = 3000): Promise<Policy> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { h.off('change', on); reject(new Error(`no change event within ${ms} ms`)); }, ms);
    const on = (p: Policy): void => { clearTimeout(timer); resolve(p); };
    h.once('change', on);
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('PolicyHolder', () => {
  test('load: a bad or missing file is a PolicyError at start-up', () => {
    const bad = path.join(root, 'bad.yaml');
    fs.writeFileSync(bad, 'admins: root\n');
    assert.throws(() => PolicyHolder.load(bad), (e) => e instanceof PolicyError && e.message === `${bad}:1: admins must be a list of user names, not "root"`);
    assert.throws(() => PolicyHolder.load(path.join(root, 'absent.yaml')), { name: 'PolicyError', message: /absent\.yaml: cannot read the access policy: no such file$/ });
  });

  test('reload: a bad edit keeps the last good policy (logged), a good one swaps it (logged, change event)', () => {
    const file = path.join(root, 'reload.yaml');
    fs.writeFileSync(file, policy('view'));
    const h = PolicyHolder.load(file);
    const first = h.current;
    assert.equal(levelOn(first, 'alice', undefined), 'view');
    const changes: Policy[] = [];
    h.on('change', (p) => changes.push(p));
    lines.length = 0;

    fs.writeFileSync(file, policy('viewer'));
    assert.equal(h.reload('SIGHUP'), false);
    assert.equal(h.current, first);
    assert.equal(changes.length, 0);
    assert.equal(lines.length, 1);
    assert.equal(lines[0].level, 'error');
    assert.equal(lines[0].message,
      `access policy not reloaded, keeping the last good one: ${file}:4: bad level "viewer" for user "alice"'s default: want none, view, restricted or full`);
    assert.equal(lines[0].reason, 'SIGHUP');

    fs.rmSync(file);
    assert.equal(h.reload('SIGHUP'), false);
    assert.match(lines[1].message, /reload\.yaml: cannot read the access policy: no such file$/);
    assert.equal(h.current, first);

    fs.writeFileSync(file, policy('full'));
    assert.equal(h.reload('SIGHUP'), true);
    assert.equal(levelOn(h.current, 'alice', undefined), 'full');
    assert.deepEqual(changes, [h.current]);
    assert.deepEqual(
      { level: lines[2].level, message: lines[2].message, reason: lines[2].reason, admins: lines[2].admins, users: lines[2].users, teams: lines[2].teams, revoked: lines[2].revoked },
      { level: 'info', message: 'access policy reloaded', reason: 'SIGHUP', admins: 1, users: 1, teams: 0, revoked: 0 },
    );
    assert.equal(lines[2].file, file);
    h.close();
  });

  test('watch: an atomic-rename edit is picked up; a bad one is logged once and kept out; a no-op is not a reload', async () => {
    const dir = fs.mkdtempSync(path.join(root, 'watch-'));
    const file = path.join(dir, 'policy.yaml');
    fs.writeFileSync(file, policy('none'));
    const h = PolicyHolder.load(file).watch();
    try {
      lines.length = 0;
      // an unrelated file in the same directory is not the policy
      fs.writeFileSync(path.join(dir, 'other.yaml'), 'x');
      let changed = nextChange(h);
      replace(file, policy('restricted'));
      const p = await changed;
      assert.equal(levelOn(p, 'alice', undefined), 'restricted');
      assert.equal(h.current, p);
      assert.equal(lines.filter((l) => l.message === 'access policy reloaded').length, 1);
      assert.equal(lines.at(-1)?.reason, 'file changed');

      // the same text again (touch, a save without changes): nothing happens
      replace(file, policy('restricted'));
      fs.utimesSync(file, new Date(), new Date());
      await sleep(400);
      assert.equal(lines.length, 1, JSON.stringify(lines));

      // a bad edit: one error line however many events it makes, the good policy stays
      replace(file, policy('everything'));
      fs.utimesSync(file, new Date(), new Date());
      await sleep(400);
      assert.equal(h.current, p);
      const errors = lines.filter((l) => l.level === 'error');
      assert.equal(errors.length, 1, JSON.stringify(lines));
      assert.match(errors[0].message, /policy\.yaml:4: bad level "everything"/);

      // written in place rather than replaced: also seen
      changed = nextChange(h);
      fs.writeFileSync(file, policy('view'));
      assert.equal(levelOn(await changed, 'alice', undefined), 'view');
    } finally {
      h.close();
    }
  });

  test('watch through a symlink whose target is swapped (a Kubernetes config map)', async () => {
    const dir = fs.mkdtempSync(path.join(root, 'link-'));
    fs.mkdirSync(path.join(dir, 'v1'));
    fs.mkdirSync(path.join(dir, 'v2'));
    fs.writeFileSync(path.join(dir, 'v1', 'policy.yaml'), policy('none'));
    fs.writeFileSync(path.join(dir, 'v2', 'policy.yaml'), policy('full'));
    fs.symlinkSync('v1', path.join(dir, '..data'));
    fs.symlinkSync(path.join('..data', 'policy.yaml'), path.join(dir, 'policy.yaml'));
    const h = PolicyHolder.load(path.join(dir, 'policy.yaml')).watch();
    try {
      assert.equal(levelOn(h.current, 'alice', undefined), 'none');
      const changed = nextChange(h);
      fs.symlinkSync('v2', path.join(dir, '..data_tmp'));
      fs.renameSync(path.join(dir, '..data_tmp'), path.join(dir, '..data'));
      assert.equal(levelOn(await changed, 'alice', undefined), 'full');
    } finally {
      h.close();
    }
  });
});
