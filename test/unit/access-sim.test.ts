// Access control (issue 17) in-process, against simulated engines, over
// mutual TLS with one certificate per user: owner labels, hidden objects,
// 403s, filtered listings and info, admins only routes, revocation on
// reload, the audit log. Prune needs real engines: the matrix test. The real-engine matrix through the docker CLI is
// test/integration/access.test.ts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Agent, request } from 'undici';
import { startSimulator, type Simulator } from '../../bench/simulator.js';
import { startManager, type Manager } from '../../src/cli/manage.js';
import { parseManageConfig } from '../../src/cli/config.js';
import { createCA, issueCert, type KeyPair } from '../../src/certs/index.js';
import { addRevoked, fingerprintOfPem } from '../../src/access/index.js';

const PORT = 23580; // unit tests' range (test/lib/README.md)
const OWNER = 'com.docker.swarm.access.owner';
const LABEL = 'com.docker.swarm.access.label';
const POLICY = `admins: [root]
users:
  alice: {default: none}
  bob: {default: view}
teams:
  red: {members: [alice], grants: {red: full, shared: restricted}}
  blue: {members: [bob], grants: {blue: full}}
`;

let dir: string;
let sims: Simulator[] = [];
let mgr: Manager;
let ca: KeyPair;
const agents = new Map<string, Agent>();
const pairs = new Map<string, KeyPair>();

function as(user: string): Agent {
  let a = agents.get(user);
  if (!a) {
    let pair = pairs.get(user);
    if (!pair) pairs.set(user, (pair = issueCert(ca, { commonName: user, client: true })));
    a = new Agent({ connect: { ca: ca.cert, cert: pair.cert, key: pair.key, servername: 'localhost' } });
    agents.set(user, a);
  }
  return a;
}

async function call(user: string, method: string, p: string, body?: unknown): Promise<{ status: number; json: any }> {
  const r = await request(`https://127.0.0.1:${PORT}/v1.41${p}`, {
    method: method as 'GET', dispatcher: as(user),
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.body.text();
  let json: any = text;
  try { json = JSON.parse(text); } catch { /* text */ }
  return { status: r.statusCode, json };
}

const ids: Record<string, string> = {};

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swarm-access-sim-'));
  ca = createCA({ commonName: 'access test CA' });
  const server = issueCert(ca, { commonName: 'manager', server: true, client: true, ips: ['127.0.0.1'], dnsNames: ['localhost'] });
  for (const [f, v] of [['ca.pem', ca.cert], ['cert.pem', server.cert], ['key.pem', server.key], ['policy.yaml', POLICY]]) fs.writeFileSync(path.join(dir, f), v);
  // engines on TLS too: the manager's --tlsverify covers both sides
  const engine = issueCert(ca, { commonName: 'engine', server: true, ips: ['127.0.0.1'] });
  const tls = { cert: engine.cert, key: engine.key, ca: ca.cert, requestCert: true };
  sims = [await startSimulator({ port: 0, name: 'sim-a', containers: 0, tls }), await startSimulator({ port: 0, name: 'sim-b', containers: 0, tls })];
  mgr = await startManager(parseManageConfig({
    discovery: sims.map((s) => s.addr).join(','), host: [`tcp://127.0.0.1:${PORT}`],
    tlsverify: true, tlscacert: path.join(dir, 'ca.pem'), tlscert: path.join(dir, 'cert.pem'), tlskey: path.join(dir, 'key.pem'),
    'access-policy': path.join(dir, 'policy.yaml'), 'audit-log': path.join(dir, 'audit.log'),
  }));
  // root makes one container per label; alice one of her own
  for (const [name, label] of [['red-c', 'red'], ['blue-c', 'blue'], ['shared-c', 'shared'], ['plain-c', undefined]] as const) {
    const r = await call('root', 'POST', `/containers/create?name=${name}`, { Image: 'busybox', Labels: label ? { [LABEL]: label } : {} });
    assert.equal(r.status, 201, JSON.stringify(r.json));
    ids[name] = r.json.Id;
  }
});

