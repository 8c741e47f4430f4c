// The access policy (src/access, issue 17): the example loads as
// written, every refusal names its line, the level rules, fingerprints as
// openssl prints them, in-place edits, and `swarm certs revoke`.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFile, execFileSync } from 'node:child_process';
import fc from 'fast-check';
import {
  LEVELS, PolicyError, addRevoked, atLeast, certIdentity, fingerprintOfPem, isAdmin, isRevoked, levelOn, loadPolicy, maxLevel,
  normalizeFingerprint, parsePolicy, visibleLabels, type Level,
} from '../../src/access/index.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'swarm-access-unit-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));

const MAIN = path.resolve(__dirname, '..', '..', 'src', 'cli', 'main.js');

/** A throwaway certificate from openssl (EC: fast), with openssl's own fingerprint line. */
function opensslCert(cn: string): { file: string; pem: string; printed: string } {
  const dir = fs.mkdtempSync(path.join(root, 'cert-'));
  const file = path.join(dir, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', `/CN=${cn}`,
    '-days', '1', '-keyout', path.join(dir, 'key.pem'), '-out', file], { stdio: 'pipe' });
  const printed = execFileSync('openssl', ['x509', '-in', file, '-noout', '-fingerprint', '-sha256'], { encoding: 'utf8' }).trim();
  return { file, pem: fs.readFileSync(file, 'utf8'), printed };
}

const alice = opensslCert('alice');
/** "sha256 Fingerprint=AB:..." (OpenSSL 3) or "SHA256 Fingerprint=AB:..." (1.x): the value part */
const FP = alice.printed.slice(alice.printed.indexOf('=') + 1);
const PLAIN = FP.replace(/:/g, '');

const example = (revoked: string): string => `admins: [root]
users:
  alice: {default: none}
  bob: {default: view}
teams:
  red: {members: [alice], grants: {red: full}}
  blue: {members: [bob], grants: {blue: full, shared: view}}
revoked: [${JSON.stringify(revoked)}]
`;

