// `swarm manage` flag validation: classic Swarm 1.2.9's texts where classic
// made the check (cli/manage.go, cluster/swarm/cluster.go), ours elsewhere.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, goFormatF, parseManageConfig } from '../../src/cli/config.js';
import { thrown } from './helpers.js';

const base = { discovery: 'a:1' };

describe('parseManageConfig texts', () => {
  const classic: Array<[Record<string, unknown>, string]> = [
    [{}, "discovery required to manage a cluster. See 'swarm manage --help'."],
    [{ 'engine-refresh-min-interval': '0s' }, 'min refresh interval should be a positive number'],
    [{ 'engine-refresh-min-interval': '10s', 'engine-refresh-max-interval': '5s' }, 'max refresh interval cannot be less than min refresh interval'],
    [{ 'engine-refresh-min-interval': 'soon' }, 'invalid value "soon" for flag -engine-refresh-min-interval: time: invalid duration soon'],
    [{ 'engine-refresh-max-interval': '1x' }, 'invalid value "1x" for flag -engine-refresh-max-interval: time: invalid duration 1x'],
    [{ 'engine-refresh-retry': 5 }, '--engine-refresh-retry is deprecated. Use --engine-failure-retry'],
    [{ 'engine-failure-retry': 0 }, 'invalid failure retry count'],
    [{ 'engine-failure-retry': -2 }, 'invalid failure retry count'],
    [{ heartbeat: '500ms' }, '--heartbeat should be at least one second'],
    [{ heartbeat: 'often' }, 'invalid --heartbeat: time: invalid duration often'],
    [{ 'cluster-driver': 'mesos-experimental' }, 'unsupported cluster "mesos-experimental"'],
    [{ 'discovery-opt': ['kv.path=x', 'nokey'] }, '--discovery-opt must contain key=value strings'],
    [{ 'cluster-opt': ['swarm.overcommit=-2'] }, 'swarm.overcommit should be larger than -1, -2.000000 is invalid'],
    [{ 'cluster-opt': ['swarm.overcommit=-1'] }, 'swarm.overcommit should be larger than -1, -1.000000 is invalid'],
    [{ 'cluster-opt': ['swarm.overcommit=-1.5e0'] }, 'swarm.overcommit should be larger than -1, -1.500000 is invalid'],
    [{ 'cluster-opt': ['swarm.overcommit=-inf'] }, 'swarm.overcommit should be larger than -1, -Inf is invalid'],
    [{ 'cluster-opt': ['swarm.createretry=-1'] }, 'swarm.createretry can not be negative, -1 is invalid'],
  ];
  for (const [argv, text] of classic) {
    it(`classic: ${text}`, () => {
      const err = thrown(() => parseManageConfig({ ...(Object.keys(argv).length ? base : {}), ...argv }));
      assert.ok(err instanceof ConfigError);
      assert.equal(err.message, text);
    });
  }

  // Values classic read as 0 without a word: refused here.
  const ours: Array<[Record<string, unknown>, string]> = [
    [{ 'cluster-opt': ['swarm.overcommit=lots'] }, 'swarm.overcommit should be a number, lots is invalid'],
    [{ 'cluster-opt': ['swarm.overcommit='] }, 'swarm.overcommit should be a number,  is invalid'],
    [{ 'cluster-opt': ['swarm.overcommit=nan'] }, 'swarm.overcommit should be a number, nan is invalid'],
    [{ 'cluster-opt': ['swarm.overcommit=inf'] }, 'swarm.overcommit should be a finite number, inf is invalid'],
    [{ 'cluster-opt': ['swarm.createretry=1.5'] }, 'swarm.createretry should be an integer, 1.5 is invalid'],
    [{ 'cluster-opt': ['swarm.createretry='] }, 'swarm.createretry should be an integer,  is invalid'],
  ];
  for (const [argv, text] of ours) {
    it(`ours: ${text}`, () => {
      const err = thrown(() => parseManageConfig({ ...base, ...argv }));
      assert.ok(err instanceof ConfigError);
      assert.equal(err.message, text);
    });
  }

  it('accepts what classic accepts', () => {
    const cfg = parseManageConfig({ ...base, 'cluster-opt': ['swarm.overcommit=-0.5', 'swarm.createretry=+2'], heartbeat: '1s', 'engine-refresh-retry': 3 });
    assert.equal(cfg.overcommit, -0.5);
    assert.equal(cfg.createRetry, 2);
    assert.equal(cfg.heartbeatMs, 1000);
    assert.equal(parseManageConfig({ ...base, 'cluster-opt': ['swarm.overcommit=.25'] }).overcommit, 0.25);
    assert.equal(parseManageConfig({ ...base, 'cluster-opt': ['swarm.overcommit=1e-1'] }).overcommit, 0.1);
  });
});

describe("goFormatF (Go's %f)", () => {
  const table: Array<[number, string]> = [
    [-2, '-2.000000'],
    [0.05, '0.050000'],
    [-0, '-0.000000'],
    [-1.0078125, '-1.007812'], // an exact tie: half to even (toFixed says -1.007813)
    [-1e30, '-1000000000000000019884624838656.000000'],
    [-Infinity, '-Inf'],
    [NaN, 'NaN'],
  ];
  for (const [x, want] of table) it(`${x} -> ${want}`, () => assert.equal(goFormatF(x), want));
});

describe('--access-policy and --audit-log (issue 17)', () => {
  const msg = (fn: () => unknown): string => { const e = thrown(fn); assert.ok(e instanceof ConfigError, String(e)); return e.message; };
  const tlsv = { tlsverify: true, tlscacert: 'ca.pem', tlscert: 'c.pem', tlskey: 'k.pem' };
  it('need --tlsverify and tcp addresses only; the audit log needs a policy', () => {
    assert.equal(msg(() => parseManageConfig({ ...base, 'access-policy': 'p.yaml' })),
      "--access-policy needs --tlsverify: a request's user is the common name of its verified client certificate");
    assert.equal(msg(() => parseManageConfig({ ...base, tls: true, tlscert: 'c.pem', tlskey: 'k.pem', 'access-policy': 'p.yaml' })),
      "--access-policy needs --tlsverify: a request's user is the common name of its verified client certificate");
    assert.equal(msg(() => parseManageConfig({ ...base, ...tlsv, host: ['tcp://0.0.0.0:3376', 'unix:///run/swarm.sock'], 'access-policy': 'p.yaml' })),
      '--access-policy: unix:///run/swarm.sock carries no client certificate; listen on tcp:// addresses only');
    assert.equal(msg(() => parseManageConfig({ ...base, 'audit-log': '-' })), '--audit-log needs --access-policy: the log names the user of each request');
  });

  it('are typed once at the edge', () => {
    const c = parseManageConfig({ ...base, ...tlsv, 'access-policy': 'p.yaml', 'audit-log': '-' });
    assert.deepEqual(c.access, { policy: 'p.yaml', audit: '-' });
    assert.equal(parseManageConfig(base).access, undefined);
  });
});
