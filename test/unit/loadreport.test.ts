// A large addition of engines is logged as a few lines (src/cluster/loadreport.ts),
// and a long nodes:// list is shortened in the start-up line (src/cli/manage.ts).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import winston from 'winston';
import { log } from '../../src/log.js';
import { LoadReport } from '../../src/cluster/loadreport.js';
import type { Engine } from '../../src/cluster/engine.js';
import { shortDiscovery } from '../../src/cli/manage.js';

interface Line { level: string; message: string; [k: string]: unknown }
const lines: Line[] = [];
const capture = new winston.transports.Stream({
  stream: new Writable({ objectMode: true, write(info: Line, _enc, cb) { lines.push(info); cb(); } }),
});
before(() => {
  for (const t of log.transports) t.silent = true;
  log.add(capture);
});
after(() => {
  log.remove(capture);
  for (const t of log.transports) t.silent = false;
});

const fakes = (n: number): Engine[] => Array.from({ length: n }, (_, i) => ({ addr: `10.0.0.${i}:2375`, state: 'pending' }) as unknown as Engine);

test('one line once every engine of the batch is healthy, none before', () => {
  lines.length = 0;
  const batch = fakes(30);
  const report = new LoadReport(batch, () => true);
  for (const e of batch.slice(0, 29)) { (e as { state: string }).state = 'healthy'; report.healthyOne(e); }
  assert.equal(lines.length, 0);
  (batch[29] as { state: string }).state = 'healthy';
  assert.equal(report.covers(batch[29]), true);
  report.healthyOne(batch[29]);
  assert.equal(lines.length, 1);
  assert.equal(lines[0].message, 'engines healthy');
  assert.equal(lines[0].healthy, 30);
  assert.equal(lines[0].pending, 0);
  assert.equal(lines[0].of, 30);
  report.stop();
});

test('progress while engines are pending; an engine that left the cluster is not counted as pending', (t) => {
  t.mock.timers.enable({ apis: ['setInterval', 'Date'] });
  lines.length = 0;
  const batch = fakes(25);
  const gone = new Set([batch[24]]);
  const report = new LoadReport(batch, (e) => !gone.has(e));
  for (const e of batch.slice(0, 20)) { (e as { state: string }).state = 'healthy'; report.healthyOne(e); }
  t.mock.timers.tick(5_000);
  assert.deepEqual(lines.map((l) => [l.message, l.healthy, l.pending]), [['engines loading', 20, 4]]);
  // After a minute the engines still pending are left to their own warnings: one last line, then none.
  t.mock.timers.tick(60_000);
  assert.match(String(lines.at(-1)?.message), /^engines still pending after a minute/);
  const n = lines.length;
  t.mock.timers.tick(30_000);
  assert.equal(lines.length, n);
  // A late engine's first outcome is its own line again (info), not the ended report's.
  assert.equal(report.covers(batch[20]), false);
  report.healthyOne(batch[20]);
  assert.equal(lines.length, n);
  report.stop();
});

test('an engine counted once even if it turns healthy twice (its ID changed); a replaced report says where it was', () => {
  lines.length = 0;
  const batch = fakes(3);
  const report = new LoadReport(batch, () => true);
  report.healthyOne(batch[0]);
  report.healthyOne(batch[0]);
  report.healthyOne(batch[1]);
  assert.equal(lines.length, 0, 'two of three: not done');
  report.stop();
  assert.deepEqual(lines.map((l) => [l.message, l.healthy, l.of]), [['engines loading', 2, 3]]);
  assert.equal(report.covers(batch[2]), false, 'nothing kept past its end');
  report.stop();
  assert.equal(lines.length, 1);
});

test('an engine outside the batch is neither covered nor counted', () => {
  lines.length = 0;
  const batch = fakes(2);
  const report = new LoadReport(batch, () => true);
  const other = fakes(1)[0];
  assert.equal(report.covers(other), false);
  report.healthyOne(other);
  report.healthyOne(other);
  assert.equal(lines.length, 0);
  report.stop();
});

test('a long nodes:// list is shortened in the log; other discovery URLs are kept whole', () => {
  const many = `nodes://${Array.from({ length: 1000 }, (_, i) => `127.0.0.1:${27000 + i}`).join(',')}`;
  assert.equal(shortDiscovery(many), 'nodes://127.0.0.1:27000,127.0.0.1:27001,127.0.0.1:27002,... (1000 addresses)');
  assert.equal(shortDiscovery('nodes://a:1,b:2'), 'nodes://a:1,b:2');
  assert.equal(shortDiscovery('etcd://10.0.0.1:2379/swarm'), 'etcd://10.0.0.1:2379/swarm');
  assert.equal(shortDiscovery(many.slice('nodes://'.length)), '127.0.0.1:27000,127.0.0.1:27001,127.0.0.1:27002,... (1000 addresses)');
  assert.equal(shortDiscovery('zk://a:2181,b:2181,c:2181,d:2181/swarm'), 'zk://a:2181,b:2181,c:2181,d:2181/swarm');
});