describe('parsePolicy', () => {
  test('the issue\'s example loads exactly, the fingerprint in every spelling', () => {
    for (const spelling of [FP, FP.toLowerCase(), PLAIN, PLAIN.toLowerCase(), `sha256 Fingerprint=${FP}`, `SHA256 Fingerprint=${PLAIN}`]) {
      const p = parsePolicy(example(spelling), 'policy.yaml');
      assert.deepEqual([...p.admins], ['root']);
      assert.deepEqual([...p.users], [['alice', { default: 'none' }], ['bob', { default: 'view' }]]);
      assert.deepEqual([...p.teams.keys()], ['red', 'blue']);
      assert.deepEqual(p.teams.get('red')?.members, ['alice']);
      assert.deepEqual([...p.teams.get('red')!.grants], [['red', 'full']]);
      assert.deepEqual(p.teams.get('blue')?.members, ['bob']);
      assert.deepEqual([...p.teams.get('blue')!.grants], [['blue', 'full'], ['shared', 'view']]);
      assert.deepEqual([...p.revoked], [FP], spelling);
      assert.equal(p.source, 'policy.yaml');
    }
  });

  test('the same policy as JSON', () => {
    const json = JSON.stringify({
      admins: ['root'], users: { alice: { default: 'none' }, bob: { default: 'view' } },
      teams: { red: { members: ['alice'], grants: { red: 'full' } }, blue: { members: ['bob'], grants: { blue: 'full', shared: 'view' } } },
      revoked: [PLAIN.toLowerCase()],
    }, null, 2);
    assert.deepEqual(parsePolicy(json, 'policy.json'), parsePolicy(example(FP), 'policy.json'));
  });

  test('empty sections, absent sections, {} and names YAML would read as numbers', () => {
    const p = parsePolicy('admins: [1234]\nusers:\nteams: {ops: {members: [007]}}\nrevoked:\n', 'p');
    assert.deepEqual([...p.admins], ['1234']);
    assert.equal(p.users.size, 0);
    assert.deepEqual(p.teams.get('ops'), { members: ['007'], grants: new Map() });
    assert.equal(p.revoked.size, 0);
    assert.equal(parsePolicy('{}', 'p').admins.size, 0);
  });

  test('each refusal: file, line and what is wrong', () => {
    const cases: Array<[string, string]> = [
      ['', 'p.yaml: the policy is empty: want a mapping with admins, users, teams and revoked'],
      ['# nothing\n', 'p.yaml: the policy is empty: want a mapping with admins, users, teams and revoked'],
      ['- root\n', 'p.yaml:1: the policy must be a mapping with admins, users, teams and revoked, not a list'],
      ['admins: [root]\nadmin: [x]\n', 'p.yaml:2: unknown key "admin": the policy\'s keys are admins, users, teams, revoked, managers'],
      ['admins: root\n', 'p.yaml:1: admins must be a list of user names, not "root"'],
      ['admins:\n  - ok\n  - a b\n', 'p.yaml:3: bad admin name "a b": no spaces or control characters'],
      ['admins: ["a\\tb"]\n', 'p.yaml:1: bad admin name "a\\tb": no spaces or control characters'],
      ['admins: [""]\n', 'p.yaml:1: admin name cannot be empty'],
      ['admins:\n  -\n', 'p.yaml:2: admin name cannot be empty'],
      ['admins: [{a: 1}]\n', 'p.yaml:1: admin name must be a string, not a mapping'],
      ['users: [alice]\n', 'p.yaml:1: users must be a mapping of user names to {default: LEVEL}, not a list'],
      ['users:\n  alice: {}\n', 'p.yaml:2: user "alice" needs a default level: none, view, restricted or full'],
      ['users:\n  alice:\n', 'p.yaml:2: user "alice" needs a default level: none, view, restricted or full'],
      ['users:\n  alice:\n    default: viewer\n', 'p.yaml:3: bad level "viewer" for user "alice"\'s default: want none, view, restricted or full'],
      ['users:\n  alice: {default: view, teams: [red]}\n', 'p.yaml:2: unknown key "teams" in user "alice": it takes only default'],
      ['users:\n  " x": {default: view}\n', 'p.yaml:2: bad user name " x": no spaces or control characters'],
      ['teams:\n  red:\n    member: [alice]\n', 'p.yaml:3: unknown key "member" in team "red": it takes members and grants'],
      ['teams:\n  red:\n    members: alice\n', 'p.yaml:3: team "red"\'s members must be a list of user names, not "alice"'],
      ['teams:\n  red:\n    grants:\n      red: rw\n', 'p.yaml:4: bad level "rw" for team "red" on "red": want none, view, restricted or full'],
      ['teams:\n  red:\n    grants: [red]\n', 'p.yaml:3: team "red"\'s grants must be a mapping of access label values to levels, not a list'],
      ['teams:\n  red:\n    grants: {"": full}\n', 'p.yaml:3: team "red": an access label value cannot be empty'],
      ['revoked:\n  - AB:CD\n', 'p.yaml:2: bad fingerprint "AB:CD" in revoked: 4 hex digits, want 64 (a SHA-256)'],
      [`revoked:\n  - ${FP.slice(0, 59)}\n`, `p.yaml:2: bad fingerprint "${FP.slice(0, 59)}" in revoked: 40 hex digits, want 64 (a SHA-256, not a SHA-1)`],
      [`revoked: ["${'G' + PLAIN.slice(1)}"]\n`, `p.yaml:1: bad fingerprint "${'G' + PLAIN.slice(1)}" in revoked: "G" is not a hex digit; want 64 hex digits (a SHA-256), colons allowed`],
      ['users:\n  alice: {default: view}\n  alice: {default: full}\n', 'p.yaml:3: duplicate key "alice" in users'],
      ['admins: []\nadmins: [x]\n', 'p.yaml:2: duplicate key "admins"'],
      ['teams:\n  red:\n    grants: {a: view, a: full}\n', 'p.yaml:3: duplicate key "a" in team "red"\'s grants'],
      ['{\n  "admins": ["a"],\n  "admins": []\n}\n', 'p.yaml:3: duplicate key "admins"'],
      ['admins: [root\nusers: {}\n', 'p.yaml:2: bad YAML: Flow sequence in block collection must be sufficiently indented and end with a ]'],
      ['admins: "root\n', 'p.yaml:2: bad YAML: Missing closing "quote'],
      ['admins: []\n---\nusers: {}\n', 'p.yaml:2: bad YAML: a policy is one YAML document, this file has more (a second ---)'],
    ];
    for (const [text, message] of cases) {
      assert.throws(() => parsePolicy(text, 'p.yaml'), (e) => {
        assert.ok(e instanceof PolicyError, String(e));
        assert.equal(e.message, message, JSON.stringify(text));
        return true;
      });
    }
  });

  test('loadPolicy names the file it cannot read', () => {
    const missing = path.join(root, 'missing.yaml');
    assert.throws(() => loadPolicy(missing), { name: 'PolicyError', message: `${missing}: cannot read the access policy: no such file` });
    assert.throws(() => loadPolicy(root), { name: 'PolicyError', message: `${root}: cannot read the access policy: is a directory, not a file` });
    const file = path.join(root, 'load.yaml');
    fs.writeFileSync(file, 'admins: [root]\nusers: {alice: {default: nope}}\n');
    assert.throws(() => loadPolicy(file), { message: `${file}:2: bad level "nope" for user "alice"'s default: want none, view, restricted or full` });
  });
});

