// Discovery on real engines, through the real CLIs: classic's token quick
// start against our token service (`swarm create`, a `swarm join` per engine,
// `swarm manage token://...`), a killed join leaving the cluster and coming
// back, and the token service restarted mid-way losing nothing; then, for
// each real store (etcd, ZooKeeper), joins, two managers and failover.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { clusterBlock, skipReason, withCluster, type TestCluster } from '../lib/cluster.js';
import { eventually } from '../lib/wait.js';
import { SwarmProcs, type SwarmProc } from '../lib/swarmproc.js';
import { nodeStatus } from '../lib/observe.js';
import { etcdSkipReason, startEtcd } from '../lib/etcd.js';
import { ConsulServer } from '../lib/consul-server.js';
import { startZooKeeper, zookeeperMissing } from '../lib/zookeeper.js';

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

// ---- store-backed discovery and replication -----------------------------------

/** A store the flows run against: its discovery URL for a path, and outage controls. */
export interface FlowStore {
  url(path: string): string;
  pause(): Promise<void>;
  resume(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The flows for one store: three engines joined with `--heartbeat 1s
 * --ttl 3s`, `swarm list`, two managers with --replication, run / logs -f /
 * exec -i through either, a killed join leaving and coming back, the primary
 * killed with the replica taking over within TTL + 2 s (requests in flight
 * answered, never hung), and the store away for 10 s.
 */
export function storeFlows(name: string, block: number, skip: () => string | undefined, startStore: () => Promise<FlowStore>): void {
  const B = clusterBlock(block);
  describe(`${name}:// on real engines: join, list, two managers, failover, store outage`, { skip: skipReason() ?? skip() }, () => {
    let c: TestCluster;
    let store: FlowStore;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `swarm-${name}-flows-`));
    const procs = new SwarmProcs(path.join(dir, 'logs'));
    const joins = new Map<string, SwarmProc>();
    const managers = new Map<string, SwarmProc>();
    const addrs = [`127.0.0.1:${B.managerPort}`, `127.0.0.1:${B.managerPort + 1}`];
    let discovery = '';
    const join = (addr: string): SwarmProc => procs.start(['join', '--advertise', addr, '--heartbeat', '1s', '--ttl', '3s', discovery]);
    const manage = (addr: string): SwarmProc => {
      const m = procs.start(['manage', '-H', `tcp://${addr}`, '--heartbeat', '1s', '--replication', '--advertise', addr, '--replication-ttl', '3s', discovery]);
      managers.set(addr, m);
      return m;
    };
    const role = async (addr: string): Promise<string> => {
      try {
        const info: any = await (await fetch(`http://${addr}/info`, { signal: AbortSignal.timeout(3000) })).json();
        return (info.SystemStatus as string[][]).filter(([k]) => k === 'Role' || k === 'Primary').map(([k, v]) => `${k}: ${v}`).join(', ');
      } catch (err) {
        return `down (${(err as Error).message})`;
      }
    };
    const docker = (addr: string, args: string[], input?: string) => c.docker(args, { host: addr, input });

    before(async () => {
      store = await startStore();
      discovery = store.url('flows');
      c = await withCluster({ ...B, nodes: 3, manager: false });
    }, { timeout: 180_000 });
    after(async () => {
      await procs.killAll();
      await c?.stop();
      await store?.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }, { timeout: 120_000 });

    test('three joins; swarm list; two managers: one primary, one replica; run, logs -f and exec -i through either', T, async () => {
      for (const e of c.engines) joins.set(e.name, join(e.addr));
      const listed = await eventually(async () => (await procs.run(['list', '--timeout', '5s', discovery])).stdout, (s) => s.trim().split('\n').length === 3, 15_000);
      assert.deepEqual(listed.trim().split('\n'), c.engines.map((e) => e.addr).sort());
      manage(addrs[0]!);
      await eventually(() => role(addrs[0]!), (r) => r === 'Role: primary', 15_000);
      manage(addrs[1]!);
      const r1 = await eventually(() => role(addrs[1]!), (r) => r === `Role: replica, Primary: ${addrs[0]}`, 15_000);
      assert.equal(r1, `Role: replica, Primary: ${addrs[0]}`, SwarmProcs.tail(managers.get(addrs[1]!)!));
      for (const a of addrs) {
        const seen = await eventually(() => healthyNodes(a), (n) => n.length === 3, 20_000);
        assert.deepEqual(seen, ['node-0', 'node-1', 'node-2']);
      }
      for (const a of addrs) {
        const run = await docker(a, ['run', '-d', '--name', `flow-${a.split(':')[1]}`, 'busybox', 'sh', '-c', 'echo started; sleep 300']);
        assert.equal(run.code, 0, run.stderr);
      }
      // logs -f through the replica streams the primary's answer until the client stops.
      const follow = docker(addrs[1]!, ['logs', '-f', `flow-${addrs[0]!.split(':')[1]}`]);
      const exec = await docker(addrs[1]!, ['exec', '-i', `flow-${addrs[1]!.split(':')[1]}`, 'cat'], 'through the replica\n');
      assert.equal(exec.code, 0, exec.stderr);
      assert.equal(exec.stdout, 'through the replica\n');
      const rm = await docker(addrs[0]!, ['rm', '-f', `flow-${addrs[0]!.split(':')[1]}`]);
      assert.equal(rm.code, 0, rm.stderr);
      const logs = await follow;
      assert.match(logs.stdout, /started/);
    });

    test('a killed join leaves within the TTL and the managers drop it; restarted, it comes back', T, async () => {
      await joins.get('node-2')!.kill();
      const t0 = Date.now();
      for (const a of addrs) {
        const two = await eventually(() => healthyNodes(a), (n) => n.length === 2, 10_000, 100);
        assert.deepEqual(two, ['node-0', 'node-1']);
      }
      assert.ok(Date.now() - t0 < 7_000, `node-2 left after ${Date.now() - t0} ms`);
      const r = await docker(addrs[1]!, ['run', '-d', 'busybox', 'sleep', '60']);
      assert.equal(r.code, 0, r.stderr);
      assert.notEqual((await docker(addrs[0]!, ['inspect', '-f', '{{.Node.Name}}', r.stdout.trim()])).stdout.trim(), 'node-2');
      joins.set('node-2', join(c.engines[2]!.addr));
      for (const a of addrs) {
        const three = await eventually(() => healthyNodes(a), (n) => n.length === 3, 15_000, 100);
        assert.deepEqual(three, ['node-0', 'node-1', 'node-2']);
      }
    });

    test('the primary killed: the replica answers as primary within TTL + 2 s; requests in flight answered, never hung', T, async () => {
      const [primary, replica] = addrs as [string, string];
      let stop = false;
      const answers: string[] = [];
      const load = (async () => {
        while (!stop) {
          try {
            const r = await fetch(`http://${replica}/containers/json`, { signal: AbortSignal.timeout(8000) });
            answers.push(String(r.status));
            await r.arrayBuffer();
          } catch (err) {
            answers.push((err as Error).name === 'TimeoutError' ? 'hang' : 'refused');
          }
        }
      })();
      await new Promise((r) => setTimeout(r, 300));
      await managers.get(primary)!.kill();
      const t0 = Date.now();
      const now = await eventually(() => role(replica), (r) => r === 'Role: primary', 10_000, 100);
      const took = Date.now() - t0;
      stop = true;
      await load;
      assert.equal(now, 'Role: primary');
      assert.ok(took <= 3_000 + 2_000, `took over after ${took} ms`);
      assert.ok(!answers.includes('hang'), `a request hung: ${answers.join(',')}`);
      assert.ok(answers.every((a) => a === '200' || a === '500'), answers.join(','));
      const ps = await docker(replica, ['ps']);
      assert.equal(ps.code, 0, ps.stderr);
      // The old primary comes back as a replica.
      manage(primary);
      const back = await eventually(() => role(primary), (r) => r === `Role: replica, Primary: ${replica}`, 15_000);
      assert.equal(back, `Role: replica, Primary: ${replica}`);
    });

    test('the store away for 10 s: both managers keep serving, and pick up changes after', T, async () => {
      await store.pause();
      try {
        await new Promise((r) => setTimeout(r, 5_000));
        for (const a of addrs) {
          const ps = await docker(a, ['ps']);
          assert.equal(ps.code, 0, `${a}: ${ps.stderr}`);
          assert.deepEqual(await healthyNodes(a), ['node-0', 'node-1', 'node-2']);
        }
        await new Promise((r) => setTimeout(r, 5_000));
        for (const a of addrs) assert.equal((await docker(a, ['ps'])).code, 0);
      } finally {
        await store.resume();
      }
      // After: a join killed now is noticed again.
      await joins.get('node-1')!.kill();
      for (const a of addrs) {
        const two = await eventually(() => healthyNodes(a), (n) => n.length === 2, 40_000, 200);
        assert.deepEqual(two, ['node-0', 'node-2']);
      }
      const roles = [await role(addrs[0]!), await role(addrs[1]!)].sort();
      assert.equal(roles.filter((r) => r === 'Role: primary').length, 1, roles.join(' / '));
    });
  });
}

storeFlows('etcd', 10, etcdSkipReason, async () => {
  const e = await startEtcd({ clientPort: 24570, peerPort: 24571 });
  return { url: (p) => `etcd://${e.endpoint}/${p}`, pause: () => e.pause(), resume: () => e.resume(), stop: () => e.stop() };
});

// No Consul server can be installed here: the same flows against the
// Consul-API test server (test/lib/consul-server.ts), with Consul's
// `session_ttl_min` set to 1 s as an agent may be configured.
storeFlows('consul', 13, () => undefined, async () => {
  const s = await ConsulServer.start({ sessionTtlMinMs: 1000 });
  return { url: (p) => `consul://${s.addr}/${p}`, pause: () => s.pause('refuse'), resume: () => s.resume(), stop: () => s.stop() };
});

storeFlows('zk', 12, zookeeperMissing, async () => {
  const z = await startZooKeeper({ port: 24575, tickTime: 500 });
  return { url: (p) => `zk://${z.connect}/${p}`, pause: async () => z.pause(), resume: async () => z.resume(), stop: () => z.stop() };
});
