// Discovery on real engines, through the real CLIs: classic's token quick
// start against our token service (`swarm create`, a `swarm join` per engine,
// `swarm manage token://...`), a killed join leaving the cluster and coming
// back, and the token service restarted mid-way losing nothing.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { clusterBlock, skipReason, withCluster, type TestCluster } from '../lib/cluster.js';
import { eventually } from '../lib/wait.js';
import { SwarmProcs, type SwarmProc } from '../lib/swarmproc.js';
import { nodeStatus } from '../lib/observe.js';

const BLOCK = clusterBlock(9); // slots 90-92, engines 24500-24502, manager 24550
const TOKEN_PORT = 24560;
const T = { timeout: 120_000 };

/** Names of the Healthy nodes the manager at addr lists. */
async function healthyNodes(addr: string): Promise<string[]> {
  try {
    const info: any = await (await fetch(`http://${addr}/info`)).json();
    const names = (info.SystemStatus as string[][]).filter(([k]) => /^ \S/.test(k) && !k.startsWith('  ')).map(([k]) => k.trim());
    return names.filter((n) => nodeStatus(info, n) === 'Healthy').sort();
  } catch {
    return [];
  }
}

describe('token:// on real engines: swarm create, swarm join, swarm manage, swarm list', { skip: skipReason() }, () => {
  let c: TestCluster;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swarm-flows-'));
  const procs = new SwarmProcs(path.join(dir, 'logs'));
  const url = `http://127.0.0.1:${TOKEN_PORT}`;
  let token = '';
  let service: SwarmProc;
  const joins = new Map<string, SwarmProc>();
  const join = (addr: string): SwarmProc =>
    procs.start(['join', '--advertise', addr, '--heartbeat', '1s', '--ttl', '3s', '--discovery-opt', `token.url=${url}`, `token://${token}`]);

  before(async () => {
    c = await withCluster({ ...BLOCK, nodes: 3, manager: false });
  }, { timeout: 180_000 });
  after(async () => {
    await procs.killAll();
    await c?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }, { timeout: 120_000 });

  const startService = async (): Promise<SwarmProc> => {
    const p = procs.start(['token-server', '--addr', `127.0.0.1:${TOKEN_PORT}`, '--data-dir', path.join(dir, 'tokens')]);
    const up = await eventually(async () => { try { return (await fetch(`${url}/_ping`)).status; } catch { return 0; } }, (s) => s === 200, 10_000, 100);
    assert.equal(up, 200, SwarmProcs.tail(p));
    return p;
  };

  test('create, three joins, a manager: docker info lists the three, docker run works', T, async () => {
    service = await startService();
    const created = await procs.run(['create'], { SWARM_TOKEN_URL: url });
    assert.equal(created.code, 0, created.stderr);
    token = created.stdout.trim();
    assert.match(token, /^[0-9a-f]{32}$/);
    for (const e of c.engines) joins.set(e.name, join(e.addr));
    const listed = await eventually(async () => (await procs.run(['list', '--discovery-opt', `token.url=${url}`, `token://${token}`])).stdout, (s) => s.trim().split('\n').length === 3, 10_000);
    assert.deepEqual(listed.trim().split('\n'), c.engines.map((e) => e.addr).sort());

    const m = procs.start(['manage', '-H', `tcp://${c.managerAddr}`, '--heartbeat', '1s', '--discovery-opt', `token.url=${url}`, `token://${token}`]);
    const seen = await eventually(() => healthyNodes(c.managerAddr), (n) => n.length === 3, 20_000);
    assert.deepEqual(seen, ['node-0', 'node-1', 'node-2'], SwarmProcs.tail(m));
    const run = await c.docker(['run', '--rm', 'busybox', 'echo', 'joined']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /joined/);
  });

  test('a killed join leaves within the TTL; placement avoids it; restarted, it comes back', T, async () => {
    await joins.get('node-2')!.kill();
    const t0 = Date.now();
    const two = await eventually(() => healthyNodes(c.managerAddr), (n) => n.length === 2, 10_000, 100);
    assert.deepEqual(two, ['node-0', 'node-1']);
    // TTL 3 s, plus the manager's 1 s poll and a little slack.
    assert.ok(Date.now() - t0 < 6_000, `node-2 left after ${Date.now() - t0} ms`);
    for (let i = 0; i < 4; i++) {
      const r = await c.docker(['run', '-d', 'busybox', 'sleep', '60']);
      assert.equal(r.code, 0, r.stderr);
      const node = (await c.docker(['inspect', '-f', '{{.Node.Name}}', r.stdout.trim()])).stdout.trim();
      assert.notEqual(node, 'node-2', 'placed on a node that left');
    }
    await c.docker(['rm', '-f', ...(await c.docker(['ps', '-aq'])).stdout.split('\n').filter(Boolean)]);
    joins.set('node-2', join(c.engines[2]!.addr));
    const three = await eventually(() => healthyNodes(c.managerAddr), (n) => n.length === 3, 15_000, 100);
    assert.deepEqual(three, ['node-0', 'node-1', 'node-2']);
  });

  test('the token service killed and restarted on its data loses no registration', T, async () => {
    await service.kill();
    // Meanwhile the manager keeps its last list and keeps serving.
    assert.deepEqual(await healthyNodes(c.managerAddr), ['node-0', 'node-1', 'node-2']);
    assert.equal((await c.docker(['ps'])).code, 0);
    service = await startService();
    const direct = await (await fetch(`${url}/v1/clusters/${token}`)).json();
    assert.deepEqual([...direct].sort(), c.engines.map((e) => e.addr).sort(), 'registrations survived the restart');
    const still = await eventually(() => healthyNodes(c.managerAddr), (n) => n.length === 3, 10_000);
    assert.deepEqual(still, ['node-0', 'node-1', 'node-2']);
  });
});
