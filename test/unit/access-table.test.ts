// The access level table (src/access/table.ts) and what a create asks for
// (src/access/create.ts): every route of the API has a rule, the levels are
// the issue's, and dangerous options and referenced objects are found in
// bodies as the CLI and Compose send them.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ROUTES } from '../../src/api/routes.js';
import { COVERED_ROUTES, ruleFor } from '../../src/access/table.js';
import { dangerousOptions, referencedObjects } from '../../src/access/create.js';

const level = (route: string, method: string, action = ''): string | undefined => {
  const r = ruleFor(route, method, action);
  return r && (r.kind === 'object' || r.kind === 'query') ? r.level : r?.kind;
};

describe('access level table', () => {
  it('has a rule for every route in the route table', () => {
    const missing = [...new Set(ROUTES.map((r) => r.name))].filter((n) => !COVERED_ROUTES.includes(n));
    assert.deepEqual(missing, []);
  });

  it('asks view for reads of a container', () => {
    for (const a of ['logs', 'top', 'stats', 'changes', 'export']) assert.equal(level('ContainerStream', 'GET', a), 'view', a);
    assert.equal(level('ContainerInspect', 'GET'), 'view');
    assert.equal(level('ContainerArchive', 'GET', 'archive'), 'view');
    assert.equal(level('ContainerArchive', 'HEAD', 'archive'), 'view');
    assert.equal(level('ExecInspect', 'GET'), 'view');
  });

  it('asks restricted for running and changing a container', () => {
    for (const a of ['start', 'stop', 'restart', 'kill', 'pause', 'unpause', 'rename', 'update']) assert.equal(level('ContainerAction', 'POST', a), 'restricted', a);
    assert.equal(level('ContainerWait', 'POST', 'wait'), 'restricted');
    assert.equal(level('ContainerResize', 'POST', 'resize'), 'restricted');
    assert.equal(level('ContainerAttach', 'POST', 'attach'), 'restricted');
    assert.equal(level('ContainerAttachWs', 'GET', 'attach/ws'), 'restricted');
    assert.equal(level('ContainerDelete', 'DELETE'), 'restricted');
    assert.equal(level('NetworkConnect', 'POST', 'connect'), 'restricted');
    assert.equal(level('NetworkDelete', 'DELETE'), 'restricted');
    assert.equal(level('VolumeDelete', 'DELETE'), 'restricted');
  });

  it('asks full for exec create and start, archive PUT and image changes', () => {
    assert.equal(level('ExecCreate', 'POST'), 'full');
    assert.equal(level('ExecStart', 'POST'), 'full');
    assert.equal(level('ContainerArchive', 'PUT', 'archive'), 'full');
    for (const r of ['ImageTag', 'ImagePush', 'ImageDelete']) assert.equal(level(r, 'POST'), 'full', r);
  });

  it('leaves an unknown action and an unknown route to admins', () => {
    assert.equal(level('ContainerAction', 'POST', 'frobnicate'), 'full');
    assert.equal(ruleFor('NoSuchRoute', 'GET'), undefined);
    assert.equal(level('Metrics', 'GET'), 'admin');
  });
});

describe('dangerous create options', () => {
  const hc = (h: object): any => ({ Image: 'busybox', HostConfig: h });

  it('finds each option that reaches past the container', () => {
    assert.deepEqual(dangerousOptions(hc({ Privileged: true })), ['Privileged']);
    assert.deepEqual(dangerousOptions(hc({ CapAdd: ['NET_ADMIN'] })), ['CapAdd']);
    assert.deepEqual(dangerousOptions(hc({ PidMode: 'host', IpcMode: 'host', NetworkMode: 'host' })), ['PidMode=host', 'IpcMode=host', 'NetworkMode=host']);
    assert.deepEqual(dangerousOptions(hc({ Devices: [{ PathOnHost: '/dev/fuse' }] })), ['Devices']);
    assert.deepEqual(dangerousOptions(hc({ Binds: ['/etc:/host-etc:ro', 'data:/data'] })), ['bind /etc']);
    assert.deepEqual(dangerousOptions(hc({ Mounts: [{ Type: 'bind', Source: '/var/run', Target: '/r' }, { Type: 'volume', Source: 'v', Target: '/v' }] })), ['bind /var/run']);
    assert.deepEqual(dangerousOptions(hc({ SecurityOpt: ['seccomp=unconfined', 'no-new-privileges'] })), ['SecurityOpt=seccomp=unconfined']);
  });

  it('finds none in what docker run sends by default', () => {
    assert.deepEqual(dangerousOptions(hc({ Privileged: false, CapAdd: null, PidMode: '', IpcMode: 'private', NetworkMode: 'default', Binds: null, Devices: [] })), []);
    assert.deepEqual(dangerousOptions({ Image: 'busybox' }), []);
    assert.deepEqual(dangerousOptions(null), []);
  });

  it('never throws on values whose toString is not a function', () => {
    const odd = { toString: false };
    const h = { SecurityOpt: [[odd]], Binds: [odd], Mounts: [{ Type: 'bind', Source: odd }], VolumesFrom: [odd], Links: [odd] };
    assert.deepEqual(dangerousOptions({ HostConfig: h }), ['bind {"toString":false}']);
    assert.deepEqual(referencedObjects({ HostConfig: h }).containers, ['{"toString"']);
  });

  it('never throws on any body shape (property)', () => {
    fc.assert(fc.property(fc.jsonValue(), (v) => { dangerousOptions(v); referencedObjects(v); return true; }));
    fc.assert(fc.property(fc.dictionary(fc.constantFrom('Privileged', 'CapAdd', 'Binds', 'Mounts', 'PidMode', 'SecurityOpt', 'VolumesFrom', 'Links'), fc.jsonValue()), (h) => {
      dangerousOptions({ HostConfig: h });
      referencedObjects({ HostConfig: h });
      return true;
    }));
  });
});

describe('objects a create names', () => {
  it('finds containers, networks and volumes', () => {
    const r = referencedObjects({
      Image: 'busybox',
      HostConfig: {
        NetworkMode: 'proj_default', PidMode: 'container:db', VolumesFrom: ['data:ro'], Links: ['/cache:cache'],
        Binds: ['vol1:/a', '/host:/b'], Mounts: [{ Type: 'volume', Source: 'vol2', Target: '/c' }],
      },
      NetworkingConfig: { EndpointsConfig: { proj_back: {}, bridge: {} } },
    });
    assert.deepEqual(r.containers.sort(), ['cache', 'data', 'db']);
    assert.deepEqual(r.networks.sort(), ['proj_back', 'proj_default']);
    assert.deepEqual(r.volumes.sort(), ['vol1', 'vol2']);
  });

  it('takes a container network mode as a container, not a network', () => {
    const r = referencedObjects({ HostConfig: { NetworkMode: 'container:web' } });
    assert.deepEqual(r, { containers: ['web'], networks: [], volumes: [] });
  });
});
