import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  dependenciesOf,
  engineCpuShares,
  hostPorts,
  portsClash,
  reservedCpus,
  reservedMemory,
} from '../../src/scheduler/resources.js';
import { port } from './helpers.js';

describe('reservedCpus', () => {
  const table: Array<[string, any, number | undefined, boolean, number]> = [
    ['nothing', {}, undefined, false, 0],
    ['no HostConfig', undefined, undefined, false, 0],
    ['request -c 2 is 2 CPUs', { CpuShares: 2 }, undefined, false, 2],
    ['request --cpus 1.5', { NanoCpus: 1.5e9 }, undefined, false, 1.5],
    ['NanoCpus wins over CpuShares', { NanoCpus: 5e8, CpuShares: 2 }, undefined, false, 0.5],
    ['engine: shares from -c 2 on 4 CPUs', { CpuShares: 512 }, 4, true, 2],
    ['engine: shares from -c 2 on 3 CPUs (ceil) reads back as 2', { CpuShares: 683 }, 3, true, 2],
    ['engine: shares from -c 1 on 64 CPUs', { CpuShares: 16 }, 64, true, 1],
    ['engine: non-swarm shares convert proportionally', { CpuShares: 100 }, 4, true, 100 * 4 / 1024],
    ['engine: default shares are 0', { CpuShares: 0 }, 4, true, 0],
    ['engine: NanoCpus unchanged', { NanoCpus: 2e9, CpuShares: 0 }, 4, true, 2],
    ['engine without node CPUs cannot convert', { CpuShares: 512 }, undefined, true, 0],
    ['garbage', { CpuShares: 'abc' }, undefined, false, 0],
  ];
  for (const [title, hc, nodeCpus, fromEngine, want] of table) {
    it(title, () => assert.equal(reservedCpus(hc, nodeCpus, fromEngine), want));
  }

  it('round-trips every integer request through engineCpuShares', () => {
    for (const nodeCpus of [1, 2, 3, 4, 6, 7, 12, 64]) {
      for (let cpus = 1; cpus <= nodeCpus; cpus++) {
        const shares = engineCpuShares(cpus, nodeCpus);
        assert.equal(reservedCpus({ CpuShares: shares }, nodeCpus, true), cpus, `${cpus}/${nodeCpus}`);
      }
    }
  });
});

describe('engineCpuShares', () => {
  const table: Array<[number, number, number]> = [
    [0, 4, 0],
    [1, 4, 256],
    [2, 4, 512],
    [4, 4, 1024],
    [2, 3, 683],
    [1, 3, 342],
    [0.5, 2, 256],
    [8, 4, 2048],
  ];
  for (const [cpus, nodeCpus, want] of table) {
    it(`${cpus} CPUs on ${nodeCpus} -> ${want}`, () => assert.equal(engineCpuShares(cpus, nodeCpus), want));
  }
});

describe('reservedMemory', () => {
  it('reads HostConfig.Memory', () => {
    assert.equal(reservedMemory({ Memory: 1024 }), 1024);
    assert.equal(reservedMemory({}), 0);
    assert.equal(reservedMemory(undefined), 0);
    assert.equal(reservedMemory({ Memory: -1 }), 0);
  });
});

