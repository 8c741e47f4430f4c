// The inspect answer edited in the engine's bytes (src/cluster/inspectbody.ts)
// means exactly what the whole-document transform meant: same parsed value,
// same key order, on random inspect-like documents (seeded).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decorateInspect, decorateInspectParsed } from '../../src/cluster/inspectbody.js';

const NODE = { ID: 'AAAA:BBBB', IP: '10.1.2.3', Addr: '10.1.2.3:2375', Name: 'node-1', Cpus: 4, Memory: 8 * 1024 ** 3, Labels: { zone: 'z1' } };
const IP = NODE.IP;

/** Strings that look like the places the scanner must not be fooled by. */
const tricky = fc.constantFrom('0.0.0.0', '::', '', 'NetworkSettings', 'Ports', 'HostIp', 'Node', '"HostIp":"0.0.0.0"', '\\', '\\"', '"', '}', '{', ']', ',"x":1', 'é', '\u2028', '<&>');
const str = fc.oneof(fc.string({ maxLength: 12 }), fc.string({ unit: 'grapheme', maxLength: 6 }), tricky);
const hostIp = fc.oneof(fc.constantFrom('0.0.0.0', '::', '', '127.0.0.1', '10.0.0.9', '::1'), str);
const binding = fc.record({ HostIp: hostIp, HostPort: fc.oneof(fc.constantFrom('80', '8080', ''), str) }, { requiredKeys: ['HostPort'] });
const ports = fc.oneof(
  fc.constant(null), fc.constant({}),
  fc.dictionary(fc.oneof(fc.constantFrom('80/tcp', '53/udp', '443/tcp'), str), fc.oneof(fc.constant(null), fc.array(binding, { maxLength: 3 })), { maxKeys: 4 }),
);
const labels = fc.dictionary(fc.oneof(str, fc.constantFrom('NetworkSettings', 'Ports', 'HostIp', 'Node')), fc.oneof(str, fc.constantFrom('0.0.0.0', '::')), { maxKeys: 4 });
const networkSettings = fc.record({
  Bridge: str,
  Ports: ports,
  SandboxKey: str,
  Networks: fc.dictionary(fc.oneof(str, fc.constant('Ports')), fc.record({ IPAddress: str, Gateway: str }), { maxKeys: 3 }),
}, { requiredKeys: [] });
const doc = fc.record({
  Id: fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 64, maxLength: 64 }),
  Name: str,
  State: fc.record({ Status: fc.constantFrom('running', 'exited'), Pid: fc.nat() }),
  HostConfig: fc.record({ PortBindings: ports, NetworkMode: fc.constantFrom('default', 'bridge', 'host') }),
  Config: fc.record({ Labels: labels, Env: fc.array(str, { maxLength: 3 }) }),
  Extra: fc.jsonValue({ maxDepth: 3 }),
  NetworkSettings: fc.oneof(networkSettings, fc.constant(null)),
}, { requiredKeys: ['Id'] });

/** How the text may be laid out: Go's encoder (compact, `<>&` escaped), indented, NetworkSettings first, duplicate keys. */
const layouts: Array<(d: any) => string> = [
  (d) => JSON.stringify(d) + '\n',
  (d) => JSON.stringify(d).replace(/[<>&]/g, (c) => `\\u00${c.charCodeAt(0).toString(16)}`) + '\n',
  (d) => JSON.stringify(d, null, 2),
  (d) => JSON.stringify({ NetworkSettings: d.NetworkSettings, ...d }),
  (d) => ` { "NetworkSettings" : {"Ports":{"1/tcp":[{"HostIp":"0.0.0.0","HostPort":"1"}]}}, "Node": 5, ${JSON.stringify(d).slice(1)} \n`,
  (d) => `${JSON.stringify(d).slice(0, -1)}${Object.keys(d).length ? ',' : ''}"NetworkSettings":{"Ports":{"2/tcp":[{"HostPort":"2"}]},"Ports":{"3/tcp":[{"HostIp":"::","HostPort":"3"}]}}}`,
];

const same = (text: string): void => {
  const body = Buffer.from(text);
  const want = JSON.stringify(JSON.parse(decorateInspectParsed(body, NODE, IP).toString('utf8')));
  const got = decorateInspect(body, NODE, IP).toString('utf8');
  assert.equal(JSON.stringify(JSON.parse(got)), want, text);
};

test('byte-level inspect transform: same value and key order as parse + rewrite + stringify (random documents)', () => {
  fc.assert(fc.property(doc, fc.nat(layouts.length - 1), (d, l) => { same(layouts[l](d)); }), { seed: 15015, numRuns: 3000 });
});

test('wildcard host IPs of NetworkSettings.Ports become the node IP; PortBindings stay as the engine said', () => {
  const engine = {
    Id: 'abc', Config: { Labels: { HostIp: '0.0.0.0' } },
    HostConfig: { PortBindings: { '80/tcp': [{ HostIp: '', HostPort: '8080' }] } },
    NetworkSettings: { Ports: { '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '8080' }, { HostIp: '::', HostPort: '8080' }], '81/tcp': null, '82/tcp': [{ HostIp: '127.0.0.1', HostPort: '1' }] } },
  };
  const text = JSON.stringify(engine) + '\n';
  const out = decorateInspect(Buffer.from(text), NODE, IP).toString('utf8');
  const got = JSON.parse(out);
  assert.deepEqual(got.NetworkSettings.Ports['80/tcp'], [{ HostIp: IP, HostPort: '8080' }, { HostIp: IP, HostPort: '8080' }]);
  assert.deepEqual(got.NetworkSettings.Ports['82/tcp'], [{ HostIp: '127.0.0.1', HostPort: '1' }]);
  assert.deepEqual(got.HostConfig.PortBindings, engine.HostConfig.PortBindings);
  assert.deepEqual(got.Config.Labels, { HostIp: '0.0.0.0' });
  assert.deepEqual(got.Node, NODE);
  assert.ok(out.endsWith('}\n'), 'the engine\'s trailing newline is kept');
  // Nothing to rewrite: the engine's bytes pass through up to the added Node.
  const plain = '{"Id":"x","NetworkSettings":{"Ports":{}},"Config":{"Labels":{"a":"\\u003cb\\u003e"}}}\n';
  assert.equal(decorateInspect(Buffer.from(plain), NODE, IP).toString('utf8'), `${plain.slice(0, -2)},"Node":${JSON.stringify(NODE)}}\n`);
  assert.equal(JSON.parse(decorateInspect(Buffer.from('{}'), NODE, IP).toString('utf8')).Node.Name, 'node-1');
});

test('what is not a JSON object is answered as before (the same error, or the same text)', () => {
  for (const bad of ['not json', '{"a":1} trailing', '{"a":', '{"a" 1}', 'null']) {
    assert.throws(() => decorateInspectParsed(Buffer.from(bad), NODE, IP));
    assert.throws(() => decorateInspect(Buffer.from(bad), NODE, IP), bad);
  }
  assert.equal(decorateInspect(Buffer.from('[1,2]'), NODE, IP).toString(), decorateInspectParsed(Buffer.from('[1,2]'), NODE, IP).toString());
});
