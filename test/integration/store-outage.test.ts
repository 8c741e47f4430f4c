// The discovery store's faults on real engines and real stores (issue 14):
// the store down for 30 s (etcd killed, ZooKeeper stopped) with two managers
// (--replication) and joins: the managers keep serving the last-known nodes
// and log the outage; after the store is back they recover (a join started
// then shows up) and no node was dropped meanwhile. With etcd also: the
// primary SIGKILLed under load from 4 clients (takeover time and failed
// requests reported), and a SIGTERMed primary handing the lock over at once
// instead of after its TTL.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { clusterBlock, skipReason, withCluster, type TestCluster } from '../lib/cluster.js';
import { eventually, sleep } from '../lib/wait.js';
import { SwarmProcs, type SwarmProc } from '../lib/swarmproc.js';
import { nodeStatus } from '../lib/observe.js';
import { etcdSkipReason, startEtcd } from '../lib/etcd.js';
import { startZooKeeper, zookeeperMissing } from '../lib/zookeeper.js';

const T = { timeout: 150_000 };
const OUTAGE_MS = 30_000;
const TTL_MS = 3_000;

/** The Healthy nodes a manager lists (undefined while it does not answer). */
async function healthyNodes(addr: string): Promise<string[] | undefined> {
  try {
    const info: any = await (await fetch(`http://${addr}/info`, { signal: AbortSignal.timeout(3000) })).json();
    const names = (info.SystemStatus as string[][]).filter(([k]) => /^ \S/.test(k)).map(([k]) => k.trim());
    return names.filter((n) => nodeStatus(info, n) === 'Healthy').sort();
  } catch {
    return undefined;
  }
}

async function role(addr: string): Promise<string> {
  try {
    const info: any = await (await fetch(`http://${addr}/info`, { signal: AbortSignal.timeout(3000) })).json();
    return (info.SystemStatus as string[][]).filter(([k]) => k === 'Role' || k === 'Primary').map(([k, v]) => `${k}: ${v}`).join(', ');
  } catch (err) {
    return `down (${(err as Error).message})`;
  }
}

/** A store the tests take down and bring back. */
interface OutageStore {
  url(p: string): string;
  down(): Promise<void>;
  up(): Promise<void>;
  stop(): Promise<void>;
}