describe('levels', () => {
  test('LEVELS in order; atLeast and maxLevel follow it', () => {
    assert.deepEqual(LEVELS, ['none', 'view', 'restricted', 'full']);
    for (const [i, a] of LEVELS.entries()) {
      for (const [j, b] of LEVELS.entries()) {
        assert.equal(atLeast(a, b), i >= j, `${a} >= ${b}`);
        assert.equal(maxLevel(a, b), LEVELS[Math.max(i, j)]);
      }
    }
  });

  const p = parsePolicy(`admins: [root]
users:
  alice: {default: none}
  bob: {default: view}
  carol: {default: restricted}
teams:
  red: {members: [alice, carol], grants: {red: full, shared: view}}
  blue: {members: [bob], grants: {blue: full, shared: view}}
  audit: {members: [carol], grants: {shared: restricted, red: none}}
`, 'p');

  test('levelOn: admin, default on unlabelled, team grants on labelled, the best over teams, unknown users', () => {
    const table: Array<[string, string | undefined, Level]> = [
      ['root', undefined, 'full'], ['root', 'red', 'full'], ['root', 'nobody-grants-this', 'full'],
      ['alice', undefined, 'none'], ['alice', 'red', 'full'], ['alice', 'shared', 'view'], ['alice', 'blue', 'none'],
      ['bob', undefined, 'view'], ['bob', 'blue', 'full'], ['bob', 'red', 'none'], ['bob', 'other', 'none'],
      // the default is for unlabelled objects only: carol's restricted does not reach labels no team grants
      ['carol', undefined, 'restricted'], ['carol', 'other', 'none'], ['carol', 'blue', 'none'],
      // two teams: the better grant wins (red: full over none; shared: restricted over view)
      ['carol', 'red', 'full'], ['carol', 'shared', 'restricted'],
      ['', '', 'none'], ['alice', '', 'none'],
      ['mallory', undefined, 'none'], ['mallory', 'red', 'none'],
    ];
    for (const [user, label, want] of table) assert.equal(levelOn(p, user, label), want, `${user} on ${label}`);
    assert.equal(isAdmin(p, 'root'), true);
    assert.equal(isAdmin(p, 'alice'), false);
  });

  test('visibleLabels agrees with levelOn', () => {
    assert.deepEqual(visibleLabels(p, 'root', 'full'), { all: true, labels: new Set(), unlabelled: true });
    assert.deepEqual(visibleLabels(p, 'alice', 'view'), { all: false, labels: new Set(['red', 'shared']), unlabelled: false });
    assert.deepEqual(visibleLabels(p, 'alice', 'full'), { all: false, labels: new Set(['red']), unlabelled: false });
    assert.deepEqual(visibleLabels(p, 'bob', 'view'), { all: false, labels: new Set(['blue', 'shared']), unlabelled: true });
    assert.deepEqual(visibleLabels(p, 'carol', 'restricted'), { all: false, labels: new Set(['red', 'shared']), unlabelled: true });
    assert.deepEqual(visibleLabels(p, 'mallory', 'view'), { all: false, labels: new Set(), unlabelled: false });
    assert.equal(visibleLabels(p, 'mallory', 'none').all, true);
    for (const user of ['alice', 'bob', 'carol', 'mallory']) {
      for (const min of LEVELS.slice(1)) {
        const v = visibleLabels(p, user, min);
        for (const label of ['red', 'blue', 'shared', 'other']) assert.equal(v.labels.has(label), atLeast(levelOn(p, user, label), min));
        assert.equal(v.unlabelled, atLeast(levelOn(p, user, undefined), min));
      }
    }
  });
});