after(async () => {
  await mgr?.stop();
  for (const s of sims) await s.stop();
  for (const a of agents.values()) await a.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const names = (list: any[]): string[] => list.map((c) => c.Names[0].replace(/^\/[^/]+\//, '')).sort();

test('creates carry the creator as owner; a client cannot name another owner', async () => {
  const r = await call('root', 'GET', '/containers/red-c/json');
  assert.equal(r.json.Config.Labels[OWNER], 'root');
  const forged = await call('alice', 'POST', '/containers/create', { Image: 'busybox', Labels: { [LABEL]: 'red', [OWNER]: 'root' } });
  assert.equal(forged.status, 400);
  assert.match(forged.json.message, /set by the manager/);
  const own = await call('alice', 'POST', '/containers/create?name=alice-c', { Image: 'busybox', Labels: { [LABEL]: 'red' } });
  assert.equal(own.status, 201, JSON.stringify(own.json));
  ids['alice-c'] = own.json.Id;
  assert.equal((await call('root', 'GET', '/containers/alice-c/json')).json.Config.Labels[OWNER], 'alice');
});

test('a create needs restricted on its label, full for dangerous options (400 naming each)', async () => {
  const none = await call('alice', 'POST', '/containers/create', { Image: 'busybox' });
  assert.equal(none.status, 403);
  assert.match(none.json.message, /^access denied: alice needs restricted on containers without/);
  const blue = await call('alice', 'POST', '/containers/create', { Image: 'busybox', Labels: { [LABEL]: 'blue' } });
  assert.equal(blue.status, 403);
  const priv = await call('alice', 'POST', '/containers/create', { Image: 'busybox', Labels: { [LABEL]: 'shared' }, HostConfig: { Privileged: true, Binds: ['/etc:/x'] } });
  assert.equal(priv.status, 400);
  assert.match(priv.json.message, /needs full on access label shared to create with Privileged, bind \/etc/);
  const fromHidden = await call('alice', 'POST', '/containers/create', { Image: 'busybox', Labels: { [LABEL]: 'red' }, HostConfig: { VolumesFrom: ['blue-c'] } });
  assert.equal(fromHidden.status, 404);
  assert.equal(fromHidden.json.message, 'No such container: blue-c');
});

test('ps shows only what the user may see; hidden objects answer as missing, visible ones 403', async () => {
  assert.deepEqual(names((await call('alice', 'GET', '/containers/json?all=1')).json), ['alice-c', 'red-c', 'shared-c']);
  assert.deepEqual(names((await call('bob', 'GET', '/containers/json?all=1')).json), ['blue-c', 'plain-c']);
  assert.equal((await call('root', 'GET', '/containers/json?all=1')).json.length, 5);
  // twice: the kept per-user body is the same
  assert.deepEqual(names((await call('bob', 'GET', '/containers/json?all=1')).json), ['blue-c', 'plain-c']);
  const hidden = await call('alice', 'GET', `/containers/${ids['blue-c']}/json`);
  assert.equal(hidden.status, 404);
  assert.equal(hidden.json.message, `No such container: ${ids['blue-c']}`);
  const byName = await call('bob', 'POST', '/containers/red-c/start');
  assert.equal(byName.status, 404);
  assert.equal(byName.json.message, 'No such container: red-c');
  const low = await call('bob', 'POST', '/containers/plain-c/start');
  assert.equal(low.status, 403);
  assert.equal(low.json.message, 'access denied: bob needs restricted on container plain-c');
  assert.equal((await call('alice', 'POST', '/containers/shared-c/start')).status, 204);
  const exec = await call('alice', 'POST', '/containers/shared-c/exec', { Cmd: ['true'] });
  assert.equal(exec.status, 403);
  assert.equal(exec.json.message, 'access denied: alice needs full on container shared-c');
});

test('a name conflict with a container the caller cannot see does not name it', async () => {
  const r = await call('bob', 'POST', '/containers/create?name=red-c', { Image: 'busybox', Labels: { [LABEL]: 'blue' } });
  assert.equal(r.status, 409);
  assert.equal(r.json.message, 'Conflict. The container name "/red-c" is already in use by a container you cannot see. You have to remove (or rename) that container to be able to reuse that name.');
  const seen = await call('root', 'POST', '/containers/create?name=red-c', { Image: 'busybox' });
  assert.equal(seen.status, 409);
  assert.ok(seen.json.message.includes(ids['red-c']), seen.json.message);
  const rename = await call('bob', 'POST', '/containers/blue-c/rename?name=red-c');
  assert.equal(rename.status, 409);
  assert.ok(!rename.json.message.includes(ids['red-c']), rename.json.message);
});

test('update with devices needs full on the container; without, restricted is enough', async () => {
  const r = await call('alice', 'POST', '/containers/shared-c/update', { Devices: [{ PathOnHost: '/dev/sda', PathInContainer: '/dev/sda', CgroupPermissions: 'rwm' }] });
  assert.equal(r.status, 400);
  assert.equal(r.json.message, 'access denied: alice needs full on container shared-c to update with Devices');
  const bob = await call('bob', 'POST', '/containers/plain-c/update', { CpuShares: 512 });
  assert.equal(bob.status, 403);
});

test('info counts only what the user sees; metrics are for admins', async () => {
  const info = await call('bob', 'GET', '/info');
  assert.equal(info.json.Containers, 2);
  assert.equal((await call('root', 'GET', '/info')).json.Containers, 5);
  const m = await call('alice', 'GET', '/metrics');
  assert.equal(m.status, 403);
});

test('a revoked certificate is refused with 401 from the next request on', async () => {
  const eve = 'eve';
  assert.equal((await call(eve, 'GET', '/containers/json')).status, 200);
  addRevoked(path.join(dir, 'policy.yaml'), fingerprintOfPem(pairs.get(eve)!.cert));
  mgr.reloadAccess();
  const r = await call(eve, 'GET', '/containers/json');
  assert.equal(r.status, 401);
  assert.equal(r.json.message, 'the certificate of eve has been revoked');
});

test('the audit log has a line per request with the decision', async () => {
  await new Promise((r) => setTimeout(r, 200));
  const lines = fs.readFileSync(path.join(dir, 'audit.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const of = (user: string, decision: string): any[] => lines.filter((l) => l.user === user && l.decision === decision);
  assert.ok(of('alice', 'hidden').some((l) => l.path.includes(ids['blue-c'])));
  assert.ok(of('bob', 'denied').some((l) => l.path === '/v1.41/containers/plain-c/start' && l.status === 403));
  assert.ok(of('eve', 'refused').some((l) => l.status === 401));
  assert.ok(of('root', 'allowed').length >= 5);
  for (const l of lines) for (const k of ['time', 'user', 'remote', 'method', 'path', 'route', 'decision']) assert.ok(k in l, `${k} in ${JSON.stringify(l)}`);
});

test('a policy that does not load stops the start-up with its file, line and reason', async () => {
  const bad = path.join(dir, 'bad.yaml');
  fs.writeFileSync(bad, 'admins: [root]\nusers:\n  alice: {default: superuser}\n');
  await assert.rejects(startManager(parseManageConfig({
    discovery: sims[0].addr, host: [`tcp://127.0.0.1:${PORT + 1}`],
    tlsverify: true, tlscacert: path.join(dir, 'ca.pem'), tlscert: path.join(dir, 'cert.pem'), tlskey: path.join(dir, 'key.pem'),
    'access-policy': bad,
  })), (err: Error) => {
    assert.match(err.message, new RegExp(`^--access-policy: ${bad.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:3: .*superuser`));
    return true;
  });
});
