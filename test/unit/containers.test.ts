// The container cache's rules for concurrent refreshes: what each answer may
// and may not change.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ContainerCache } from '../../src/cluster/containers.js';

const summary = (id: string, state = 'running', name = id) => ({ Id: id, Names: [`/${name}`], State: state, Status: state, Created: 1, Labels: {}, Image: 'busybox' });
const inspect = (memory = 0, started = '2023-11-14T22:13:20Z') => async () => ({ HostConfig: { Memory: memory, PortBindings: { '80/tcp': [{ HostIp: '', HostPort: '8080' }] } }, Config: {}, State: { StartedAt: started, FinishedAt: '0001-01-01T00:00:00Z' } });

function cache() {
  const changes: string[] = [];
  const c = new ContainerCache(() => 2, (kind, cc) => changes.push(`${kind}:${cc.id}`));
  return { c, changes };
}

test('new containers are inspected once and their reservations counted', async () => {
  const { c, changes } = cache();
  await c.merge([summary('a'), summary('b')], [], c.nextSeq(), inspect(64));
  assert.equal(c.size, 2);
  assert.equal(c.reservedMemory, 128);
  assert.deepEqual(c.get('a')!.node.ports, [{ hostIp: '', hostPort: 8080, proto: 'tcp' }]);
  assert.equal(c.get('a')!.startedAt, 1_700_000_000_000);
  assert.deepEqual(changes.sort(), ['add:a', 'add:b']);
  assert.equal(c.nodeContainers().length, 2);
});

test('two refreshes racing to add one container count it once', async () => {
  const { c } = cache();
  const s1 = c.nextSeq();
  const s2 = c.nextSeq();
  await Promise.all([c.merge([summary('a')], ['a'], s1, inspect(64)), c.merge([summary('a')], ['a'], s2, inspect(64))]);
  assert.equal(c.size, 1);
  assert.equal(c.reservedMemory, 64);
});

test('an older answer never overwrites a newer one', async () => {
  const { c } = cache();
  await c.merge([summary('a', 'running')], [], c.nextSeq(), inspect());
  const older = c.nextSeq();
  const newer = c.nextSeq();
  await c.merge([summary('a', 'exited')], ['a'], newer, inspect());
  await c.merge([summary('a', 'running')], ['a'], older, inspect());
  assert.equal(c.get('a')!.summary.State, 'exited');
});

test('a removed container is not brought back by a refresh that started before the removal', async () => {
  const { c } = cache();
  const seq = c.nextSeq();
  c.remove('a', 'destroy event');
  await c.merge([summary('a')], ['a'], seq, inspect());
  assert.equal(c.has('a'), false);
});

test('a list only drops containers in its scope; removal frees reservations', async () => {
  const { c } = cache();
  await c.merge([summary('a'), summary('b')], [], c.nextSeq(), inspect(10));
  await c.merge([summary('b')], ['a'], c.nextSeq(), inspect(10)); // 'a' was in scope and missing
  assert.deepEqual([...c.keys()], ['b']);
  await c.merge([], [], c.nextSeq(), inspect(10)); // empty scope: nothing dropped
  assert.equal(c.size, 1);
  assert.equal(c.reservedMemory, 10);
  c.remove('b', 'destroy event');
  assert.equal(c.reservedMemory, 0);
});

test('reservations re-read after update; ignored if the container went meanwhile', async () => {
  const { c } = cache();
  await c.merge([summary('a')], [], c.nextSeq(), inspect(10));
  const a = c.get('a')!;
  c.setReservations(a, await inspect(30)());
  assert.equal(c.reservedMemory, 30);
  c.remove('a', 'destroy event');
  c.setReservations(a, await inspect(50)());
  assert.equal(c.reservedMemory, 0);
});

test('start/die times: seen before the container is cached, kept when it arrives', async () => {
  const { c } = cache();
  c.recordTime('a', 'start', 2_000_000_000_000);
  await c.merge([summary('a')], [], c.nextSeq(), inspect(0, '0001-01-01T00:00:00Z'));
  assert.equal(c.get('a')!.startedAt, 2_000_000_000_000);
  c.recordTime('a', 'die', 2_000_000_001_000);
  assert.equal(c.get('a')!.finishedAt, 2_000_000_001_000);
});

test('a 404 on inspect (removed meanwhile) skips the container; other errors fail the refresh', async () => {
  const { c } = cache();
  const gone = async () => { throw Object.assign(new Error('No such container'), { statusCode: 404 }); };
  await c.merge([summary('a')], [], c.nextSeq(), gone);
  assert.equal(c.size, 0);
  const broken = async () => { throw Object.assign(new Error('boom'), { statusCode: 500 }); };
  await assert.rejects(c.merge([summary('b')], [], c.nextSeq(), broken), /boom/);
});
