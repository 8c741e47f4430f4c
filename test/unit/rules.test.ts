import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { extractRules, goJsonMarshal, isSwarmImage } from '../../src/scheduler/rules.js';
import { BadRequestError } from '../../src/errors.js';
import { thrown } from './helpers.js';

const C = 'com.docker.swarm.constraints';
const A = 'com.docker.swarm.affinities';
const W = 'com.docker.swarm.whitelists';
const R = 'com.docker.swarm.reschedule-policies';

describe('extractRules', () => {
  it('moves env rules into JSON-array labels and strips them from Env', () => {
    const body = {
      Image: 'busybox',
      Env: ['A=1', 'constraint:storage==ssd', 'affinity:container==web', 'whitelist:node==n1|n2', 'reschedule:on-node-failure', 'constraint:node!=n3', 'B=2'],
    };
    const r = extractRules(body);
    assert.deepEqual(r.body.Env, ['A=1', 'B=2']);
    assert.deepEqual(r.body.Labels, {
      [C]: '["storage==ssd","node!=n3"]',
      [A]: '["container==web"]',
      [W]: '["node==n1|n2"]',
      [R]: '["on-node-failure"]',
    });
    assert.deepEqual(r.constraints.map((e) => e.raw), ['storage==ssd', 'node!=n3']);
    assert.deepEqual(r.affinities.map((e) => e.raw), ['container==web']);
    assert.deepEqual(r.whitelists.map((e) => e.raw), ['node==n1|n2']);
    assert.deepEqual(r.reschedulePolicies, ['on-node-failure']);
    assert.equal(r.body.Image, 'busybox');
  });

  it('does not mutate the input', () => {
    const body = { Env: ['constraint:storage==ssd'], Labels: { a: 'b' } };
    const copy = structuredClone(body);
    const r = extractRules(body);
    assert.deepEqual(body, copy);
    assert.notEqual(r.body, body);
    assert.notEqual(r.body.Labels, body.Labels);
  });

  it('merges labels given directly, labels first then env', () => {
    const r = extractRules({
      Env: ['constraint:b1==2'],
      Labels: { [C]: '["a1==1"]', [A]: '["image==redis"]', other: 'x' },
    });
    assert.equal(r.body.Labels[C], '["a1==1","b1==2"]');
    assert.equal(r.body.Labels[A], '["image==redis"]');
    assert.equal(r.body.Labels.other, 'x');
    assert.deepEqual(r.constraints.map((e) => e.raw), ['a1==1', 'b1==2']);
    assert.deepEqual(r.affinities.map((e) => e.raw), ['image==redis']);
  });

  it('leaves a body without rules alone', () => {
    const r = extractRules({ Image: 'x', Env: ['A=1'] });
    assert.deepEqual(r.body, { Image: 'x', Env: ['A=1'] });
    assert.equal(r.constraints.length + r.affinities.length + r.whitelists.length + r.reschedulePolicies.length, 0);
    assert.deepEqual(extractRules({}).body, {});
    assert.deepEqual(extractRules({ Env: null }).body, { Env: null });
  });

  it('keeps env entries with other prefixes or no colon', () => {
    const r = extractRules({ Env: ['PATH=/bin:/usr/bin', 'constraints:x==y', 'foo:bar'] });
    assert.deepEqual(r.body.Env, ['PATH=/bin:/usr/bin', 'constraints:x==y', 'foo:bar']);
  });

  it('escapes like Go json.Marshal', () => {
    assert.equal(goJsonMarshal(['a<b>&c']), '["a\\u003cb\\u003e\\u0026c"]');
    const r = extractRules({ Env: ['constraint:k1==/a|b/'] });
    assert.equal(r.body.Labels[C], '["k1==/a|b/"]');
  });

  const bad: Array<[string, any, string]> = [
    ['invalid env constraint', { Env: ['constraint:foo'] }, 'invalid constraint expression: foo'],
    ['invalid env affinity', { Env: ['affinity:container=web'] }, 'invalid affinity expression: container=web'],
    ['invalid env whitelist', { Env: ['whitelist:node'] }, 'invalid whitelist expression: node'],
    ['invalid label expression', { Labels: { [C]: '["x"]' } }, 'invalid constraint expression: x'],
    ['label not JSON', { Labels: { [C]: 'storage==ssd' } }, `invalid label ${C}: expected a JSON array of strings, got storage==ssd`],
    ['label not an array', { Labels: { [A]: '{"a":1}' } }, `invalid label ${A}: expected a JSON array of strings, got {"a":1}`],
    ['label array of numbers', { Labels: { [R]: '[1]' } }, `invalid label ${R}: expected a JSON array of strings, got [1]`],
    ['two reschedule policies', { Env: ['reschedule:off', 'reschedule:on-node-failure'] }, 'too many reschedule policies'],
    ['label plus env policy', { Env: ['reschedule:off'], Labels: { [R]: '["off"]' } }, 'too many reschedule policies'],
    ['unknown reschedule policy', { Env: ['reschedule:always'] }, 'invalid reschedule policy: always'],
    ['Env not an array', { Env: 'constraint:a==b' }, 'invalid container config: Env must be an array'],
  ];
  for (const [title, body, message] of bad) {
    it(`rejects ${title}`, () => {
      const err = thrown(() => extractRules(body));
      assert.ok(err instanceof BadRequestError, String(err));
      assert.equal(err.message, message);
    });
  }

  it('rejects a non-object body', () => {
    assert.ok(thrown(() => extractRules(null)) instanceof BadRequestError);
    assert.ok(thrown(() => extractRules([])) instanceof BadRequestError);
  });

  it('accepts both valid reschedule policies', () => {
    assert.deepEqual(extractRules({ Env: ['reschedule:off'] }).reschedulePolicies, ['off']);
    assert.deepEqual(extractRules({ Labels: { [R]: '["on-node-failure"]' } }).reschedulePolicies, ['on-node-failure']);
    assert.deepEqual(extractRules({ Labels: { [R]: 'null' } }).reschedulePolicies, []);
  });
});

describe('isSwarmImage: the containers ps hides without -a and rescheduling leaves alone', () => {
  it('the bare name with or without a tag (as classic Swarm) or a digest', () => {
    for (const i of ['swarm', 'swarm:latest', 'swarm:1.2.9', 'swarm@sha256:' + 'a'.repeat(64), 'swarm:latest@sha256:' + 'b'.repeat(64)]) assert.equal(isSwarmImage(i), true, i);
  });
  it('the same name qualified by a registry (pushed and pulled)', () => {
    for (const i of ['localhost:5000/swarm', 'localhost/swarm:latest', 'registry.example.com/swarm:1', 'docker.io/library/swarm', 'library/swarm', '10.0.0.1:5000/swarm:v2']) assert.equal(isSwarmImage(i), true, i);
  });
  it('other images, another user\'s swarm, and nothing', () => {
    for (const i of ['busybox', 'swarmer', 'org/swarm', 'localhost:5000/org/swarm', 'swarm-agent:1', 'sha256:' + 'c'.repeat(64), '', undefined]) assert.equal(isSwarmImage(i), false, String(i));
  });
});
