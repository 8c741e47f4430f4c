// Issue 2 "Done when", through the unchanged docker CLIs (28 and 20.10): one
// manager in front of 3 real engines must behave like one Docker engine.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { sleep, eventually } from '../lib/wait.js';
import {
  clusterBlock,
  DOCKER_CLI_NEW,
  DOCKER_CLI_OLD,
  skipReason,
  withCluster,
  type DockerOptions,
  type DockerResult,
  type TestCluster,
} from '../lib/cluster.js';

const BLOCK = clusterBlock(1); // slots 10-12, engine ports 23700-23702, manager 23750
const T = { timeout: 90_000 };
const CLIS = ['new', 'old'] as const;
type Cli = (typeof CLIS)[number];
const NODES = ['node-0', 'node-1', 'node-2'];

describe('spine through the docker CLI (3 engines)', { skip: skipReason() }, () => {
  let c: TestCluster;
  let t0 = 0; // unix seconds, before any container was started

  before(async () => {
    t0 = Math.floor(Date.now() / 1000) - 1;
    c = await withCluster({ ...BLOCK, nodes: 3 });
    // The manager answers /_ping before it has validated its engines.
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const r = await c.docker(['info']);
      if (r.stdout.match(/└ Status: Healthy/g)?.length === 3) break;
      await sleep(200);
    }
  }, { timeout: 180_000 });
  after(async () => {
    await c?.stop();
  }, { timeout: 120_000 });

  /** docker via the manager; must exit 0. Returns stdout. */
  async function dk(args: string[], o: DockerOptions = {}): Promise<string> {
    const r = await c.docker(args, o);
    assert.equal(r.code, 0, `docker ${args.join(' ')} (${o.cli ?? 'new'}) exited ${r.code}: ${r.stderr}`);
    return r.stdout;
  }

  const lines = (s: string): string[] => s.split('\n').map((l) => l.trim()).filter(Boolean);

  /** Run a docker command line under a pty (util-linux `script`), as a terminal user would. */
  function underPty(cli: Cli, cmdline: string, timeoutMs = 30_000): Promise<DockerResult> {
    const bin = cli === 'old' ? DOCKER_CLI_OLD : DOCKER_CLI_NEW;
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      DOCKER_HOST: c.dockerHost,
      DOCKER_CONFIG: path.join(c.stateDir, 'docker-config'),
      DOCKER_CLI_HINTS: 'false',
      TERM: 'xterm',
    };
    delete env.DOCKER_CONTEXT;
    delete env.DOCKER_API_VERSION;
    delete env.DOCKER_TLS_VERIFY;
    return new Promise((resolve) => {
      const child = spawn('script', ['-qec', `${bin} ${cmdline}`, '/dev/null'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const timer = setTimeout(() => {
        stderr += `\n[test] script killed after ${timeoutMs}ms`;
        child.kill('SIGKILL');
      }, timeoutMs);
      child.on('close', (code, sig) => {
        clearTimeout(timer);
        resolve({ code: code ?? (sig ? 128 : -1), stdout, stderr });
      });
    });
  }

  async function inspectField(ref: string, format: string, cli: Cli = 'new'): Promise<string> {
    return (await dk(['inspect', '-f', format, ref], { cli })).trim();
  }


  // ---- system -------------------------------------------------------------

  for (const cli of CLIS) {
    test(`docker info lists 3 healthy nodes in classic Swarm's layout (${cli} CLI)`, T, async () => {
      const out = await dk(['info'], { cli });
      assert.match(out, /^ Server Version: swarm\//m);
      assert.match(out, /^ Role: primary$/m);
      assert.match(out, /^ Strategy: spread$/m);
      assert.match(out, /^ Filters: health, port, containerslots, dependency, affinity, constraint, whitelist$/m);
      assert.match(out, /^ Nodes: 3$/m);
      c.engines.forEach((e, i) => {
        // Each node block: " name: addr" then its └ lines, Status Healthy.
        const block = new RegExp(
          `^  ${NODES[i]}: ${e.addr.replace(/\./g, '\\.')}\\n` +
            '   └ ID: [A-Z0-9:]+\\n' +
            '   └ Status: Healthy\\n' +
            '   └ Containers: \\d+ \\(\\d+ Running, \\d+ Paused, \\d+ Stopped\\)\\n' +
            '   └ Reserved CPUs: [\\d.]+ / \\d+\\n' +
            '   └ Reserved Memory: .+ / .+\\n' +
            '   └ Labels: .*ostype=linux.*\\n' +
            '   └ UpdatedAt: \\S+\\n' +
            '   └ ServerVersion: \\S+',
          'm',
        );
        assert.match(out, block, `node block for ${NODES[i]} in:\n${out}`);
      });
      assert.equal(out.match(/└ Status: Healthy/g)?.length, 3);
      // CPUs are the sum over the engines.
      const ncpu = Number((await dk(['info', '--format', '{{.NCPU}}'], { cli })).trim());
      const one = Number((await dk(['info', '--format', '{{.NCPU}}'], { cli, host: c.engines[0]!.addr })).trim());
      assert.equal(ncpu, 3 * Math.floor(one * 1.05), 'NCPU sums the engines, with the default 5% overcommit');
    });

    test(`docker version negotiates without "client is newer" (${cli} CLI)`, T, async () => {
      const r = await c.docker(['version'], { cli });
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stderr + r.stdout, /newer|too new|too old/i);
      assert.match(r.stdout, /^Server: Docker Swarm - Community$/m);
      assert.match(r.stdout, /Version:\s+swarm\//);
      const api = (await dk(['version', '--format', '{{.Server.APIVersion}}'], { cli })).trim();
      assert.equal(api, '1.41');
      const clientApi = (await dk(['version', '--format', '{{.Client.APIVersion}}'], { cli })).trim();
      assert.equal(clientApi, '1.41', 'the client negotiated down to the advertised version');
    });
  }

  // ---- placement ----------------------------------------------------------

  test('6 containers created in a row spread 2/2/2 over the 3 nodes', T, async () => {
    // Spread ranks by container count: start from an empty cluster.
    assert.equal((await dk(['ps', '-aq'])).trim(), '', 'cluster is empty at the start');
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      ids.push((await dk(['run', '-d', '--name', `spread${i}`, 'busybox', 'sleep', '600'], { cli: CLIS[i % 2] })).trim());
    }
    for (const id of ids) assert.match(id, /^[0-9a-f]{64}$/);
    const names = lines(await dk(['ps', '--format', '{{.Names}}']));
    assert.equal(names.length, 6, names.join(' '));
    const per: Record<string, number> = {};
    for (const n of names) {
      const node = n.split('/')[0]!;
      per[node] = (per[node] ?? 0) + 1;
    }
    assert.deepEqual(per, { 'node-0': 2, 'node-1': 2, 'node-2': 2 });
    // The engines agree with the manager.
    for (const e of c.engines) {
      const onEngine = lines(await dk(['ps', '-q'], { cli: 'old', host: e.addr }));
      assert.equal(onEngine.length, 2, `${e.name} runs ${onEngine.length}`);
    }
  });

  // ---- run ----------------------------------------------------------------

  for (const cli of CLIS) {
    test(`run -d, then ps shows it running (${cli} CLI)`, T, async () => {
      const id = (await dk(['run', '-d', '--name', `d-${cli}`, 'busybox', 'sleep', '600'], { cli })).trim();
      assert.match(id, /^[0-9a-f]{64}$/);
      const ps = lines(await dk(['ps', '--no-trunc', '--format', '{{.ID}} {{.Names}} {{.Status}}'], { cli }));
      const row = ps.find((l) => l.startsWith(id));
      assert.ok(row, `ps lacks ${id}:\n${ps.join('\n')}`);
      assert.match(row, new RegExp(`^${id} node-[012]/d-${cli} Up `));
      assert.equal(await inspectField(id, '{{.State.Running}}', cli), 'true');
    });

    test(`run --rm prints and leaves nothing behind (${cli} CLI)`, T, async () => {
      const r = await c.docker(['run', '--rm', '--name', `rm-${cli}`, 'busybox', 'echo', 'hi'], { cli });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, 'hi\n');
      const gone = await c.docker(['inspect', `rm-${cli}`], { cli });
      assert.notEqual(gone.code, 0);
      assert.match(gone.stderr, /No such/i);
      // The cache catches up from the engine's destroy event.
      const left = await eventually(() => dk(['ps', '-a', '--filter', `name=rm-${cli}`, '-q']), (s) => s.trim() === '', 5000);
      assert.equal(left.trim(), '');
    });

    test(`run -i with stdin piped reaches the container and back (${cli} CLI)`, T, async () => {
      const r = await c.docker(['run', '--rm', '-i', 'busybox', 'cat'], { cli, input: 'piped\nsecond line\n' });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, 'piped\nsecond line\n');
      // Exit codes come through the attach/wait pair too.
      const r2 = await c.docker(['run', '--rm', '-i', 'busybox', 'sh', '-c', 'cat; exit 5'], { cli, input: 'x\n' });
      assert.equal(r2.code, 5, r2.stderr);
      assert.equal(r2.stdout, 'x\n');
    });

    test(`run -it under a pty gets a tty and its exit code (${cli} CLI)`, T, async () => {
      const r = await underPty(cli, `run -it --rm busybox sh -c 'tty; exit 3'`);
      assert.equal(r.code, 3, `exit ${r.code}: ${r.stdout} ${r.stderr}`);
      assert.match(r.stdout, /\/dev\/pts\/\d+/);
    });
  }

  // ---- exec, logs, cp, stats, top -------------------------------------------

  for (const cli of CLIS) {
    test(`exec, exec -i and exec -it (${cli} CLI)`, T, async () => {
      const name = `d-${cli}`;
      assert.equal(await dk(['exec', name, 'echo', 'execd'], { cli }), 'execd\n');
      const r = await c.docker(['exec', '-i', name, 'sh', '-c', 'cat; exit 6'], { cli, input: 'in exec\n' });
      assert.equal(r.code, 6, r.stderr);
      assert.equal(r.stdout, 'in exec\n');
      const t = await underPty(cli, `exec -it ${name} sh -c 'tty; exit 4'`);
      assert.equal(t.code, 4, `exit ${t.code}: ${t.stdout} ${t.stderr}`);
      assert.match(t.stdout, /\/dev\/pts\/\d+/);
      // node/name works for exec as well.
      const node = await inspectField(name, '{{.Node.Name}}', cli);
      assert.equal(await dk(['exec', `${node}/${name}`, 'hostname'], { cli }), `${(await inspectField(name, '{{.Config.Hostname}}'))}\n`);
    });

    test(`logs and logs -f follow a container until it exits (${cli} CLI)`, T, async () => {
      const name = `logs-${cli}`;
      await dk(['run', '-d', '--name', name, 'busybox', 'sh', '-c', 'for i in 1 2 3; do echo line$i; sleep 0.7; done'], { cli });
      const started = Date.now();
      const f = await c.docker(['logs', '-f', name], { cli, timeoutMs: 20_000 });
      const took = Date.now() - started;
      assert.equal(f.code, 0, f.stderr);
      assert.equal(f.stdout, 'line1\nline2\nline3\n');
      assert.ok(took >= 1000, `logs -f returned after ${took}ms: it did not follow`);
      assert.equal(await dk(['logs', name], { cli }), 'line1\nline2\nline3\n');
      assert.equal(await dk(['logs', '--tail', '1', name], { cli }), 'line3\n');
      assert.equal(await inspectField(name, '{{.State.Status}}', cli), 'exited');
      // The manager's cache learns it exited from the engine's events, not from a 30s refresh.
      const st = await eventually(
        async () => (await dk(['ps', '-a', '--filter', `name=${name}`, '--format', '{{.Status}}'], { cli })).trim(),
        (s) => s.startsWith('Exited'),
        3000,
      );
      assert.match(st, /^Exited \(0\)/);
      assert.equal((await dk(['ps', '-q', '--filter', `name=${name}`], { cli })).trim(), '', 'an exited container is hidden without -a');
    });

    test(`cp both ways (${cli} CLI)`, T, async () => {
      const name = `d-${cli}`;
      const dir = fs.mkdtempSync(path.join(c.stateDir, `cp-${cli}-`));
      const src = path.join(dir, 'in.txt');
      fs.writeFileSync(src, `hello from the host ${cli}\n`);
      await dk(['cp', src, `${name}:/tmp/in.txt`], { cli });
      assert.equal(await dk(['exec', name, 'cat', '/tmp/in.txt'], { cli }), `hello from the host ${cli}\n`);
      await dk(['exec', name, 'sh', '-c', `echo made inside ${cli} > /tmp/out.txt`], { cli });
      const dst = path.join(dir, 'out.txt');
      await dk(['cp', `${name}:/tmp/out.txt`, dst], { cli });
      assert.equal(fs.readFileSync(dst, 'utf8'), `made inside ${cli}\n`);
      // A directory, as a tar stream both ways.
      await dk(['cp', `${name}:/etc`, path.join(dir, 'etc')], { cli });
      assert.ok(fs.existsSync(path.join(dir, 'etc', 'hostname')));
    });

    test(`stats --no-stream and top (${cli} CLI)`, T, async () => {
      const name = `d-${cli}`;
      const st = lines(await dk(['stats', '--no-stream', '--format', '{{.Name}}|{{.MemUsage}}|{{.PIDs}}', name], { cli }));
      assert.equal(st.length, 1, st.join('\n'));
      assert.match(st[0]!, new RegExp(`^${name}\\|\\S+ / \\S+\\|1$`));
      const top = await dk(['top', name], { cli });
      assert.match(top, /PID/);
      assert.match(top, /sleep 600/);
    });
  }

  test('stats --no-stream for all running containers covers every node', T, async () => {
    const st = lines(await dk(['stats', '--no-stream', '--format', '{{.Name}}']));
    for (const n of ['spread0', 'spread1', 'spread2', 'spread3', 'spread4', 'spread5', 'd-new', 'd-old']) {
      assert.ok(st.includes(n), `stats lacks ${n}: ${st.join(' ')}`);
    }
  });

  // ---- rename, ps, inspect, lookup ---------------------------------------

  test('rename: the new name resolves, the old one is gone', T, async () => {
    const id = (await dk(['run', '-d', '--name', 'before-rename', 'busybox', 'sleep', '600'])).trim();
    await dk(['rename', 'before-rename', 'after-rename']);
    assert.equal(await inspectField('after-rename', '{{.Id}}'), id);
    assert.equal(await inspectField('after-rename', '{{.Name}}'), '/after-rename');
    const old = await c.docker(['inspect', '--type', 'container', 'before-rename']);
    assert.notEqual(old.code, 0);
    assert.match(old.stderr, /No such container: before-rename/);
    const node = await inspectField(id, '{{.Node.Name}}');
    const ps = lines(await dk(['ps', '-a', '--format', '{{.Names}}']));
    assert.ok(ps.includes(`${node}/after-rename`), ps.join(' '));
    assert.ok(!ps.some((n) => n.endsWith('/before-rename')), ps.join(' '));
    // Old CLI, node/name form.
    assert.equal(await inspectField(`${node}/after-rename`, '{{.Id}}', 'old'), id);
  });

  for (const cli of CLIS) {
    test(`ps -a names carry the node; --filter node=, name=, status= (${cli} CLI)`, T, async () => {
      const all = lines(await dk(['ps', '-a', '--format', '{{.Names}}'], { cli }));
      assert.ok(all.length >= 10, all.join(' '));
      for (const n of all) assert.match(n, /^node-[012]\/[a-zA-Z0-9][a-zA-Z0-9_.-]*$/);
      // The same containers, the same names, as the engines list them.
      let total = 0;
      for (const e of c.engines) {
        const own = lines(await dk(['ps', '-a', '--format', '{{.Names}}'], { cli: 'old', host: e.addr }));
        total += own.length;
        for (const n of own) assert.ok(all.includes(`${e.name}/${n}`), `${e.name}/${n} missing from the cluster list`);
        const filtered = lines(await dk(['ps', '-a', '--filter', `node=${e.name}`, '--format', '{{.Names}}'], { cli }));
        assert.deepEqual([...filtered].sort(), own.map((n) => `${e.name}/${n}`).sort(), `--filter node=${e.name}`);
      }
      assert.equal(all.length, total);
      const byName = lines(await dk(['ps', '-a', '--filter', 'name=spread', '--format', '{{.Names}}'], { cli }));
      assert.equal(byName.length, 6, byName.join(' '));
      assert.ok(byName.every((n) => /^node-[012]\/spread[0-5]$/.test(n)));
      const exited = lines(await dk(['ps', '-a', '--filter', 'status=exited', '--format', '{{.Names}} {{.Status}}'], { cli }));
      assert.ok(exited.some((l) => /\/logs-new Exited \(0\)/.test(l)), exited.join('\n'));
      assert.ok(exited.every((l) => / Exited \(/.test(l)), exited.join('\n'));
      assert.ok(!exited.some((l) => l.includes('/spread')), exited.join('\n'));
      const running = lines(await dk(['ps', '--format', '{{.Names}}'], { cli }));
      assert.ok(!running.some((n) => n.includes('/logs-')), 'exited containers hidden without -a');
    });
  }

  test('ps --filter since= / before= order by creation across nodes; -s, -l, -n', T, async () => {
    const names = ['order-a', 'order-b', 'order-c'];
    for (const n of names) {
      const r = await c.docker(['run', '-d', '--name', n, 'busybox', 'sleep', '300']);
      assert.equal(r.code, 0, r.stderr);
    }
    try {
      const ps = async (...args: string[]): Promise<string[]> =>
        (await c.docker(['ps', ...args, '--format', '{{.Names}}'])).stdout.split('\n').filter(Boolean).map((l) => l.split('/')[1]);
      assert.deepEqual(await ps('--filter', 'since=order-a'), ['order-c', 'order-b']);
      assert.deepEqual((await ps('--filter', 'before=order-c')).filter((n) => n.startsWith('order-')), ['order-b', 'order-a']);
      assert.deepEqual(await ps('-l'), ['order-c']);
      assert.deepEqual(await ps('-n', '2'), ['order-c', 'order-b']);
      const sized = await c.docker(['ps', '-s', '--filter', 'name=order-', '--format', '{{.Names}} {{.Size}}']);
      assert.equal(sized.code, 0, sized.stderr);
      assert.equal(sized.stdout.split('\n').filter((l) => /virtual/.test(l)).length, 3, sized.stdout);
    } finally {
      await c.docker(['rm', '-f', ...names]);
    }
  });

  test('inspect has Node; lookup by full ID, short ID, unique prefix, name, node/name', T, async () => {
    const id = (await dk(['run', '-d', '--name', 'lookup', 'busybox', 'sleep', '600'])).trim();
    const node = await inspectField('lookup', '{{.Node.Name}}');
    const e = c.engines.find((x) => x.name === node);
    assert.ok(e, `unknown node ${node}`);
    assert.equal(await inspectField('lookup', '{{.Node.Addr}}'), e.addr);
    assert.equal(await inspectField('lookup', '{{.Node.IP}}'), '127.0.0.1');
    const all = lines(await dk(['ps', '-aq', '--no-trunc']));
    let n = 1;
    while (all.filter((x) => x.startsWith(id.slice(0, n))).length > 1) n++;
    const prefix = id.slice(0, Math.max(n, 3));
    for (const ref of [id, id.slice(0, 12), prefix, 'lookup', '/lookup', `${node}/lookup`]) {
      for (const cli of CLIS) assert.equal(await inspectField(ref, '{{.Id}}', cli), id, `lookup by ${ref} (${cli})`);
    }
    const other = NODES.find((x) => x !== node)!;
    const wrong = await c.docker(['inspect', '--type', 'container', `${other}/lookup`]);
    assert.notEqual(wrong.code, 0, 'node/name on the wrong node must not resolve');
    assert.match(wrong.stderr, /No such container/);
  });

  // ---- lifecycle ----------------------------------------------------------

  test('stop, start, restart, pause/unpause, kill, wait, rm -f', T, async () => {
    const id = (await dk(['run', '-d', '--name', 'life', 'busybox', 'sleep', '600'])).trim();
    const status = () => inspectField(id, '{{.State.Status}}');
    const psStatus = async (all: boolean) =>
      (await dk(['ps', ...(all ? ['-a'] : []), '--filter', 'name=life', '--format', '{{.Status}}'])).trim();

    await dk(['stop', '-t', '1', 'life']);
    assert.equal(await status(), 'exited');
    assert.match(await psStatus(true), /^Exited \(\d+\)/);
    assert.equal(await psStatus(false), '', 'a stopped container is hidden without -a');

    await dk(['start', 'life'], { cli: 'old' });
    assert.equal(await status(), 'running');
    const started1 = await inspectField(id, '{{.State.StartedAt}}');
    await dk(['restart', '-t', '1', 'life']);
    assert.equal(await status(), 'running');
    assert.notEqual(await inspectField(id, '{{.State.StartedAt}}'), started1, 'restart started it again');

    await dk(['pause', 'life']);
    assert.equal(await status(), 'paused');
    assert.match(await psStatus(true), /\(Paused\)$/);
    assert.match(await psStatus(false), /\(Paused\)$/, 'docker ps (no -a) lists paused containers, as Docker does');
    assert.equal((await dk(['ps', '-a', '--filter', 'status=paused', '--format', '{{.Names}}'])).trim().split('/')[1], 'life');
    await dk(['unpause', 'life'], { cli: 'old' });
    assert.equal(await status(), 'running');

    await dk(['kill', 'life']);
    assert.equal(await status(), 'exited');
    assert.equal(await inspectField(id, '{{.State.ExitCode}}'), '137');
    const killed = await eventually(() => psStatus(true), (s) => s.startsWith('Exited (137)'), 5000);
    assert.match(killed, /^Exited \(137\)/);

    for (const cli of CLIS) {
      const w = (await dk(['run', '-d', '--name', `wait-${cli}`, 'busybox', 'sh', '-c', 'sleep 1; exit 7'], { cli })).trim();
      assert.equal((await dk(['wait', w.slice(0, 12)], { cli })).trim(), '7');
    }

    await dk(['start', 'life']);
    await dk(['rm', '-f', 'life']);
    const gone = await c.docker(['inspect', '--type', 'container', 'life']);
    assert.notEqual(gone.code, 0);
    assert.equal((await dk(['ps', '-aq', '--filter', 'name=life'])).trim(), '', 'rm -f removes it from the list at once');
    assert.equal((await dk(['ps', '-aq', '--no-trunc'])).includes(id), false);
  });

  test('container names are unique across the cluster', T, async () => {
    await dk(['run', '-d', '--name', 'only-once', 'busybox', 'sleep', '600']);
    const home = await inspectField('only-once', '{{.Node.Name}}');
    for (const cli of CLIS) {
      // Spread would put the second one on another node: the manager must refuse.
      const r = await c.docker(['run', '-d', '--name', 'only-once', 'busybox', 'sleep', '600'], { cli });
      assert.notEqual(r.code, 0, r.stdout);
      assert.match(r.stderr, /Conflict\. The container name "\/only-once" is already in use/);
      const cr = await c.docker(['create', '--name', '/only-once', 'busybox'], { cli });
      assert.notEqual(cr.code, 0);
      assert.match(cr.stderr, /Conflict/);
    }
    const named = lines(await dk(['ps', '-a', '--filter', 'name=only-once', '--format', '{{.Names}}']));
    assert.deepEqual(named, [`${home}/only-once`]);
  });

  // ---- events -------------------------------------------------------------

  for (const cli of CLIS) {
    test(`events --since/--until show a container start on each node, with node attributes (${cli} CLI)`, T, async () => {
      const until = Math.floor(Date.now() / 1000) + 1;
      await sleep(1100); // `until` must be in the past so the command ends by itself
      const r = await c.docker(
        ['events', '--since', String(t0), '--until', String(until), '--filter', 'event=start', '--format', '{{json .}}'],
        { cli, timeoutMs: 20_000 },
      );
      assert.equal(r.code, 0, r.stderr);
      const evs = lines(r.stdout).map((l) => JSON.parse(l));
      assert.ok(evs.length >= 6, `only ${evs.length} start events`);
      const seen = new Set<string>();
      for (const ev of evs) {
        assert.equal(ev.Action ?? ev.status, 'start');
        assert.equal(ev.Type, 'container');
        const attrs = ev.Actor.Attributes;
        assert.ok(NODES.includes(attrs['node.name']), JSON.stringify(attrs));
        const e = c.engines.find((x) => x.name === attrs['node.name'])!;
        assert.equal(attrs['node.addr'], e.addr);
        assert.equal(attrs['node.ip'], '127.0.0.1');
        assert.ok(attrs['node.id']);
        assert.ok(ev.time >= t0 && ev.time <= until, `event time ${ev.time} outside [${t0}, ${until}]`);
        seen.add(attrs['node.name']);
      }
      assert.deepEqual([...seen].sort(), NODES);
      // The spread containers were all started in the window.
      const names = new Set(evs.map((ev) => ev.Actor.Attributes.name));
      for (let i = 0; i < 6; i++) assert.ok(names.has(`spread${i}`), `no start event for spread${i}`);
      // `--until` alone replays what the engines hold, as dockerd does.
      const past = await c.docker(['events', '--until', String(until), '--filter', 'event=start', '--format', '{{.Actor.Attributes.name}}'], { cli, timeoutMs: 20_000 });
      assert.equal(past.code, 0, past.stderr);
      for (let i = 0; i < 6; i++) assert.ok(lines(past.stdout).includes(`spread${i}`), `--until alone: no spread${i}`);
    });
  }

  test('a live `docker events --filter event=start` sees starts on all 3 nodes', T, async () => {
    const baseListeners = Number((await dk(['info', '--format', '{{.NEventsListener}}'])).trim());
    const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_HOST: c.dockerHost, DOCKER_CONFIG: path.join(c.stateDir, 'docker-config') };
    delete env.DOCKER_CONTEXT;
    const child = spawn(DOCKER_CLI_NEW, ['events', '--filter', 'event=start', '--format', '{{json .}}'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    try {
      // Wait until the manager counts the listener, so no start is missed.
      const listeners = await eventually(
        async () => Number((await dk(['info', '--format', '{{.NEventsListener}}'])).trim()),
        (n) => n >= baseListeners + 1,
        10_000,
      );
      assert.ok(listeners >= baseListeners + 1, 'events listener never registered');
      for (const [i, node] of NODES.entries()) {
        await dk(['run', '-d', '--name', `live${i}`, '-e', `constraint:node==${node}`, 'busybox', 'sleep', '600'], { cli: CLIS[i % 2] });
      }
      const nodesSeen = () =>
        new Set(
          lines(out)
            .map((l) => JSON.parse(l))
            .filter((ev) => /^live\d$/.test(ev.Actor?.Attributes?.name ?? ''))
            .map((ev) => `${ev.Actor.Attributes.name}@${ev.Actor.Attributes['node.name']}`),
        );
      const seen = await eventually(async () => nodesSeen(), (s) => s.size >= 3, 10_000);
      assert.deepEqual([...seen].sort(), ['live0@node-0', 'live1@node-1', 'live2@node-2'], `events output:\n${out}\n${err}`);
      assert.ok(lines(out).every((l) => JSON.parse(l).Action === 'start'), 'only start events pass the filter');
    } finally {
      child.kill('SIGTERM');
    }
  });
});
