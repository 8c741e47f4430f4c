// Which nodes an image call goes to: names before ID prefixes cluster-wide,
// the newest image when nodes disagree on a tag; dockerd's reference filter.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { holders, newestHolders } from '../../src/cluster/images.js';
import { referenceMatches } from '../../src/cluster/views.js';
import type { Cluster } from '../../src/cluster/cluster.js';

const hex = (c: string): string => `sha256:${c.repeat(64).slice(0, 64)}`;

/** Just what holders() reads: healthy engines and their cached image lists. */
function fakeCluster(nodes: Record<string, Array<{ id: string; tags: string[]; created: number }>>): Cluster {
  const engines = Object.entries(nodes).map(([name, imgs]) => ({
    name,
    resources: {
      nodeImages: imgs.map((i) => ({ id: i.id, repoTags: i.tags, repoDigests: [] })),
      images: imgs.map((i) => ({ Id: i.id, RepoTags: i.tags, Created: i.created })),
    },
  }));
  return { healthyEngines: () => engines } as unknown as Cluster;
}

test('holders: a name wins over an ID prefix everywhere; a prefix only when no node has the name, and only if it names one image', () => {
  const c = fakeCluster({
    'node-0': [{ id: hex('db'), tags: ['postgres:15'], created: 1 }],
    'node-1': [{ id: hex('11'), tags: ['db:latest'], created: 2 }],
  });
  assert.deepEqual(holders(c, 'db').map((e) => e.name), ['node-1'], 'not node-0, whose postgres ID starts with "db"');
  assert.deepEqual(holders(c, 'dbdb').map((e) => e.name), ['node-0'], 'an ID prefix nobody has as a name');
  assert.deepEqual(holders(c, hex('11')).map((e) => e.name), ['node-1'], 'a full ID');
  const twice = fakeCluster({ a: [{ id: hex('ab'), tags: [], created: 1 }], b: [{ id: `sha256:ab${'c'.repeat(62)}`, tags: [], created: 1 }] });
  assert.throws(() => holders(twice, 'ab'), /Multiple IDs found with provided prefix: ab/);
});

test('newestHolders: when nodes disagree on a tag, the latest build', () => {
  const c = fakeCluster({
    'node-0': [{ id: hex('a1'), tags: ['app:ci'], created: 100 }],
    'node-1': [{ id: hex('b2'), tags: ['app:ci'], created: 200 }],
    'node-2': [{ id: hex('b2'), tags: ['app:ci'], created: 200 }],
  });
  assert.deepEqual(newestHolders(c, 'app:ci').map((e) => e.name), ['node-1', 'node-2']);
  assert.deepEqual(holders(c, 'app:ci').map((e) => e.name), ['node-0', 'node-1', 'node-2']);
});

test('referenceMatches: dockerd\'s FamiliarMatch (globs stop at "/", name without tag, registry ports)', () => {
  assert.ok(referenceMatches(['127.0.0.1:5000/app'], ['127.0.0.1:5000/app:v1']));
  assert.ok(referenceMatches(['busy*'], ['busybox:latest']));
  assert.ok(referenceMatches(['busybox:1*'], ['busybox:1.36']));
  assert.ok(!referenceMatches(['busybox:2*'], ['busybox:1.36']));
  assert.ok(!referenceMatches(['*'], ['team/app:v1']), '* does not cross a slash');
  assert.ok(referenceMatches(['*/*'], ['team/app:v1']));
  assert.ok(referenceMatches(['app'], [`app@sha256:${'a'.repeat(64)}`]));
});
