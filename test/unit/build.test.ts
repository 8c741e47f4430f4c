import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildScheduleRequest } from '../../src/scheduler/build.js';
import { BadRequestError } from '../../src/errors.js';
import { GiB, port, thrown } from './helpers.js';

describe('buildScheduleRequest', () => {
  it('builds a full request and the body for the engine', () => {
    const body = {
      Image: 'nginx:1.25',
      Env: ['A=1', 'constraint:storage==ssd', 'affinity:container!=~web'],
      Labels: { app: 'web' },
      ExposedPorts: { '80/tcp': {} },
      HostConfig: {
        CpuShares: 2,
        Memory: GiB,
        PortBindings: { '80/tcp': [{ HostIp: '', HostPort: '8080' }] },
        VolumesFrom: ['data:ro'],
        Links: ['db:db'],
      },
    };
    const { request, body: out } = buildScheduleRequest('/web1', body);
    assert.equal(request.name, 'web1');
    assert.equal(request.image, 'nginx:1.25');
    assert.equal(request.cpus, 2);
    assert.equal(request.memory, GiB);
    assert.deepEqual(request.ports, [port(8080)]);
    assert.equal(request.networkMode, 'default');
    assert.deepEqual(request.dependencies, { volumesFrom: ['data'], links: ['db'], namespaces: [] });
    assert.deepEqual(request.constraints.map((e) => e.raw), ['storage==ssd']);
    assert.deepEqual(request.affinities.map((e) => [e.raw, e.soft]), [['container!=~web', true]]);
    assert.deepEqual(request.whitelists, []);
    assert.deepEqual(request.labels, {
      app: 'web',
      'com.docker.swarm.constraints': '["storage==ssd"]',
      'com.docker.swarm.affinities': '["container!=~web"]',
    });
    assert.deepEqual(out.Env, ['A=1']);
    assert.equal(out.HostConfig.CpuShares, 2, 'the engine rewrite happens after placement');
    assert.equal(body.Env.length, 3, 'input untouched');
  });

  const cases: Array<[string, any, Partial<{ cpus: number; memory: number; networkMode: string; name: string | undefined }>]> = [
    ['--cpus 1.5', { HostConfig: { NanoCpus: 1.5e9 } }, { cpus: 1.5 }],
    ['top-level CpuShares/Memory (old API)', { CpuShares: 3, Memory: 512 }, { cpus: 3, memory: 512 }],
    ['HostConfig wins over top-level', { CpuShares: 3, HostConfig: { CpuShares: 1 } }, { cpus: 1 }],
    ['no resources', {}, { cpus: 0, memory: 0, networkMode: 'default' }],
    ['network mode kept', { HostConfig: { NetworkMode: 'host' } }, { networkMode: 'host' }],
  ];
  for (const [title, body, want] of cases) {
    it(title, () => {
      const { request } = buildScheduleRequest(undefined, { Image: 'x', ...body });
      assert.equal(request.name, undefined);
      for (const [k, v] of Object.entries(want)) assert.equal((request as any)[k], v, k);
    });
  }

  it('host mode ports come from ExposedPorts', () => {
    const { request } = buildScheduleRequest('', { Image: 'x', ExposedPorts: { '80/tcp': {} }, HostConfig: { NetworkMode: 'host' } });
    assert.deepEqual(request.ports, [port(80)]);
    assert.equal(request.name, undefined);
  });

  it('propagates invalid rules as 400', () => {
    const err = thrown(() => buildScheduleRequest('x', { Image: 'x', Env: ['constraint:nope'] }));
    assert.ok(err instanceof BadRequestError);
    assert.equal(err.message, 'invalid constraint expression: nope');
  });
});
