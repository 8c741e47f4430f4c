// Docker Compose 1.29 (Debian's docker-compose) against the manager on 3 real
// engines (issue 13, "Clients and pipelines"): a project with two services, a
// named network, a named volume and a published port; up, ps, logs, scale,
// stop, start, down -v. Containers that share the project's network land on
// the node the network was created on.
//
// Block 7 (test/lib/README.md), shared with scheduler-resources.test.ts: the
// two files run one after the other, never together.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFile } from 'node:child_process';
import { clusterBlock, skipReason, withCluster, type TestCluster } from '../lib/cluster.js';

const BLOCK = clusterBlock(7);
const T = { timeout: 180_000 };
const COMPOSE = '/usr/bin/docker-compose';
const PROJECT = 'sctest';

const COMPOSE_FILE = `version: "2.4"
services:
  web:
    image: busybox
    command: ["sh", "-c", "echo web-up; mkdir -p /www; echo hi > /www/index.html; exec httpd -f -p 8080 -h /www"]
    ports: ["8080"]
    networks: [appnet]
    volumes: ["data:/data"]
  worker:
    image: busybox
    command: ["sh", "-c", "echo worker-up; exec sleep 600"]
    networks: [appnet]
networks:
  appnet: {}
volumes:
  data: {}
`;

function composeSkip(): string | undefined {
  return skipReason() ?? (fs.existsSync(COMPOSE) || process.env.CI ? undefined : 'docker-compose not installed (bash .ci/install)');
}

describe('docker-compose 1.29 through the manager (3 engines)', { skip: composeSkip() }, () => {
  let c: TestCluster;
  let dir: string;

  before(async () => {
    c = await withCluster({ ...BLOCK, nodes: 3 });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'compose-'));
    fs.writeFileSync(path.join(dir, 'docker-compose.yml'), COMPOSE_FILE);
  }, { timeout: 180_000 });
  after(async () => {
    if (c && dir) await compose(['down', '-v', '--remove-orphans']).catch(() => undefined);
    await c?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  }, { timeout: 120_000 });

  function compose(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_HOST: `tcp://${c.managerAddr}`, COMPOSE_PROJECT_NAME: PROJECT, COMPOSE_INTERACTIVE_NO_CLI: '1' };
      delete env.DOCKER_TLS_VERIFY;
      delete env.DOCKER_CERT_PATH;
      execFile(COMPOSE, ['--no-ansi', ...args], { cwd: dir, env, timeout: 150_000 }, (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout: String(stdout), stderr: String(stderr) }));
    });
  }

  /** The project's containers: name -> node, through the manager. */
  async function placement(): Promise<Map<string, string>> {
    const r = await c.docker(['ps', '-a', '--filter', `label=com.docker.compose.project=${PROJECT}`, '--format', '{{.Names}}']);
    assert.equal(r.code, 0, r.stderr);
    const out = new Map<string, string>();
    for (const full of r.stdout.split('\n').filter(Boolean)) {
      const [node, name] = full.split('/');
      out.set(name!, node!);
    }
    return out;
  }

  test('up -d: network and volume made, both services running on the network\'s node', T, async () => {
    const up = await compose(['up', '-d']);
    assert.equal(up.code, 0, up.stderr);
    const net = await c.docker(['network', 'inspect', '-f', '{{.Name}}', `${PROJECT}_appnet`]);
    assert.equal(net.code, 0, net.stderr);
    const vol = await c.docker(['volume', 'ls', '-q', '--filter', `name=${PROJECT}_data`]);
    assert.equal(vol.code, 0, vol.stderr);
    assert.ok(vol.stdout.trim(), 'the named volume exists');
    const where = await placement();
    assert.equal(where.size, 2, JSON.stringify([...where]));
    assert.equal(new Set(where.values()).size, 1, `one node for the project network: ${JSON.stringify([...where])}`);
  });

  test('ps and logs', T, async () => {
    const ps = await compose(['ps']);
    assert.equal(ps.code, 0, ps.stderr);
    assert.match(ps.stdout, new RegExp(`${PROJECT}_web_1[\\s\\S]*Up`));
    assert.match(ps.stdout, new RegExp(`${PROJECT}_worker_1[\\s\\S]*Up`));
    const logs = await compose(['logs', '--no-color']);
    assert.equal(logs.code, 0, logs.stderr);
    assert.match(logs.stdout, /web-up/);
    assert.match(logs.stdout, /worker-up/);
  });

  test('up -d --scale web=3: three web containers, all on the network\'s node, each with its own host port', T, async () => {
    const up = await compose(['up', '-d', '--scale', 'web=3']);
    assert.equal(up.code, 0, up.stderr);
    const where = await placement();
    assert.equal([...where.keys()].filter((n) => n.startsWith(`${PROJECT}_web_`)).length, 3);
    assert.equal(new Set(where.values()).size, 1);
    const ports = await compose(['port', '--index', '3', 'web', '8080']);
    assert.equal(ports.code, 0, ports.stderr);
    assert.match(ports.stdout.trim(), /:\d+$/);
  });

  test('stop and start', T, async () => {
    const stop = await compose(['stop']);
    assert.equal(stop.code, 0, stop.stderr);
    const exited = await c.docker(['ps', '-q', '--filter', `label=com.docker.compose.project=${PROJECT}`]);
    assert.equal(exited.stdout.trim(), '', 'nothing running after stop');
    const start = await compose(['start']);
    assert.equal(start.code, 0, start.stderr);
    const running = await c.docker(['ps', '-q', '--filter', `label=com.docker.compose.project=${PROJECT}`]);
    assert.equal(running.stdout.trim().split('\n').filter(Boolean).length, 4);
  });

  test('down -v: containers, network and volume gone', T, async () => {
    const down = await compose(['down', '-v']);
    assert.equal(down.code, 0, down.stderr);
    assert.equal((await placement()).size, 0);
    const net = await c.docker(['network', 'ls', '-q', '--filter', `name=${PROJECT}_appnet`]);
    assert.equal(net.stdout.trim(), '');
    const vol = await c.docker(['volume', 'ls', '-q', '--filter', `name=${PROJECT}_data`]);
    assert.equal(vol.stdout.trim(), '');
  });
});