function storeOutage(name: string, block: number, skip: () => string | undefined, startStore: () => Promise<OutageStore>, withFailover: boolean): void {
  const B = clusterBlock(block);
  describe(`${name}:// store faults on real engines`, { skip: skipReason() ?? skip() }, () => {
    let c: TestCluster;
    let store: OutageStore;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `swarm-${name}-outage-`));
    const procs = new SwarmProcs(path.join(dir, 'logs'));
    const joins = new Map<string, SwarmProc>();
    const managers = new Map<string, SwarmProc>();
    const addrs = [`127.0.0.1:${B.managerPort}`, `127.0.0.1:${B.managerPort + 1}`] as const;
    let discovery = '';
    const join = (i: number): void => {
      joins.set(c.engines[i]!.name, procs.start(['join', '--advertise', c.engines[i]!.addr, '--heartbeat', '1s', '--ttl', `${TTL_MS / 1000}s`, discovery]));
    };
    const manage = (addr: string, ttlMs = TTL_MS): SwarmProc => {
      const m = procs.start(['manage', '-H', `tcp://${addr}`, '--heartbeat', '1s', '--replication', '--advertise', addr, '--replication-ttl', `${ttlMs / 1000}s`, discovery]);
      managers.set(addr, m);
      return m;
    };
    const docker = (addr: string, args: string[]) => c.docker(args, { host: addr, timeoutMs: 30_000 });

    before(async () => {
      store = await startStore();
      discovery = store.url('outage');
      c = await withCluster({ ...B, nodes: 3, manager: false });
    }, { timeout: 180_000 });
    after(async () => {
      await procs.killAll();
      await c?.stop();
      await store?.stop();
      // SWARM_TEST_KEEP=1 keeps the managers' and joins' logs for a look.
      if (process.env.SWARM_TEST_KEEP) console.log(`# logs kept in ${dir}`); else fs.rmSync(dir, { recursive: true, force: true });
    }, { timeout: 120_000 });

    test(`the store down ${OUTAGE_MS / 1000} s: both managers keep serving the last-known nodes, log it, and recover`, T, async () => {
      join(0);
      join(1);
      manage(addrs[0]);
      assert.equal(await eventually(() => role(addrs[0]), (r) => r === 'Role: primary', 45_000), 'Role: primary');
      manage(addrs[1]);
      assert.equal(await eventually(() => role(addrs[1]), (r) => r === `Role: replica, Primary: ${addrs[0]}`, 45_000), `Role: replica, Primary: ${addrs[0]}`);
      for (const a of addrs) assert.deepEqual(await eventually(() => healthyNodes(a), (n) => n?.length === 2, 45_000), ['node-0', 'node-1']);

      // Watch both managers' lists from here to the end: node-0 and node-1 must never go.
      let watching = true;
      const drops: string[] = [];
      const watcher = (async () => {
        while (watching) {
          for (const a of addrs) {
            const n = await healthyNodes(a);
            if (!n || !n.includes('node-0') || !n.includes('node-1')) drops.push(`${new Date().toISOString()} ${a}: ${n ? n.join(',') || '(none)' : 'no answer'}`);
          }
          await sleep(500);
        }
      })();

      const logLen = new Map([...managers].map(([a, m]) => [a, fs.statSync(m.logFile).size]));
      const t0 = Date.now();
      await store.down();
      try {
        const checks: string[] = [];
        for (const at of [8_000, OUTAGE_MS - 6_000]) {
          await sleep(Math.max(0, t0 + at - Date.now()));
          for (const a of addrs) {
            const info = await docker(a, ['info', '--format', '{{json .SystemStatus}}']);
            assert.equal(info.code, 0, `${a}: ${info.stderr}`);
            assert.match(info.stdout, /node-0/);
            assert.match(info.stdout, /node-1/);
            const run = await docker(a, ['run', '--rm', 'busybox', 'echo', `during-outage-${a}`]);
            assert.equal(run.code, 0, `${a}: docker run during the outage: ${run.stderr}`);
            assert.match(run.stdout, /during-outage/);
            checks.push(`${Math.round((Date.now() - t0) / 1000)}s ${a}`);
          }
        }
        await sleep(Math.max(0, t0 + OUTAGE_MS - Date.now()));
        for (const [a, m] of managers) {
          const text = fs.readFileSync(m.logFile, 'utf8').slice(logLen.get(a));
          assert.match(text, /(WARN|ERROR) .*(discovery|leader election|store)/i, `${a} logged the outage:\n${text.slice(-2000)}`);
        }
      } finally {
        await store.up();
      }
      const back = Date.now();
      // A join started now is seen by both.
      join(2);
      for (const a of addrs) {
        const three = await eventually(() => healthyNodes(a), (n) => n?.length === 3, 40_000, 200);
        assert.deepEqual(three, ['node-0', 'node-1', 'node-2'], `${a}\n${SwarmProcs.tail(managers.get(a)!)}`);
      }
      const seenAfter = Date.now() - back;
      await sleep(2_000); // a drop shortly after recovery counts too
      watching = false;
      await watcher;
      assert.deepEqual(drops, [], 'no node dropped during or after the outage');
      const roles = [await role(addrs[0]), await role(addrs[1])];
      assert.equal(roles.filter((r) => r === 'Role: primary').length, 1, roles.join(' / '));
      console.log(`# ${name}: store down ${OUTAGE_MS} ms; nodes kept; a new join seen ${seenAfter} ms after the store was back; roles ${roles.join(' / ')}`);
    });

    if (!withFailover) return;

    test('the primary SIGKILLed under load from 4 clients: the replica takes over within TTL + 2 s', T, async () => {
      const primaryAddr = (await role(addrs[0])) === 'Role: primary' ? addrs[0] : addrs[1];
      const replicaAddr = primaryAddr === addrs[0] ? addrs[1] : addrs[0];
      assert.equal(await role(replicaAddr), `Role: replica, Primary: ${primaryAddr}`);
      type Rec = { client: string; start: number; end: number; ok: boolean; msg: string };
      const recs: Rec[] = [];
      let stop = false;
      const client = async (label: string, addr: string, args: string[]): Promise<void> => {
        while (!stop) {
          const start = Date.now();
          const r = await docker(addr, args);
          const msg = r.code === 0 ? '' : (r.stderr.split('\n').find((l) => l.trim() && !/WARNING/.test(l)) ?? `exit ${r.code}`).trim();
          recs.push({ client: label, start, end: Date.now(), ok: r.code === 0, msg });
        }
      };
      const load = [
        client('ps via replica', replicaAddr, ['ps']),
        client('run via replica', replicaAddr, ['run', '--rm', 'busybox', 'true']),
        client('info via primary', primaryAddr, ['info', '--format', '{{.Containers}}']),
        client('ps via primary', primaryAddr, ['ps']),
      ];
      await sleep(2_000);
      const t0 = Date.now();
      await managers.get(primaryAddr)!.kill();
      const now = await eventually(() => role(replicaAddr), (r) => r === 'Role: primary', 15_000, 100);
      const took = Date.now() - t0;
      assert.equal(now, 'Role: primary');
      // Requests through the new primary succeed again.
      await eventually(async () => recs.filter((r) => r.client.endsWith('via replica') && r.start > t0 + took && r.ok).length, (n) => n >= 2, 45_000, 200);
      // The old primary restarted comes back as a replica; its clients are served again.
      manage(primaryAddr);
      assert.equal(await eventually(() => role(primaryAddr), (r) => r === `Role: replica, Primary: ${replicaAddr}`, 45_000), `Role: replica, Primary: ${replicaAddr}`);
      const back = Date.now();
      await eventually(async () => recs.filter((r) => r.client.endsWith('via primary') && r.start > back && r.ok).length, (n) => n >= 2, 45_000, 200);
      stop = true;
      await Promise.all(load);

      const after0 = recs.filter((r) => r.end > t0);
      const failed = after0.filter((r) => !r.ok);
      const summary = new Map<string, number>();
      for (const f of failed) summary.set(`${f.client}: ${f.msg}`, (summary.get(`${f.client}: ${f.msg}`) ?? 0) + 1);
      const viaReplica = after0.filter((r) => r.client.endsWith('via replica'));
      console.log(`# etcd failover under load: takeover after ${took} ms (TTL ${TTL_MS} ms); requests after the kill: ${after0.length}, failed: ${failed.length} ` +
        `(through the replica: ${viaReplica.filter((r) => !r.ok).length} of ${viaReplica.length})`);
      for (const [k, n] of summary) console.log(`#   ${n} × ${k}`);
      assert.ok(took <= TTL_MS + 2_000, `took over after ${took} ms`);
      // Through the replica, nothing fails once it is the primary.
      const late = viaReplica.filter((r) => !r.ok && r.start > t0 + took + 500);
      assert.deepEqual(late.map((r) => `${r.client}: ${r.msg}`), [], 'failures through the replica after it took over');
      for (const r of failed) assert.ok(!/killed after/.test(r.msg), `a request hung: ${r.client}: ${r.msg}`);
    });

    test('a primary stopped with SIGTERM lets go of the lock: the replica takes over at once, not after the TTL', T, async () => {
      const LONG_TTL = 20_000;
      for (const m of managers.values()) await m.kill();
      const a = manage(addrs[0], LONG_TTL);
      // The killed primary's lock goes after its TTL (3 s); then this one wins.
      assert.equal(await eventually(() => role(addrs[0]), (r) => r === 'Role: primary', 45_000), 'Role: primary', SwarmProcs.tail(a));
      manage(addrs[1], LONG_TTL);
      assert.equal(await eventually(() => role(addrs[1]), (r) => r === `Role: replica, Primary: ${addrs[0]}`, 45_000), `Role: replica, Primary: ${addrs[0]}`);
      const exited = new Promise<number | null>((r) => a.proc.once('exit', (code) => r(code)));
      const t0 = Date.now();
      a.proc.kill('SIGTERM');
      const now = await eventually(() => role(addrs[1]), (r) => r === 'Role: primary', LONG_TTL, 100);
      const took = Date.now() - t0;
      assert.equal(now, 'Role: primary');
      assert.equal(await exited, 0);
      console.log(`# etcd: SIGTERMed primary handed over after ${took} ms (TTL ${LONG_TTL} ms)`);
      assert.ok(took < LONG_TTL / 2, `took over after ${took} ms: the lock was not let go`);
      const ps = await docker(addrs[1], ['ps']);
      assert.equal(ps.code, 0, ps.stderr);
    });
  });
}

// Blocks 10 and 12 are discovery-flows.test.ts's too (same store ports): files run one at a time.
storeOutage('etcd', 10, etcdSkipReason, async () => {
  const e = await startEtcd({ clientPort: 24570, peerPort: 24571 });
  return { url: (p) => `etcd://${e.endpoint}/${p}`, down: () => e.kill(), up: () => e.start(), stop: () => e.stop() };
}, true);

storeOutage('zk', 12, zookeeperMissing, async () => {
  const z = await startZooKeeper({ port: 24575, tickTime: 500 });
  return { url: (p) => `zk://${z.connect}/${p}`, down: () => z.halt(), up: () => z.start(), stop: () => z.stop() };
}, false);
