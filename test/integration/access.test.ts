// Issue 17 (per-user access control) on real engines through the docker CLI 28:
// a --tlsverify manager with --access-policy and --audit-log in front of two
// dockerd engines; users are the CNs of client certificates issued from the
// cluster's CA. Every user x container x operation is checked against a small
// table of its own (not src/access/table.ts): below view the object is hidden
// (the answer of a missing one), below the level the operation needs 403,
// else it works. Then listings, events, info, creates, networks, volumes,
// images, prune, build, the exec start check, policy hot reload, revocation
// and the audit log. Push goes to a local registry (Debian's docker-registry)
// on 127.0.0.1:23563, which the engines reach over plain http (127.0.0.0/8 is
// an insecure registry to dockerd without any flag).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFile } from 'node:child_process';
import { api, type ApiResponse } from '../../src/devcluster/util.js';
import { managerMainJs } from '../../src/devcluster/manager.js';
import { clusterBlock, skipReason, withCluster, type DockerOptions, type DockerResult, type TestCluster } from '../lib/cluster.js';
import { eventually } from '../lib/wait.js';
import { registrySkipReason, startRegistry, type TestRegistry } from '../lib/registry.js';

const BLOCK = clusterBlock(1); // slots 10-11, engines 23700-23701, manager 23750 (shared with spine-cli.test.ts, never together)
const T = { timeout: 180_000 };
const ACCESS = 'com.docker.swarm.access.label';
const OWNER = 'com.docker.swarm.access.owner';
const REGISTRY_PORT = 23563; // test/lib/README.md (23561 is images.test.ts's, 23562 build.test.ts's)
const REG = `127.0.0.1:${REGISTRY_PORT}`;
const REG_USER = 'user';
const REG_PASS = 'pass';
const NO_REGISTRY = registrySkipReason();
const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

// ---- the policy and what it means, written out by hand -------------------------

const POLICY = `# issue 17 integration test
admins: [root]
users:
  alice: {default: restricted}
  carol: {default: view}
  bob: {default: none}
teams:
  red: {members: [alice, carol], grants: {red: full, shared: restricted}}
  blue: {members: [bob], grants: {blue: full, shared: view}}
`;

type Level = 'none' | 'view' | 'restricted' | 'full';
const RANK: Record<Level, number> = { none: 0, view: 1, restricted: 2, full: 3 };
const USERS = ['alice', 'carol', 'bob', 'root'] as const;
type User = (typeof USERS)[number] | 'eve' | 'frank';
const CONTAINERS = ['red-c', 'blue-c', 'shared-c', 'plain-c'] as const;
type Cname = (typeof CONTAINERS)[number];
const LABEL_OF: Record<Cname, string | undefined> = { 'red-c': 'red', 'blue-c': 'blue', 'shared-c': 'shared', 'plain-c': undefined };

/** Each user's level on each container (root created them all). */
const LEVEL: Record<(typeof USERS)[number], Record<Cname, Level>> = {
  alice: { 'red-c': 'full', 'blue-c': 'none', 'shared-c': 'restricted', 'plain-c': 'restricted' },
  carol: { 'red-c': 'full', 'blue-c': 'none', 'shared-c': 'restricted', 'plain-c': 'view' },
  bob: { 'red-c': 'none', 'blue-c': 'full', 'shared-c': 'view', 'plain-c': 'none' },
  root: { 'red-c': 'full', 'blue-c': 'full', 'shared-c': 'full', 'plain-c': 'full' },
};

type Outcome = 'ok' | 'denied' | 'hidden';
const expected = (have: Level, need: Level): Outcome => (have === 'none' ? 'hidden' : RANK[have] < RANK[need] ? 'denied' : 'ok');

// ---- the operations, each with the level it needs (independent of src/access/table.ts) ----

interface Op {
  name: string;
  need: Level;
  /** The CLI arguments on container `ref` for `user` (files in `tmp`). */
  args: (ref: string, user: string) => string[];
  timeoutMs?: number;
  /** Success is the CLI still running when the timeout kills it (attach). */
  blocks?: boolean;
}

let tmp = '';
let inFile = '';

/** Read-only operations, run concurrently while the container runs; exec and cp-in change nothing anyone checks. */
const READ_OPS: Op[] = [
  { name: 'inspect', need: 'view', args: (r) => ['container', 'inspect', r] },
  { name: 'logs', need: 'view', args: (r) => ['logs', r] },
  { name: 'top', need: 'view', args: (r) => ['top', r] },
  { name: 'diff', need: 'view', args: (r) => ['diff', r] },
  { name: 'export', need: 'view', args: (r, u) => ['export', '-o', path.join(tmp, `export-${u}-${r}.tar`), r] },
  { name: 'cp-out', need: 'view', args: (r) => ['cp', `${r}:/etc/hostname`, '-'] },
  { name: 'exec', need: 'full', args: (r) => ['exec', r, 'true'] },
  { name: 'cp-in', need: 'full', args: (r) => ['cp', inFile, `${r}:/tmp/`] },
];

/** Operations that change the container's state, one after the other, ending with it running. */
const CHAIN_OPS: Op[] = [
  { name: 'pause', need: 'restricted', args: (r) => ['pause', r] },
  { name: 'unpause', need: 'restricted', args: (r) => ['unpause', r] },
  { name: 'stop', need: 'restricted', args: (r) => ['stop', '-t', '0', r] },
  { name: 'start', need: 'restricted', args: (r) => ['start', r] },
  { name: 'restart', need: 'restricted', args: (r) => ['restart', '-t', '0', r] },
  { name: 'kill', need: 'restricted', args: (r) => ['kill', r] },
  { name: 'wait', need: 'restricted', args: (r) => ['wait', r] },
  { name: 'start again', need: 'restricted', args: (r) => ['start', r] },
  { name: 'update', need: 'restricted', args: (r) => ['update', '--restart', 'no', r] },
  // renamed back at once when it worked (below)
  { name: 'rename', need: 'restricted', args: (r) => ['rename', r, `${r}-rn`] },
  { name: 'attach', need: 'restricted', args: (r) => ['attach', '--no-stdin', r], timeoutMs: 4000, blocks: true },
];