describe('fingerprints', () => {
  test('fingerprintOfPem is what openssl prints; certIdentity adds the CN', () => {
    assert.match(alice.printed, /^(sha256|SHA256) Fingerprint=([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    assert.equal(fingerprintOfPem(alice.pem), FP);
    assert.deepEqual(certIdentity(alice.pem), { fingerprint: FP, commonName: 'alice' });
    assert.throws(() => fingerprintOfPem('hello'), { name: 'PolicyError', message: 'not a PEM certificate (no BEGIN CERTIFICATE line)' });
    assert.throws(() => fingerprintOfPem('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'), /^PolicyError: not a valid certificate: /);
  });

  test('isRevoked takes any spelling', () => {
    const p = parsePolicy(example(FP), 'p');
    for (const s of [FP, PLAIN.toLowerCase(), `sha256 Fingerprint=${FP}`]) assert.equal(isRevoked(p, s), true);
    assert.equal(isRevoked(p, '00'.repeat(32)), false);
    assert.equal(isRevoked(p, 'junk'), false);
  });

  const bytes = fc.uint8Array({ minLength: 32, maxLength: 32 });
  const spell = (b: Uint8Array, colons: boolean, upper: boolean): string => {
    const hex = [...b].map((x) => x.toString(16).padStart(2, '0'));
    const s = hex.join(colons ? ':' : '');
    return upper ? s.toUpperCase() : s;
  };

  test('property: 32 bytes in any spelling normalize to one form', () => {
    fc.assert(fc.property(bytes, fc.boolean(), fc.boolean(), fc.boolean(), (b, colons, upper, prefix) => {
      const want = spell(b, true, true);
      assert.match(want, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
      assert.equal(normalizeFingerprint((prefix ? 'sha256 Fingerprint=' : '') + spell(b, colons, upper)), want);
    }));
  });

  test('property: anything that is not 64 hex digits once colons are removed is refused', () => {
    const near = fc.tuple(bytes, fc.nat(), fc.constantFrom('drop', 'add', 'swap')).map(([b, i, how]) => {
      const s = spell(b, false, false);
      const at = i % s.length;
      if (how === 'drop') return s.slice(0, at) + s.slice(at + 1);
      if (how === 'add') return s + 'a';
      return s.slice(0, at) + 'g' + s.slice(at + 1);
    });
    const hexish = fc.stringMatching(/^[0-9a-fA-F:]{0,140}$/);
    fc.assert(fc.property(fc.oneof(fc.string(), hexish, near), (s) => {
      const t = s.trim();
      // the accepted extras: surrounding blanks and openssl's label
      fc.pre(!/^sha-?256 ?fingerprint ?=/i.test(t));
      if (/^[0-9a-fA-F]{64}$/.test(t.replace(/:/g, ''))) return;
      assert.equal(normalizeFingerprint(s), undefined, s);
    }), { numRuns: 500 });
  });
});

describe('addRevoked', () => {
  const other = 'cc'.repeat(32);
  const OTHER = 'CC:'.repeat(31) + 'CC';

  test('YAML: added to the list, comments and layout kept; again: added false and the file untouched', () => {
    const file = path.join(root, 'edit.yaml');
    const text = `# who may do what
admins: [root] # ops

users:
  # alice left the team
  alice: {default: none}
revoked:
  - "${FP}" # lost laptop
# end
`;
    fs.writeFileSync(file, text, { mode: 0o640 });
    assert.deepEqual(addRevoked(file, other), { added: true, fingerprint: OTHER });
    assert.equal(fs.readFileSync(file, 'utf8'), text.replace('# lost laptop\n', `# lost laptop\n  - "${OTHER}"\n`).replace('# end', '\n# end'));
    assert.equal(fs.statSync(file).mode & 0o777, 0o640);
    const before = fs.statSync(file);
    assert.deepEqual(addRevoked(file, `SHA256 Fingerprint=${other}`), { added: false, fingerprint: OTHER });
    assert.equal(fs.statSync(file).mtimeMs, before.mtimeMs);
    assert.deepEqual([...loadPolicy(file).revoked], [FP, OTHER]);
    assert.deepEqual(fs.readdirSync(root).filter((f) => f.endsWith('.tmp')), [], 'no temp file left');
  });

  test('YAML without revoked, or with an empty one, gets a list', () => {
    for (const [text, want] of [
      ['admins: [root]\n', `admins: [root]\nrevoked:\n  - ${OTHER}\n`],
      ['admins: [root]\nrevoked:\n', `admins: [root]\nrevoked:\n  - ${OTHER}\n`],
      ['admins: [root]\nrevoked: []\n', `admins: [root]\nrevoked: [${OTHER}]\n`],
    ]) {
      const file = path.join(root, 'bare.yaml');
      fs.writeFileSync(file, text);
      addRevoked(file, other);
      assert.equal(fs.readFileSync(file, 'utf8'), want);
    }
  });

  test('JSON is rewritten as JSON, 2-space indent', () => {
    const file = path.join(root, 'edit.json');
    fs.writeFileSync(file, '{"admins": ["root"], "users": {"alice": {"default": "view"}}}');
    assert.deepEqual(addRevoked(file, other), { added: true, fingerprint: OTHER });
    assert.equal(fs.readFileSync(file, 'utf8'), `{\n  "admins": [\n    "root"\n  ],\n  "users": {\n    "alice": {\n      "default": "view"\n    }\n  },\n  "revoked": [\n    "${OTHER}"\n  ]\n}\n`);
    addRevoked(file, FP);
    assert.deepEqual(JSON.parse(fs.readFileSync(file, 'utf8')).revoked, [OTHER, FP]);
    assert.equal(addRevoked(file, FP.toLowerCase()).added, false);
  });

  test('refusals: a bad fingerprint, a broken file, a missing file, an aliased list', () => {
    const file = path.join(root, 'refuse.yaml');
    fs.writeFileSync(file, 'admins: [root]\n');
    assert.throws(() => addRevoked(file, 'AB:CD'), { name: 'PolicyError', message: 'bad fingerprint "AB:CD": 4 hex digits, want 64 (a SHA-256)' });
    fs.writeFileSync(file, 'admins: [root]\nadmin: []\n');
    assert.throws(() => addRevoked(file, other), { message: `${file}:2: unknown key "admin": the policy's keys are admins, users, teams, revoked, managers` });
    assert.equal(fs.readFileSync(file, 'utf8'), 'admins: [root]\nadmin: []\n');
    assert.throws(() => addRevoked(path.join(root, 'none.yaml'), other), /none\.yaml: cannot read the access policy: no such file/);
    // valid (a fingerprint is a valid name), but adding to revoked would add an admin too
    fs.writeFileSync(file, `admins: &list ["${FP}"]\nrevoked: *list\n`);
    assert.equal(loadPolicy(file).revoked.size, 1);
    assert.throws(() => addRevoked(file, other), { message: `${file}: cannot add to revoked: it is not a plain list; add the fingerprint by hand` });
  });
});

interface Run { code: number; stdout: string; stderr: string }
function swarm(env: Record<string, string>, ...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { env: { ...process.env, SWARM_ACCESS_POLICY: '', ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? Number(err.code ?? -1) : 0, stdout, stderr });
    });
  });
}

