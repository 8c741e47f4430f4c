// Rescheduling on node failure (issue 14), on 3 real engines: node-2 is
// killed with containers on it, each case checks where its container went
// (or why it stayed), then node-2 comes back and its stale copies go.
// Engines: node-0 zone=a, node-1 zone=b, node-2 zone=b. Containers meant to
// start on node-2 use the soft constraint node==~node-2, so they may move.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { eventually } from '../lib/wait.js';
import { clusterBlock, dockerCommand, skipReason, withCluster, type TestCluster } from '../lib/cluster.js';

const BLOCK = clusterBlock(4); // shared with holes.test.ts (files run one at a time)
const T = { timeout: 120_000 };
const FAST = ['--engine-refresh-min-interval', '1s', '--engine-refresh-max-interval', '2s', '--engine-failure-retry', '2'];
const POLICY = ['-e', 'reschedule:on-node-failure'];
const ON2 = ['-e', 'constraint:node==~node-2'];

interface Where { node: string; state: string; id: string; sid: string; labels: Record<string, string> }

describe('rescheduling (reschedule:on-node-failure)', { skip: skipReason() }, () => {
  let c: TestCluster;
  let events: ChildProcess | undefined;
  let eventsOut = '';
  let eventsErr = ''; // the events client's own complaints, shown when an event is missing
  const before2: Record<string, Where> = {};
  const composeDir = fs.mkdtempSync('/tmp/resched-compose-');
  let killedAt = 0;

  const dk = async (args: string[]): Promise<string> => {
    const r = await c.docker(args, { timeoutMs: 60_000 });
    assert.equal(r.code, 0, `docker ${args.join(' ')}: ${r.stderr}`);
    return r.stdout.trim();
  };
  /** Where a container is now, by name (undefined: no such container). */
  const whereErrors: Record<string, string> = {}; // the last failed inspect per name
  const where = async (name: string): Promise<Where | undefined> => {
    // .Node is classic Swarm's addition: the CLI then formats the raw JSON.
    const r = await c.docker(['inspect', '--format', '{{.Node.Name}}|{{.State.Status}}|{{.Id}}|{{json .Config.Labels}}', name]);
    if (r.code !== 0) { whereErrors[name] = r.stderr.trim(); return undefined; }
    const [node, state, id, ...rest] = r.stdout.trim().split('|');
    const labels = JSON.parse(rest.join('|'));
    return { node, state, id, sid: labels['com.docker.swarm.id'], labels };
  };
  /**
   * For a move that did not happen: the manager's log lines about the
   * container (its IDs, its name) and every warning or error, last 60.
   */
  const managerLog = (key: keyof typeof before2): string => {
    const w = before2[key];
    try {
      const all = fs.readFileSync(c.manager!.logFile, 'utf8').trimEnd().split('\n');
      const hits = all.filter((l) => (w && (l.includes(w.id) || l.includes(w.sid))) || / (WARN|ERROR) /.test(l) || /rs-|[Rr]eschedul/.test(l));
      return `\nmanager log (${key}, warnings, errors; last 60 of ${hits.length}):\n` + hits.slice(-60).join('\n');
    } catch {
      return '';
    }
  };
  const run = async (name: string, args: string[]): Promise<Where> => {
    await dk(['run', '-d', '--name', name, '--stop-timeout', '1', ...args]);
    return (await where(name))!;
  };
  const compose = (args: string[]) => new Promise<{ code: number; out: string }>((resolve) => {
    const p = spawn('docker-compose', ['-p', 'rs', '-f', path.join(composeDir, 'docker-compose.yml'), ...args], {
      env: { ...process.env, DOCKER_HOST: c.dockerHost, COMPOSE_INTERACTIVE_NO_CLI: '1' },
    });
    let out = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { out += d; });
    p.on('close', (code) => resolve({ code: code ?? 1, out }));
  });

  before(async () => {
    c = await withCluster({ ...BLOCK, nodes: 3, labels: [{ zone: 'a' }, { zone: 'b' }, { zone: 'b' }], managerArgs: FAST });
    const { bin, env } = dockerCommand({ host: c.managerAddr }, c.dockerConfig);
    events = spawn(bin, ['events', '--format', '{{.Type}} {{.Action}} {{.Actor.ID}} {{json .Actor.Attributes}}'], { env });
    events.stdout!.on('data', (d) => { eventsOut += d; });
    events.stderr!.on('data', (d) => { eventsErr += d; });
    events.on('exit', (code, sig) => { eventsErr += `\n[docker events exited: ${sig ?? code}]`; });
    // On node-2: a plain one, one limited to zone b (so only node-1 can take
    // it), one publishing a port taken on node-0 (so only node-1 can take
    // it), one pinned hard to node-2 (cannot move), one stopped, one without
    // the policy, and a Compose service.
    await dk(['run', '-d', '--name', 'blocker', '-p', '8080:80', '-e', 'constraint:node==node-0', 'busybox', 'sleep', '1000']);
    before2.plain = await run('rs-plain', [...POLICY, ...ON2, '-l', 'app=plain', 'busybox', 'sleep', '1000']);
    before2.zone = await run('rs-zone', [...POLICY, ...ON2, '-e', 'constraint:zone==b', 'busybox', 'sleep', '1000']);
    before2.port = await run('rs-port', [...POLICY, ...ON2, '-p', '8080:80', 'busybox', 'sleep', '1000']);
    before2.pinned = await run('rs-pinned', [...POLICY, '-e', 'constraint:node==node-2', 'busybox', 'sleep', '1000']);
    before2.off = await run('rs-off', [...ON2, 'busybox', 'sleep', '1000']);
    await dk(['create', '--name', 'rs-stopped', ...POLICY, ...ON2, 'busybox', 'true']);
    before2.stopped = (await where('rs-stopped'))!;
    fs.writeFileSync(path.join(composeDir, 'docker-compose.yml'), [
      'version: "2"',
      'services:',
      '  web:',
      '    image: busybox',
      '    command: sleep 1000',
      '    network_mode: bridge',
      '    environment:',
      '      - "constraint:node==~node-2"',
      '    labels:',
      '      com.docker.swarm.reschedule-policies: \'["on-node-failure"]\'',
      '',
    ].join('\n'));
    const up = await compose(['up', '-d']);
    assert.equal(up.code, 0, up.out);
    before2.compose = (await where('rs_web_1'))!;
    for (const [k, w] of Object.entries(before2)) assert.equal(w.node, 'node-2', `${k} did not start on node-2`);
    await c.set.stopEngine(2, { kill: true });
    killedAt = Date.now();
  }, { timeout: 180_000 });

  after(async () => {
    events?.kill();
    await compose(['down']).catch(() => undefined);
    await c?.stop();
    fs.rmSync(composeDir, { recursive: true, force: true });
  }, { timeout: 120_000 });

  test('a running container moves with its name, labels and Swarm ID, and is started', T, async (t) => {
    const w = await eventually(() => where('rs-plain'), (x) => !!x && x.node !== 'node-2' && x.state === 'running', 60_000, 250);
    t.diagnostic(`SIGKILL of node-2 -> rs-plain running on ${w?.node}: ${Date.now() - killedAt} ms (retry 2, refresh 1-2 s; 6 containers to move)`);
    assert.ok(w && w.node !== 'node-2', JSON.stringify(w) + managerLog('plain'));
    assert.equal(w.state, 'running');
    assert.notEqual(w.id, before2.plain.id);
    assert.equal(w.sid, before2.plain.sid, 'the Swarm ID is kept');
    assert.equal(w.labels.app, 'plain');
    assert.equal(w.labels['com.docker.swarm.reschedule-policies'], '["on-node-failure"]');
    // One container of that name in the cluster, not two.
    const names = (await dk(['ps', '-a', '--format', '{{.Names}}'])).split('\n').filter((n) => n.endsWith('/rs-plain'));
    assert.deepEqual(names, [`${w.node}/rs-plain`]);
  });

  test('its constraints still hold: zone==b can only go to node-1', T, async () => {
    const w = await eventually(() => where('rs-zone'), (x) => !!x && x.node !== 'node-2', 60_000, 500);
    assert.equal(w?.node, 'node-1', `${JSON.stringify(w)} ${whereErrors['rs-zone'] ?? ''}${managerLog('zone')}`);
    assert.equal(w?.state, 'running');
  });

  test('its exposed port still holds: 8080 is taken on node-0, so node-1', T, async () => {
    const w = await eventually(() => where('rs-port'), (x) => !!x && x.node !== 'node-2', 60_000, 500);
    assert.equal(w?.node, 'node-1', JSON.stringify(w) + managerLog('port'));
    const port = await dk(['port', 'rs-port', '80']);
    assert.match(port, /:8080$/m);
  });

  test('a stopped container moves but is not started', T, async () => {
    const w = await eventually(() => where('rs-stopped'), (x) => !!x && x.node !== 'node-2', 60_000, 500);
    assert.ok(w && w.node !== 'node-2', JSON.stringify(w) + managerLog('stopped'));
    assert.equal(w.state, 'created');
  });

  test('a Compose service is rescheduled and Compose still knows it', T, async () => {
    const w = await eventually(() => where('rs_web_1'), (x) => !!x && x.node !== 'node-2' && x.state === 'running', 60_000, 500);
    assert.ok(w && w.node !== 'node-2', JSON.stringify(w) + managerLog('compose'));
    assert.equal(w.labels['com.docker.compose.service'], 'web');
    const ps = await compose(['ps']);
    assert.match(ps.out, /rs_web_1\s.*Up/, ps.out);
  });

  test('a container no other node can take stays, and says why in its event', T, async () => {
    const ev = await eventually(async () => eventsOut, (s) => /container reschedule \S+ .*"error":"[^"]*".*"name":"rs-pinned"/.test(s) || /"name":"rs-pinned".*"error"/.test(s), 30_000, 500);
    const line = ev.split('\n').find((l) => l.includes('"rs-pinned"') && l.includes(' reschedule '));
    assert.ok(line, `${ev}\n--- stderr of docker events:\n${eventsErr}`);
    assert.match(line!, /"error":"[^"]+"/);
    const all = await dk(['ps', '-a', '--no-trunc', '--format', '{{.ID}}|{{.Names}}|{{.Status}}']);
    assert.ok(all.includes(`${before2.pinned.id}|node-2/rs-pinned|Host Down`), all);
  });

  test('a container without the policy is not touched: Host Down', T, async () => {
    const all = await dk(['ps', '-a', '--no-trunc', '--format', '{{.ID}}|{{.Names}}|{{.Status}}']);
    assert.ok(all.includes(`${before2.off.id}|node-2/rs-off|Host Down`), all);
  });

  test('each move is an event naming the old and the new node', T, async () => {
    const plain = (await where('rs-plain'))!;
    const line = eventsOut.split('\n').find((l) => l.startsWith(`container reschedule ${plain.id} `));
    assert.ok(line, `${eventsOut}\n--- stderr of docker events:\n${eventsErr}`);
    const attrs = JSON.parse(line!.split(' ').slice(3).join(' '));
    assert.equal(attrs['reschedule.from'], 'node-2');
    assert.equal(attrs['reschedule.from.id'], before2.plain.id);
    assert.equal(attrs['reschedule.to'], plain.node);
  });

  test('node-2 comes back: stale copies are removed from it, the others stay', T, async () => {
    await c.set.restartEngine(2);
    const engine2 = async () => {
      const r = await c.docker(['ps', '-a', '--format', '{{.Names}}'], { host: c.engines[2].addr, cli: 'old' });
      return r.stdout.split('\n').filter(Boolean).sort();
    };
    // What node-2 itself holds once the manager cleaned up: only what did not move.
    const left = await eventually(engine2, (n) => !n.some((x) => ['rs-plain', 'rs-zone', 'rs-port', 'rs-stopped', 'rs_web_1'].includes(x)) && n.includes('rs-off'), 60_000, 500);
    assert.deepEqual(left, ['rs-off', 'rs-pinned']);
    // Through the manager: one of each name, the moved ones where they went.
    const names = (await dk(['ps', '-a', '--format', '{{.Names}}'])).split('\n').sort();
    const count = (n: string) => names.filter((x) => x.endsWith(`/${n}`)).length;
    for (const n of ['rs-plain', 'rs-zone', 'rs-port', 'rs-stopped', 'rs_web_1', 'rs-off', 'rs-pinned']) assert.equal(count(n), 1, `${n}: ${names.join(' ')}`);
    assert.equal((await where('rs-plain'))!.sid, before2.plain.sid);
    assert.equal((await where('rs-off'))!.node, 'node-2');
  });
});
