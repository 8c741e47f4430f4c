// pullQuery: dockerd's fromImage/tag for the references a create may name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pullQuery } from '../../src/cluster/pull.js';

test('pullQuery: the tag or digest split off, latest when none, registry ports kept', () => {
  const q = (ref: string): [string | null, string | null] => { const p = new URLSearchParams(pullQuery(ref)); return [p.get('fromImage'), p.get('tag')]; };
  assert.deepEqual(q('busybox'), ['busybox', 'latest']);
  assert.deepEqual(q('busybox:1.36'), ['busybox', '1.36']);
  assert.deepEqual(q('127.0.0.1:5000/app'), ['127.0.0.1:5000/app', 'latest']);
  assert.deepEqual(q('127.0.0.1:5000/team/app:v2'), ['127.0.0.1:5000/team/app', 'v2']);
  assert.deepEqual(q('app@sha256:' + 'a'.repeat(64)), ['app', 'sha256:' + 'a'.repeat(64)]);
});