const RM_OP: Op = { name: 'rm', need: 'restricted', args: (r) => ['rm', r] };

describe('per-user access control through the docker CLI (2 engines)', { skip: skipReason() }, () => {
  let c: TestCluster;
  let reg: TestRegistry | undefined;
  let policyFile = '';
  let auditFile = '';
  const certs: Record<string, string> = {};
  const ids: Record<string, string> = {};
  let t0 = 0;
  /** The answer of each operation on a container that does not exist (as root), keyed by op name. */
  const ghost = new Map<string, DockerResult>();
  const GHOST = 'ghost-c';

  /** docker CLI 28 as `user` (its own certificate). */
  const as = (user: User, args: string[], o: DockerOptions = {}): Promise<DockerResult> =>
    c.docker(args, { certPath: certs[user], ...o });

  async function ok(user: User, args: string[], o: DockerOptions = {}): Promise<string> {
    const r = await as(user, args, o);
    assert.equal(r.code, 0, `${user}: docker ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
    return r.stdout;
  }

  /** A raw API request with `user`'s certificate. */
  function raw(user: User, method: string, p: string, body?: unknown): Promise<ApiResponse> {
    const d = certs[user];
    return api(c.managerAddr, method, p, {
      body: body === undefined ? undefined : JSON.stringify(body),
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      tls: { ca: fs.readFileSync(path.join(d, 'ca.pem')), cert: fs.readFileSync(path.join(d, 'cert.pem')), key: fs.readFileSync(path.join(d, 'key.pem')) },
    });
  }

  const names = (out: string): string[] => out.split('\n').map((l) => l.trim()).filter(Boolean).map((n) => n.slice(n.lastIndexOf('/') + 1)).sort();
  /** A CLI error with the reference made neutral, and without the CLI's own racy log lines (cp's tar writer). */
  const norm = (s: string, ref: string): string =>
    s.split(ref).join('REF').replace(/\[test helper\].*/g, '').replace(/^time=".*" level=\w+ msg=.*$/gm, '').trim();

  function writePolicy(text: string): void {
    const t = `${policyFile}.tmp`;
    fs.writeFileSync(t, text);
    fs.renameSync(t, policyFile);
  }

  /** Run fns with at most n at a time (a 2-core machine). */
  async function pool<R>(n: number, fns: Array<() => Promise<R>>): Promise<R[]> {
    const out: R[] = new Array(fns.length);
    let next = 0;
    await Promise.all(Array.from({ length: Math.min(n, fns.length) }, async () => {
      while (next < fns.length) {
        const i = next++;
        out[i] = await fns[i]();
      }
    }));
    return out;
  }

  /** What one operation's answer was, judged against the expectation; '' when as expected. */
  async function check(user: User, op: Op, ref: string, want: Outcome): Promise<string> {
    const r = await as(user, op.args(ref, user), { timeoutMs: op.timeoutMs ?? 60_000 });
    const killed = r.stderr.includes('[test helper]');
    let got: string;
    if (op.blocks ? killed && !/Error|error/.test(r.stderr.replace(/\[test helper\].*/, '')) : r.code === 0) got = 'ok';
    else if (new RegExp(`access denied: ${user} needs ${op.need} on container (${ref}|${ids[ref] ?? '-'})\\b`).test(r.stderr)) got = 'denied';
    // a hijack refused before the upgrade: CLI 28 shows only the status (the message is checked through the API below)
    else if (op.blocks && /unable to upgrade to tcp, received 403/.test(r.stderr)) got = 'denied';
    else if (ghost.has(op.name) && r.code !== 0 && norm(r.stderr, ref) === norm(ghost.get(op.name)!.stderr, GHOST)) got = 'hidden';
    else got = 'other';
    if (got === want) {
      if (op.name === 'rename' && got === 'ok') {
        const back = await as(user, ['rename', `${ref}-rn`, ref]);
        if (back.code !== 0) return `${user} rename ${ref}-rn back to ${ref}: exit ${back.code}: ${back.stderr.trim()}`;
      }
      return '';
    }
    return `${user} ${op.name} ${ref}: expected ${want}, got ${got} (exit ${r.code}): ${r.stderr.trim().slice(0, 300)}` +
      (want === 'hidden' ? ` [missing container: ${ghost.get(op.name)?.stderr.trim().slice(0, 300)}]` : '');
  }

  /** `swarm certs bundle USER --host ...`: the directory, its zip and the policy line it prints. */
  async function bundleFor(user: string): Promise<string> {
    const host = `tcp://127.0.0.1:${BLOCK.managerPort}`;
    const out = await new Promise<string>((resolve, reject) => execFile(process.execPath,
      [managerMainJs(), 'certs', 'bundle', user, '--dir', c.tls!.certsDir, '--host', host],
      (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout))));
    const dir = path.join(c.tls!.certsDir, user);
    assert.match(out, new RegExp(`^export DOCKER_CERT_PATH='?${dir.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}'?$`, 'm'));
    assert.match(out, new RegExp(`${user}: \\{default: none\\}`), 'the policy line adding the user');
    assert.ok(fs.existsSync(`${dir}.zip`), 'the zip beside the directory');
    assert.equal(fs.statSync(path.join(dir, 'key.pem')).mode & 0o777, 0o600);
    return dir;
  }

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'swarm-access-it-'));
    policyFile = path.join(tmp, 'policy.yaml');
    auditFile = path.join(tmp, 'audit.log');
    inFile = path.join(tmp, 'in.txt');
    fs.writeFileSync(inFile, 'copied in\n');
    fs.writeFileSync(policyFile, POLICY);
    t0 = Math.floor(Date.now() / 1000) - 1;
    if (!NO_REGISTRY) reg = await startRegistry({ port: REGISTRY_PORT, user: REG_USER, password: REG_PASS });
    c = await withCluster({ ...BLOCK, nodes: 2, tls: true, managerArgs: ['--access-policy', policyFile, '--audit-log', auditFile] });
    // each user's bundle as an admin makes it: `swarm certs bundle USER` with the cluster's CA
    for (const u of [...USERS, 'eve', 'frank']) certs[u] = await bundleFor(u);
    // The manager answers /_ping before it has validated its engines.
    const info = await eventually(() => as('root', ['info']), (r) => r.stdout.match(/└ Status: Healthy/g)?.length === 2, 30_000, 200);
    assert.equal(info.stdout.match(/└ Status: Healthy/g)?.length, 2, info.stdout + info.stderr);
    await Promise.all(CONTAINERS.map((n) => ok('root', [
      'run', '-d', '--name', n, ...(LABEL_OF[n] ? ['--label', `${ACCESS}=${LABEL_OF[n]}`] : []),
      // red-c joins a network made on node-0 later
      ...(n === 'red-c' ? ['-e', 'constraint:node==node-0'] : []), 'busybox', 'sleep', '3600'])));
    for (const n of CONTAINERS) ids[n] = (await ok('root', ['container', 'inspect', '-f', '{{.Id}}', n])).trim();
    // the answers for a container that does not exist, to compare hidden ones with
    await pool(6, [...READ_OPS, ...CHAIN_OPS, RM_OP].map((op) => async () => { ghost.set(op.name, await as('root', op.args(GHOST, 'root'))); }));
    for (const [name, r] of ghost) assert.notEqual(r.code, 0, `${name} on a missing container worked: ${r.stdout}`);
  }, { timeout: 240_000 });

  after(async () => {
    await c?.stop();
    await reg?.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  }, { timeout: 120_000 });

  // ---- listings --------------------------------------------------------------

  test('docker ps -a and docker info show each user exactly the containers it may see', T, async () => {
    for (const u of USERS) {
      const want = CONTAINERS.filter((n) => LEVEL[u][n] !== 'none').sort();
      const ps = await ok(u, ['ps', '-a', '--format', '{{.Names}}']);
      assert.deepEqual(names(ps), want, `${u}: docker ps -a`);
      const psLong = await ok(u, ['ps', '-a', '--no-trunc']);
      for (const n of CONTAINERS) if (LEVEL[u][n] === 'none') {
        assert.ok(!new RegExp(`[\\s/]${n}\\s`).test(psLong) && !psLong.includes(ids[n]), `${u} sees ${n} in docker ps -a:\n${psLong}`);
      }
      const count = Number((await ok(u, ['info', '--format', '{{.Containers}}'])).trim());
      assert.equal(count, want.length, `${u}: docker info Containers`);
      const info = await ok(u, ['info']);
      const perNode = [...info.matchAll(/└ Containers: (\d+) /g)].reduce((s, m) => s + Number(m[1]), 0);
      assert.equal(perNode, want.length, `${u}: per-node container counts in docker info:\n${info}`);
    }
  });

  // ---- the matrix --------------------------------------------------------------

  for (const u of USERS) {
    test(`matrix: ${u} x 4 containers x ${READ_OPS.length + CHAIN_OPS.length} operations`, T, async () => {
      const reads = CONTAINERS.flatMap((n) => READ_OPS.map((op) => () => check(u, op, n, expected(LEVEL[u][n], op.need))));
      const problems = (await pool(8, reads)).filter(Boolean);
      const chains = await Promise.all(CONTAINERS.map(async (n) => {
        const out: string[] = [];
        for (const op of CHAIN_OPS) out.push(await check(u, op, n, expected(LEVEL[u][n], op.need)));
        return out;
      }));
      problems.push(...chains.flat().filter(Boolean));
      assert.deepEqual(problems, []);
      // every container is back as it was: running, under its own name
      const ps = await ok('root', ['ps', '--format', '{{.Names}}']);
      for (const n of CONTAINERS) assert.ok(names(ps).includes(n), `${n} not running after ${u}'s turn:\n${ps}`);
    });
  }

  test('rm: each user on its own fresh copies of the four containers', T, async () => {
    const copies = USERS.flatMap((u) => CONTAINERS.map((n) => ({ u, n, copy: `rm-${n}-${u}` })));
    await pool(6, copies.map(({ n, copy }) => () => ok('root', ['create', '--name', copy, ...(LABEL_OF[n] ? ['--label', `${ACCESS}=${LABEL_OF[n]}`] : []), 'busybox', 'true'])));
    for (const { copy } of copies) ids[copy] = (await ok('root', ['container', 'inspect', '-f', '{{.Id}}', copy])).trim();
    const problems = (await pool(6, copies.map(({ u, n, copy }) => () => check(u, RM_OP, copy, expected(LEVEL[u][n], 'restricted'))))).filter(Boolean);
    assert.deepEqual(problems, []);
    const left = names(await ok('root', ['ps', '-a', '--filter', 'name=rm-', '--format', '{{.Names}}']));
    assert.deepEqual(left, copies.filter(({ u, n }) => expected(LEVEL[u][n], 'restricted') !== 'ok').map((x) => x.copy).sort());
    if (left.length) await ok('root', ['rm', ...left]);
  });

  // ---- exec start is checked on its own -------------------------------------------

  const execStarts: Array<{ user: User; id: string; status: number }> = [];

  test('exec start: checked on the exec instance (404 hidden, 403 too low, 200 allowed); exec inspect at view', T, async () => {
    const mk = async (cname: Cname): Promise<string> => {
      const r = await raw('root', 'POST', `/containers/${cname}/exec`, { Cmd: ['true'], AttachStdout: false, AttachStderr: false });
      assert.equal(r.status, 201, r.body);
      return JSON.parse(r.body).Id as string;
    };
    const redExec = await mk('red-c');
    const sharedExec = await mk('shared-c');
    const start = async (user: User, id: string): Promise<ApiResponse> => {
      const r = await raw(user, 'POST', `/exec/${id}/start`, { Detach: true, Tty: false });
      execStarts.push({ user, id, status: r.status });
      return r;
    };
    // bob has none on red-c: the exec instance does not exist for him
    let r = await start('bob', redExec);
    assert.equal(r.status, 404, r.body);
    assert.equal(JSON.parse(r.body).message, `No such exec instance: ${redExec}`);
    // alice has restricted on shared-c: she sees it, but exec start needs full
    r = await start('alice', sharedExec);
    assert.equal(r.status, 403, r.body);
    assert.equal(JSON.parse(r.body).message, `access denied: alice needs full on exec ${sharedExec}`);
    // carol has full on red-c
    r = await start('carol', redExec);
    assert.equal(r.status, 200, r.body);
    // exec inspect needs view: bob sees shared-c's, not red-c's
    r = await raw('bob', 'GET', `/exec/${sharedExec}/json`);
    assert.equal(r.status, 200, r.body);
    r = await raw('bob', 'GET', `/exec/${redExec}/json`);
    assert.equal(r.status, 404, r.body);
    assert.equal(JSON.parse(r.body).message, `No such exec instance: ${redExec}`);
    r = await raw('carol', 'GET', `/exec/${redExec}/json`);
    assert.equal(r.status, 200, r.body);
    assert.equal(JSON.parse(r.body).ExitCode, 0, r.body);
    // cp into a container (PUT archive) needs full; CLI 28 shows a hidden or missing one only as "no such directory"
    r = await raw('bob', 'PUT', '/containers/red-c/archive?path=/tmp', '');
    assert.equal(r.status, 404, r.body);
    assert.equal(JSON.parse(r.body).message, 'No such container: red-c');
    r = await raw('alice', 'PUT', '/containers/shared-c/archive?path=/tmp', '');
    assert.equal(r.status, 403, r.body);
    assert.equal(JSON.parse(r.body).message, 'access denied: alice needs full on container shared-c');
    // attach is refused before the upgrade: CLI 28 shows only "received 403", so the message is checked here
    r = await raw('carol', 'POST', '/containers/plain-c/attach?stream=1&stdout=1');
    assert.equal(r.status, 403, r.body);
    assert.equal(JSON.parse(r.body).message, 'access denied: carol needs restricted on container plain-c');
    r = await raw('bob', 'POST', '/containers/plain-c/attach?stream=1&stdout=1');
    assert.equal(r.status, 404, r.body);
    assert.equal(JSON.parse(r.body).message, 'No such container: plain-c');
  });

  // ---- events ---------------------------------------------------------------------

  test('docker events: bob gets none of red-c\'s (nor plain-c\'s), but blue-c\'s', T, async () => {
    const until = String(Math.floor(Date.now() / 1000) + 1);
    const evs = async (u: User) => (await ok(u, ['events', '--since', String(t0), '--until', until, '--format', '{{json .}}']))
      .split('\n').filter(Boolean).map((l) => JSON.parse(l));
    const names = (list: any[]) => new Set(list.filter((e) => e.Type === 'container').map((e) => String(e.Actor?.Attributes?.name ?? '')));
    const bob = await evs('bob');
    const seen = names(bob);
    for (const n of ['red-c', 'red-c-rn', 'plain-c', 'plain-c-rn']) assert.ok(!seen.has(n), `bob got an event of ${n}`);
    for (const e of bob) assert.ok(![ids['red-c'], ids['plain-c']].includes(e.Actor?.ID ?? e.id), `bob got ${JSON.stringify(e)}`);
    assert.ok(seen.has('blue-c') && seen.has('shared-c'), `bob's events name ${[...seen].join(', ')}`);
    const alice = names(await evs('alice'));
    assert.ok(!alice.has('blue-c') && alice.has('red-c'), `alice's events name ${[...alice].join(', ')}`);
    const root = names(await evs('root'));
    for (const n of CONTAINERS) assert.ok(root.has(n), `root misses events of ${n}`);
  });

  // ---- creates --------------------------------------------------------------------

  test('create: owner label set by the manager, dangerous options need full, the access label needs restricted', T, async () => {
    const id = (await ok('alice', ['run', '-d', '--name', 'alice-run', '--label', `${ACCESS}=red`, 'busybox', 'sleep', '60'])).trim();
    assert.match(id, /^[0-9a-f]{64}$/);
    assert.equal((await ok('root', ['container', 'inspect', '-f', `{{index .Config.Labels "${OWNER}"}}`, 'alice-run'])).trim(), 'alice');
    let r = await as('alice', ['run', '-d', '--privileged', '--label', `${ACCESS}=shared`, 'busybox', 'sleep', '60']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /access denied: alice needs full on access label shared to create with Privileged/);
    r = await as('bob', ['run', '-d', '--label', `${ACCESS}=blue`, '--label', `${OWNER}=root`, 'busybox', 'sleep', '60']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, new RegExp(`label ${OWNER.replace(/\./g, '\\.')} is set by the manager`));
    r = await as('bob', ['run', '-d', '--label', `${ACCESS}=red`, 'busybox', 'sleep', '60']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /access denied: bob needs restricted on access label red/);
    r = await as('bob', ['run', '-d', 'busybox', 'sleep', '60']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /access denied: bob needs restricted on containers without com\.docker\.swarm\.access\.label/);
    // none of the refused ones exists
    const all = names(await ok('root', ['ps', '-a', '--format', '{{.Names}}']));
    assert.deepEqual(all, [...CONTAINERS, 'alice-run'].sort());
    // alice owns hers, so bob (none on red) does not see it and carol (full on red) does
    assert.ok(!names(await ok('bob', ['ps', '-a', '--format', '{{.Names}}'])).includes('alice-run'));
    assert.ok(names(await ok('carol', ['ps', '-a', '--format', '{{.Names}}'])).includes('alice-run'));
    await ok('alice', ['rm', '-f', 'alice-run']);
  });

  // ---- networks and volumes --------------------------------------------------------------

  test('networks and volumes: hidden, listed and changed by level', T, async () => {
    await ok('root', ['network', 'create', '--label', `${ACCESS}=red`, 'node-0/net-red']);
    await ok('root', ['volume', 'create', '--label', `${ACCESS}=blue`, 'vol-blue']);
    let r = await as('bob', ['network', 'inspect', 'net-red']);
    assert.notEqual(r.code, 0);
    const missing = await as('root', ['network', 'inspect', 'net-ghost']);
    assert.match(r.stderr, /network net-red not found/);
    assert.equal(norm(r.stderr, 'net-red'), norm(missing.stderr, 'net-ghost'), 'a hidden network answers as a missing one');
    assert.match(await ok('alice', ['network', 'inspect', '-f', '{{.Name}}', 'net-red']), /net-red/);
    const nets = async (u: User) => names(await ok(u, ['network', 'ls', '--format', '{{.Name}}']));
    assert.ok((await nets('alice')).includes('net-red'));
    assert.ok((await nets('carol')).includes('net-red'));
    assert.ok(!(await nets('bob')).includes('net-red'));
    // bob's default is none: not even the engines' default networks (unlabelled)
    assert.deepEqual(await nets('bob'), []);
    assert.ok((await nets('root')).includes('net-red'));
    const vols = async (u: User) => names(await ok(u, ['volume', 'ls', '--format', '{{.Name}}']));
    assert.ok((await vols('bob')).includes('vol-blue'));
    assert.ok((await vols('root')).includes('vol-blue'));
    assert.ok(!(await vols('alice')).includes('vol-blue'));
    assert.ok(!(await vols('carol')).includes('vol-blue'));
    // connect: alice has full on both; she does not see blue-c; bob does not see net-red
    await ok('alice', ['network', 'connect', 'net-red', 'red-c']);
    assert.match(await ok('root', ['container', 'inspect', '-f', '{{json .NetworkSettings.Networks}}', 'red-c']), /"net-red"/);
    r = await as('alice', ['network', 'connect', 'net-red', 'blue-c']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /No such container: blue-c/);
    r = await as('bob', ['network', 'connect', 'net-red', 'blue-c']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /network net-red not found/);
    // carol (view on plain-c) may not connect it
    r = await as('carol', ['network', 'connect', 'net-red', 'plain-c']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /access denied: carol needs restricted on container plain-c/);
    // volume rm: alice and carol do not see vol-blue; bob has full on it
    const noVol = await as('root', ['volume', 'rm', 'vol-ghost']);
    for (const u of ['alice', 'carol'] as const) {
      r = await as(u, ['volume', 'rm', 'vol-blue']);
      assert.notEqual(r.code, 0, `${u} removed vol-blue`);
      assert.match(r.stderr, /get vol-blue: no such volume/, `${u}: ${r.stderr}`);
      assert.equal(norm(r.stderr, 'vol-blue'), norm(noVol.stderr, 'vol-ghost'), 'a hidden volume answers as a missing one');
    }
    await ok('bob', ['volume', 'rm', 'vol-blue']);
    assert.ok(!(await vols('root')).includes('vol-blue'));
  });

  // ---- images ------------------------------------------------------------------------

  test('images: tag and rmi need full on the image\'s access label, the default level, or ownership', T, async () => {
    // an image with the access label red, built by root
    await ok('root', ['build', '-t', 'red-img:1', '-'], { input: `FROM busybox\nLABEL ${ACCESS}=red\n`, env: { DOCKER_BUILDKIT: '0' }, timeoutMs: 120_000 });
    // images are everyone's to use
    for (const u of USERS) assert.match(await ok(u, ['image', 'inspect', '-f', `{{index .Config.Labels "${ACCESS}"}}`, 'red-img:1']), /red/);
    await ok('alice', ['tag', 'red-img:1', 'alice-red:1']);
    await ok('carol', ['tag', 'red-img:1', 'carol-red:1']);
    // busybox is unlabelled: alice's default is restricted, carol's view
    let r = await as('alice', ['tag', 'busybox', 'alice-img:1']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /access denied: alice needs full on image busybox/);
    r = await as('carol', ['rmi', 'busybox']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /access denied: carol needs full on image busybox/);
    await ok('root', ['tag', 'busybox', 'root-img:1']);
    r = await as('alice', ['rmi', 'root-img:1']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /access denied: alice needs full on image root-img:1/);
    // alice removes what she may
    await ok('alice', ['rmi', 'alice-red:1']);
    await ok('alice', ['rmi', 'carol-red:1']);
    await ok('root', ['rmi', 'root-img:1']);
  });


  test('build: alice builds and owns alice-built:1; bob cannot remove it', T, async () => {
    const out = await ok('alice', ['build', '-t', 'alice-built:1', '-'], { input: 'FROM busybox\nRUN echo built > /built\n', env: { DOCKER_BUILDKIT: '0' }, timeoutMs: 120_000 });
    assert.match(out, /Successfully tagged alice-built:1/);
    // bob: the image is visible to all (inspect works) but he has none on unlabelled images
    assert.match(await ok('bob', ['image', 'inspect', '-f', '{{.Id}}', 'alice-built:1']), /^sha256:/);
    // images are never hidden: a level too low is a 403, not a 404 (fd0b20c)
    const r = await as('bob', ['rmi', 'alice-built:1']);
    assert.notEqual(r.code, 0, 'bob removed alice-built:1');
    assert.match(r.stderr, /access denied: bob needs full on image alice-built:1/);
    // and on red-img:1 (none on red), which he can inspect too
    const t = await as('bob', ['tag', 'red-img:1', 'bob-red:1']);
    assert.notEqual(t.code, 0, 'bob tagged red-img:1');
    assert.match(t.stderr, /access denied: bob needs full on image red-img:1/);
    // carol (view on unlabelled) sees it, so 403
    const rc = await as('carol', ['rmi', 'alice-built:1']);
    assert.notEqual(rc.code, 0);
    assert.match(rc.stderr, /access denied: carol needs full on image alice-built:1/);
    await ok('alice', ['rmi', 'alice-built:1']);
    const gone = await as('root', ['image', 'inspect', 'alice-built:1']);
    assert.notEqual(gone.code, 0);
  });

  // Ownership is per name: one image ID may carry other users' names too.
  test('build FROM busybox alone: owning alice-same:1 (busybox\'s own image ID) does not give alice busybox', T, async () => {
    await ok('alice', ['build', '-t', 'alice-same:1', '-'], { input: 'FROM busybox\n', env: { DOCKER_BUILDKIT: '0' }, timeoutMs: 120_000 });
    try {
      const r = await as('alice', ['tag', 'busybox', 'alice-img:2']);
      if (r.code === 0) await ok('root', ['rmi', 'alice-img:2']);
      assert.notEqual(r.code, 0, 'alice tagged busybox after building FROM busybox');
      assert.match(r.stderr, /access denied: alice needs full on image busybox/);
    } finally {
      await ok('alice', ['rmi', 'alice-same:1']);
    }
  });

  test('push: alice pushes the image she built; bob and carol get a 403 naming the tag pushed; root may push', { ...T, skip: NO_REGISTRY }, async () => {
    const app = `${REG}/alice/app:1`;
    const tags = async (): Promise<string[]> => {
      const r = await fetch(`http://${REG}/v2/alice/app/tags/list`, { headers: { Authorization: `Basic ${Buffer.from(`${REG_USER}:${REG_PASS}`).toString('base64')}` } });
      return r.status === 200 ? ((await r.json()) as { tags: string[] | null }).tags ?? [] : [];
    };
    // /auth is open; the CLI's config (and so the login) is shared by all four users
    assert.match(await ok('alice', ['login', REG, '-u', REG_USER, '--password-stdin'], { input: REG_PASS }), /Login Succeeded/);
    // alice cannot tag busybox (unlabelled, her default is restricted), but she owns what she builds
    await ok('alice', ['build', '-t', app, '-'], { input: 'FROM busybox\nRUN echo alice > /app\n', env: { DOCKER_BUILDKIT: '0' }, timeoutMs: 120_000 });
    try {
      // bob (none on unlabelled images) and carol (view) first: nothing reaches the registry
      for (const u of ['bob', 'carol'] as const) {
        const r = await as(u, ['push', app], { timeoutMs: 120_000 });
        assert.notEqual(r.code, 0, `${u} pushed ${app}`);
        assert.match(r.stderr, new RegExp(`access denied: ${u} needs full on image ${esc(app)}$`, 'm'), `${u}: ${r.stderr}`);
      }
      assert.deepEqual(await tags(), []);
      assert.match(await ok('alice', ['push', app], { timeoutMs: 120_000 }), /1: digest: sha256:[0-9a-f]{64}/);
      assert.deepEqual(await tags(), ['1']);
      // bob still may not, now that the tag is in the registry
      const r = await as('bob', ['push', app], { timeoutMs: 120_000 });
      assert.notEqual(r.code, 0, `bob pushed ${app}`);
      assert.match(r.stderr, new RegExp(`access denied: bob needs full on image ${esc(app)}$`, 'm'));
      // root: the same tag again, and a name of its own
      await ok('root', ['push', app], { timeoutMs: 120_000 });
      await ok('root', ['tag', app, `${REG}/alice/app:root`]);
      await ok('root', ['push', `${REG}/alice/app:root`], { timeoutMs: 120_000 });
      assert.deepEqual((await tags()).sort(), ['1', 'root']);
      await ok('root', ['rmi', `${REG}/alice/app:root`]);
    } finally {
      await ok('alice', ['rmi', app]);
    }
  });

  // ---- prune ------------------------------------------------------------------------

  test('container prune: alice removes only stopped containers she owns or has full on', T, async () => {
    await ok('root', ['create', '--name', 'prune-red', '--label', `${ACCESS}=red`, 'busybox', 'true']);
    await ok('root', ['create', '--name', 'prune-blue', '--label', `${ACCESS}=blue`, 'busybox', 'true']);
    await ok('root', ['create', '--name', 'prune-shared', '--label', `${ACCESS}=shared`, 'busybox', 'true']);
    await ok('root', ['create', '--name', 'prune-plain', 'busybox', 'true']);
    await ok('alice', ['create', '--name', 'prune-alice', '--label', `${ACCESS}=shared`, 'busybox', 'true']);
    const out = await ok('alice', ['container', 'prune', '-f']);
    assert.match(out, /Total reclaimed space/);
    const left = names(await ok('root', ['ps', '-a', '--filter', 'name=prune-', '--format', '{{.Names}}']));
    assert.deepEqual(left, ['prune-blue', 'prune-plain', 'prune-shared']);
    // the running ones are untouched
    const running = names(await ok('root', ['ps', '--format', '{{.Names}}']));
    for (const n of CONTAINERS) assert.ok(running.includes(n), `${n} gone after prune`);
    await ok('root', ['rm', ...left]);
  });

  test('network and volume prune: bob removes the unused blue ones, never red; alice the red ones, never blue', T, async () => {
    // API 1.42 prunes only anonymous volumes unless all=true (CLI 28's -a, refused against an older API)
    const api = (await ok('root', ['version', '--format', '{{.Server.APIVersion}}'])).trim();
    const volPrune = Number(api.split('.')[1]) >= 42 ? ['volume', 'prune', '-af'] : ['volume', 'prune', '-f'];
    const make = async (color: 'red' | 'blue'): Promise<void> => {
      await ok('root', ['network', 'create', '--label', `${ACCESS}=${color}`, `node-0/net-prune-${color}`]);
      await ok('root', ['volume', 'create', '--label', `${ACCESS}=${color}`, `vol-prune-${color}`]);
    };
    const left = async (): Promise<{ nets: string[]; vols: string[] }> => ({
      nets: names(await ok('root', ['network', 'ls', '--format', '{{.Name}}'])).filter((n) => n.startsWith('net-prune-')),
      // a volume is made on every node: one name per node
      vols: [...new Set(names(await ok('root', ['volume', 'ls', '--format', '{{.Name}}'])).filter((n) => n.startsWith('vol-prune-')))],
    });
    await make('red');
    await make('blue');
    assert.deepEqual(await left(), { nets: ['net-prune-blue', 'net-prune-red'], vols: ['vol-prune-blue', 'vol-prune-red'] });
    // bob: full on blue, none on red
    let out = await ok('bob', ['network', 'prune', '-f']);
    assert.match(out, /net-prune-blue/);
    assert.doesNotMatch(out, /net-prune-red/);
    out = await ok('bob', volPrune);
    assert.match(out, /vol-prune-blue/);
    assert.doesNotMatch(out, /vol-prune-red/);
    assert.deepEqual(await left(), { nets: ['net-prune-red'], vols: ['vol-prune-red'] });
    // alice: full on red, none on blue
    await make('blue');
    out = await ok('alice', ['network', 'prune', '-f']);
    assert.match(out, /net-prune-red/);
    assert.doesNotMatch(out, /net-prune-blue/);
    out = await ok('alice', volPrune);
    assert.match(out, /vol-prune-red/);
    assert.doesNotMatch(out, /vol-prune-blue/);
    assert.deepEqual(await left(), { nets: ['net-prune-blue'], vols: ['vol-prune-blue'] });
    // net-red (red, in use by red-c) is untouched
    assert.ok(names(await ok('root', ['network', 'ls', '--format', '{{.Name}}'])).includes('net-red'));
    await ok('root', ['network', 'rm', 'net-prune-blue']);
    await ok('root', ['volume', 'rm', 'vol-prune-blue']);
  });

  /**
   * Root builds an unused image labelled blue and one labelled red, alice one of her own (unlabelled); `prune`
   * runs bob's image prune and gives its answer; only the blue one is gone after it (bob: full on blue, none on
   * red and on unlabelled images, which he does not own).
   */
  async function imagePruneCase(prune: () => Promise<string>): Promise<void> {
    const build = (u: User, tag: string, dockerfile: string): Promise<string> =>
      ok(u, ['build', '-t', tag, '-'], { input: dockerfile, env: { DOCKER_BUILDKIT: '0' }, timeoutMs: 120_000 });
    // LABEL alone makes an image of its own (no step container); none of them is used by a container
    await build('root', 'prune-blue-img:1', `FROM busybox\nLABEL ${ACCESS}=blue\n`);
    await build('root', 'prune-red-img:1', `FROM busybox\nLABEL ${ACCESS}=red\nLABEL prune=red\n`);
    await build('alice', 'prune-alice-img:1', 'FROM busybox\nLABEL prune=alice\n');
    const exists = async (ref: string): Promise<boolean> => (await as('root', ['image', 'inspect', ref])).code === 0;
    const kept = ['prune-red-img:1', 'prune-alice-img:1', 'red-img:1', 'busybox:latest'];
    try {
      for (const ref of ['prune-blue-img:1', ...kept]) assert.ok(await exists(ref), `${ref} missing before the prune`);
      const out = await prune();
      assert.match(out, /untagged"?:\s*"?prune-blue-img:1/i);
      assert.ok(!(await exists('prune-blue-img:1')), 'bob\'s image prune -a left prune-blue-img:1');
      for (const ref of kept) assert.ok(await exists(ref), `bob's image prune -a removed ${ref}:\n${out}`);
    } finally {
      // whatever is left of the three (an rmi naming a missing one still removes the others)
      await as('root', ['rmi', 'prune-blue-img:1', 'prune-red-img:1', 'prune-alice-img:1']);
    }
  }

  // CLI 28 sends its filters in the map form ({"dangling":{"false":true}}): the manager's label filter must
  // follow it (dockerd 20.10 refuses a request that mixes the two forms).
  test('image prune -af (CLI 28): bob removes the unused image labelled blue (full), not red ones nor alice\'s, and does not fail', T, async () => {
    await imagePruneCase(async () => {
      const out = await ok('bob', ['image', 'prune', '-af']);
      assert.match(out, /Total reclaimed space/);
      return out;
    });
  });

  test('image prune, all=true in the legacy filter form (raw API): bob removes the unused image labelled blue, not red ones nor alice\'s', T, async () => {
    await imagePruneCase(async () => {
      const r = await raw('bob', 'POST', `/images/prune?filters=${encodeURIComponent(JSON.stringify({ dangling: ['false'] }))}`);
      assert.equal(r.status, 200, r.body);
      return r.body;
    });
  });

  // ---- policy reload and revocation -------------------------------------------------------

  test('hot reload: eve added to the policy sees plain-c within 2 s; revoked, she gets 401; a bad edit keeps the last good policy', T, async () => {
    // not in the policy: none on everything
    assert.deepEqual(names(await ok('eve', ['ps', '-a', '--format', '{{.Names}}'])), []);
    let r = await as('eve', ['container', 'inspect', 'plain-c']);
    assert.match(r.stderr, /No such container: plain-c/);
    writePolicy(POLICY.replace('  bob: {default: none}\n', '  bob: {default: none}\n  eve: {default: view}\n'));
    const t = Date.now();
    const seen = await eventually(async () => names(await ok('eve', ['ps', '-a', '--format', '{{.Names}}'])), (n) => n.includes('plain-c'), 5_000, 100);
    assert.deepEqual(seen, ['plain-c']);
    assert.ok(Date.now() - t < 2_500, `eve saw plain-c after ${Date.now() - t} ms`);
    // a connection opened before the revocation (keep-alive) is refused from its next request
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    const eveTls = { ca: fs.readFileSync(path.join(certs.eve, 'ca.pem')), cert: fs.readFileSync(path.join(certs.eve, 'cert.pem')), key: fs.readFileSync(path.join(certs.eve, 'key.pem')) };
    const [host, port] = c.managerAddr.split(':');
    const kept = (): Promise<{ status: number; body: string; reused: boolean }> => new Promise((resolve, reject) => {
      const req = https.request({ host, port: Number(port), path: '/containers/json', agent, ...eveTls }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, reused: req.reusedSocket }));
      });
      req.on('error', reject);
      req.end();
    });
    const before = await kept();
    assert.equal(before.status, 200, before.body);
    // revoke eve's certificate with the CLI
    const rev = await new Promise<{ code: number; out: string }>((resolve) => {
      execFile(process.execPath, [managerMainJs(), 'certs', 'revoke', path.join(certs.eve, 'cert.pem'), '--policy', policyFile], (err, stdout, stderr) =>
        resolve({ code: err ? 1 : 0, out: String(stdout) + String(stderr) }));
    });
    assert.equal(rev.code, 0, rev.out);
    assert.match(rev.out, /revoked/);
    assert.match(fs.readFileSync(policyFile, 'utf8'), /revoked:/);
    r = await eventually(() => as('eve', ['ps']), (x) => x.code !== 0, 3_000, 100);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /the certificate of eve has been revoked/);
    const afterRevoke = await kept();
    agent.destroy();
    assert.ok(afterRevoke.reused, 'the keep-alive connection was reused');
    assert.equal(afterRevoke.status, 401, afterRevoke.body);
    assert.equal(JSON.parse(afterRevoke.body).message, 'the certificate of eve has been revoked');
    // an invalid edit: logged with its line, the last good policy (eve revoked, carol view) stays
    const good = fs.readFileSync(policyFile, 'utf8');
    writePolicy(good.replace('carol: {default: view}', 'carol: {default: superuser}'));
    const log = await eventually(async () => fs.readFileSync(c.manager!.logFile, 'utf8'), (s) => /access policy not reloaded/.test(s), 5_000, 100);
    const line = log.split('\n').find((l) => /access policy not reloaded/.test(l)) ?? '';
    assert.match(line, new RegExp(`${policyFile.replace(/[.]/g, '\\.')}:\\d+: `), line);
    assert.match(line, /superuser/, line);
    assert.deepEqual(names(await ok('alice', ['ps', '-a', '--format', '{{.Names}}'])), ['plain-c', 'red-c', 'shared-c']);
    assert.deepEqual(names(await ok('carol', ['ps', '-a', '--format', '{{.Names}}'])), ['plain-c', 'red-c', 'shared-c']);
    r = await as('eve', ['ps']);
    assert.match(r.stderr, /the certificate of eve has been revoked/);
    writePolicy(good);
  });

  // ---- the audit log -------------------------------------------------------------------

  test('audit log: one JSON line per request, with user, method, path and decision', T, async () => {
    // a request the CLI refuses itself never reaches the manager
    const r = await as('frank', ['run', '--name', 'audit-marker', '--memory', 'lots', 'busybox']);
    assert.notEqual(r.code, 0);
    await ok('frank', ['version']);
    const read = () => fs.readFileSync(auditFile, 'utf8').split('\n').filter(Boolean);
    // a line is written when its answer has ended, maybe after the CLI exited: wait for frank's version
    const lines = await eventually(async () => read(), (l) => l.some((x) => x.includes('"user":"frank"') && /\/version"/.test(x)), 5_000, 100);
    const entries = lines.map((l, i) => {
      try { return JSON.parse(l); } catch { assert.fail(`audit line ${i + 1} is not JSON: ${l}`); }
    });
    for (const e of entries) {
      for (const k of ['time', 'user', 'remote', 'method', 'path', 'route', 'decision']) assert.ok(k in e, `no ${k} in ${JSON.stringify(e)}`);
      assert.ok(['allowed', 'denied', 'hidden', 'refused'].includes(e.decision), JSON.stringify(e));
    }
    const count = (user: string, decision: string) => entries.filter((e) => e.user === user && e.decision === decision).length;
    assert.ok(count('bob', 'hidden') > 0 && count('bob', 'denied') > 0 && count('bob', 'allowed') > 0, 'bob: hidden, denied and allowed lines');
    assert.ok(count('alice', 'denied') > 0 && count('alice', 'allowed') > 0 && count('alice', 'hidden') > 0, 'alice lines');
    assert.ok(count('carol', 'denied') > 0 && count('carol', 'allowed') > 0, 'carol lines');
    assert.ok(count('root', 'allowed') > 0 && count('root', 'denied') === 0 && count('root', 'hidden') === 0, 'root: allowed only');
    assert.ok(count('eve', 'refused') > 0, 'eve: refused after her revocation');
    // every denied/hidden line carries a reason; denied lines answer 403 or 400, hidden 404
    for (const e of entries.filter((x) => x.decision === 'hidden')) assert.equal(e.status, 404, JSON.stringify(e));
    for (const e of entries.filter((x) => x.decision === 'denied')) assert.ok([400, 403].includes(e.status) && e.reason, JSON.stringify(e));
    // the raw exec starts: exactly one line each, with its decision and status
    assert.equal(execStarts.length, 3);
    for (const s of execStarts) {
      const hits = entries.filter((e) => e.user === s.user && e.method === 'POST' && e.path.startsWith(`/exec/${s.id}/start`));
      assert.equal(hits.length, 1, `${s.user} exec start ${s.id}: ${JSON.stringify(hits)}`);
      assert.equal(hits[0].status, s.status, JSON.stringify(hits[0]));
      assert.equal(hits[0].decision, s.status === 404 ? 'hidden' : s.status === 403 ? 'denied' : 'allowed', JSON.stringify(hits[0]));
    }
    // nothing for what did not reach the manager; frank's version did
    assert.ok(!lines.some((l) => l.includes('audit-marker')), 'a line for a run the CLI refused');
    assert.ok(entries.some((e) => e.user === 'frank' && /\/version$/.test(e.path)));
    // no line without a user: every request came with a certificate
    assert.ok(entries.every((e) => e.user !== ''), 'a line without a user');
  });

});