describe('hostPorts', () => {
  const table: Array<[string, any, any, any, ReturnType<typeof port>[]]> = [
    ['no ports', {}, {}, undefined, []],
    ['static binding', {}, { PortBindings: { '80/tcp': [{ HostIp: '', HostPort: '8080' }] } }, undefined, [port(8080)]],
    ['udp and ip', {}, { PortBindings: { '53/udp': [{ HostIp: '10.0.0.2', HostPort: '53' }] } }, undefined, [port(53, '10.0.0.2', 'udp')]],
    ['proto defaults to tcp', {}, { PortBindings: { '80': [{ HostPort: '80' }] } }, undefined, [port(80)]],
    ['-p 80 (no host port) holds nothing', {}, { PortBindings: { '80/tcp': [{ HostIp: '', HostPort: '' }] } }, undefined, []],
    ['HostPort 0 holds nothing', {}, { PortBindings: { '80/tcp': [{ HostPort: '0' }] } }, undefined, []],
    ['null binding list', {}, { PortBindings: { '80/tcp': null } }, undefined, []],
    ['range expands', {}, { PortBindings: { '80/tcp': [{ HostPort: '8000-8002' }] } }, undefined, [port(8000), port(8001), port(8002)]],
    ['several bindings', {}, { PortBindings: { '80/tcp': [{ HostPort: '80' }, { HostIp: '127.0.0.1', HostPort: '81' }] } }, undefined, [port(80), port(81, '127.0.0.1')]],
    ['invalid port ignored', {}, { PortBindings: { '80/tcp': [{ HostPort: 'abc' }, { HostPort: '70000' }] } }, undefined, []],
    ['host mode uses ExposedPorts', { ExposedPorts: { '80/tcp': {}, '53/udp': {} } }, { NetworkMode: 'host', PortBindings: { '1/tcp': [{ HostPort: '1' }] } }, undefined, [port(80), port(53, '', 'udp')]],
    ['bridge mode ignores ExposedPorts', { ExposedPorts: { '80/tcp': {} } }, {}, undefined, []],
    ['engine-allocated ports count', {}, { PortBindings: { '80/tcp': [{ HostPort: '' }] } }, { '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '32768' }] }, [port(32768, '0.0.0.0')]],
    ['duplicates collapse', {}, { PortBindings: { '80/tcp': [{ HostPort: '80' }] } }, { '80/tcp': [{ HostIp: '', HostPort: '80' }] }, [port(80)]],
  ];
  for (const [title, config, hc, actual, want] of table) {
    it(title, () => assert.deepEqual(hostPorts(config, hc, actual), want));
  }
});

describe('portsClash', () => {
  const table: Array<[string, ReturnType<typeof port>, ReturnType<typeof port>, boolean]> = [
    ['same port, all interfaces', port(80), port(80), true],
    ['different ports', port(80), port(81), false],
    ['tcp vs udp', port(53, '', 'tcp'), port(53, '', 'udp'), false],
    ['udp vs udp', port(53, '', 'udp'), port(53, '', 'udp'), true],
    ['0.0.0.0 vs specific IP', port(80, '0.0.0.0'), port(80, '10.0.0.1'), true],
    ['specific IP vs 0.0.0.0', port(80, '10.0.0.1'), port(80, '0.0.0.0'), true],
    ['"" vs specific IP', port(80, ''), port(80, '10.0.0.1'), true],
    [':: vs specific IP', port(80, '::'), port(80, '10.0.0.1'), true],
    ['same specific IP', port(80, '10.0.0.1'), port(80, '10.0.0.1'), true],
    ['different specific IPs', port(80, '10.0.0.1'), port(80, '10.0.0.2'), false],
    ['port 0 never clashes', port(0), port(0), false],
    ['proto case-insensitive', port(80, '', 'TCP'), port(80, '', 'tcp'), true],
  ];
  for (const [title, a, b, want] of table) {
    it(title, () => assert.equal(portsClash(a, b), want));
  }
});

describe('dependenciesOf', () => {
  const table: Array<[string, any, any]> = [
    ['none', {}, { volumesFrom: [], links: [], namespaces: [] }],
    ['volumes-from strips :ro/:rw', { VolumesFrom: ['data:ro', 'logs:rw', 'cfg'] }, { volumesFrom: ['data', 'logs', 'cfg'], links: [], namespaces: [] }],
    ['links from a request and from an engine', { Links: ['db:database', '/cache:/web/cache', 'queue'] }, { volumesFrom: [], links: ['db', 'cache', 'queue'], namespaces: [] }],
    ['--net/--ipc/--pid=container:x', { NetworkMode: 'container:a', IpcMode: 'container:b', PidMode: 'container:a' }, { volumesFrom: [], links: [], namespaces: ['a', 'b'] }],
    ['other modes are not dependencies', { NetworkMode: 'bridge', IpcMode: 'host', PidMode: '' }, { volumesFrom: [], links: [], namespaces: [] }],
  ];
  for (const [title, hc, want] of table) {
    it(title, () => assert.deepEqual(dependenciesOf(hc), want));
  }
  it('accepts a missing HostConfig', () => {
    assert.deepEqual(dependenciesOf(undefined), { volumesFrom: [], links: [], namespaces: [] });
  });
});