describe('swarm certs revoke (the built command, spawned)', () => {
  test('a certificate file, then its fingerprint again, then a pair directory via $SWARM_ACCESS_POLICY', async () => {
    const file = path.join(root, 'cli.yaml');
    fs.writeFileSync(file, '# cli\nadmins: [root]\n');
    const first = await swarm({}, 'certs', 'revoke', alice.file, '--policy', file);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stdout, `revoked ${FP} (CN=alice) in ${file}\n`);
    const again = await swarm({}, 'certs', 'revoke', PLAIN.toLowerCase(), '--policy', file);
    assert.equal(again.stdout, `already revoked ${FP} in ${file}\n`);
    const byDir = await swarm({ SWARM_ACCESS_POLICY: file }, 'certs', 'revoke', path.dirname(alice.file));
    assert.equal(byDir.stdout, `already revoked ${FP} (CN=alice) in ${file}\n`);
    assert.equal(fs.readFileSync(file, 'utf8'), `# cli\nadmins: [root]\nrevoked:\n  - ${FP}\n`);
  });

  test('refusals: one line on stderr, exit 1', async () => {
    const file = path.join(root, 'cli-bad.yaml');
    fs.writeFileSync(file, 'admins: [root]\n');
    const cases: Array<[Run, RegExp]> = await Promise.all([
      swarm({}, 'certs', 'revoke', 'nope', '--policy', file).then((r) => [r, /"nope" is neither a certificate file nor a SHA-256 fingerprint/] as [Run, RegExp]),
      swarm({}, 'certs', 'revoke', FP).then((r) => [r, /say which access policy to edit: --policy FILE or \$SWARM_ACCESS_POLICY/] as [Run, RegExp]),
      swarm({}, 'certs', 'revoke', FP, '--policy', path.join(root, 'gone.yaml')).then((r) => [r, /gone\.yaml: cannot read the access policy: no such file/] as [Run, RegExp]),
      swarm({}, 'certs', 'revoke', path.join(path.dirname(alice.file), 'key.pem'), '--policy', file).then((r) => [r, /key\.pem: not a PEM certificate/] as [Run, RegExp]),
    ]);
    for (const [r, re] of cases) {
      assert.equal(r.code, 1, r.stdout);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, re);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack');
    }
    assert.equal(fs.readFileSync(file, 'utf8'), 'admins: [root]\n');
  });

  test('--help says the manager reloads the policy', async () => {
    const help = await swarm({}, 'certs', 'revoke', '--help');
    assert.equal(help.code, 0);
    assert.match(help.stdout.replace(/\s+/g, ' '), /a running manager reloads the policy when the file changes/);
    assert.match(help.stdout, /--policy/);
  });
});

describe('managers (replication)', () => {
  test('are certificate CNs a primary believes forwarded names from', () => {
    assert.deepEqual([...parsePolicy('managers: [swarm-manager, m2]\n', 'p.yaml').managers], ['swarm-manager', 'm2']);
    assert.equal(parsePolicy('admins: [root]\n', 'p.yaml').managers.size, 0);
    assert.throws(() => parsePolicy('managers: swarm-manager\n', 'p.yaml'), /^PolicyError|p\.yaml:1: /);
  });
});
