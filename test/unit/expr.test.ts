import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatExpr, hasSoft, matchExpr, parseExpr, parseExprs } from '../../src/scheduler/expr.js';
import { BadRequestError } from '../../src/errors.js';
import { compileRe2 } from '../../src/util/regex.js';
import { thrown } from './helpers.js';

describe('parseExpr', () => {
  const ok: Array<[string, { key: string; op: string; value: string; soft: boolean }]> = [
    ['storage==ssd', { key: 'storage', op: '==', value: 'ssd', soft: false }],
    ['storage!=ssd', { key: 'storage', op: '!=', value: 'ssd', soft: false }],
    ['node==~node-1', { key: 'node', op: '==', value: 'node-1', soft: true }],
    ['node!=~node-1', { key: 'node', op: '!=', value: 'node-1', soft: true }],
    ['com.example.zone==eu-1', { key: 'com.example.zone', op: '==', value: 'eu-1', soft: false }],
    ['_x-y.z==1', { key: '_x-y.z', op: '==', value: '1', soft: false }],
    ['Region==US*', { key: 'Region', op: '==', value: 'US*', soft: false }],
    ['node==/node-[12]/', { key: 'node', op: '==', value: '/node-[12]/', soft: false }],
    ['image==localhost:5000/app:1.0', { key: 'image', op: '==', value: 'localhost:5000/app:1.0', soft: false }],
    // classic splits on "==" before "!=": the value keeps what follows
    ['key==a!=b', { key: 'key', op: '==', value: 'a!=b', soft: false }],
  ];
  for (const [raw, want] of ok) {
    it(`parses ${raw}`, () => {
      const e = parseExpr(raw, 'constraint');
      assert.deepEqual({ key: e.key, op: e.op, value: e.value, soft: e.soft }, want);
      assert.equal(e.raw, raw);
    });
  }

  const bad = [
    'foo', // no operator
    'storage=ssd', // single "="
    'storage<ssd',
    '==ssd', // empty key
    'a==b', // key needs two characters
    '1abc==x', // key must start with a letter or "_"
    'sto rage==ssd',
    'storage==', // empty value
    'storage==~', // soft marker only
    'node==/node-[/', // bad regex
    'node==foo(', // glob compiled as regex
    'storage==s\nsd',
    '',
    // RE2 syntax: no backreferences or lookaround (Go's regexp, as classic)
    'node==/(a)\\1/',
    'node==/a(?=b)/',
    // over the cost bounds: too long, too large a program
    `node==/${'a'.repeat(1100)}/`,
    'node==/[a-z]{1000}[0-9]{1000}[a-f]{100}/',
    'node==/(?:[a-z]{100}){100}/', // RE2's own repeat limit
  ];
  for (const raw of bad) {
    it(`rejects ${JSON.stringify(raw)} naming it`, () => {
      const err = thrown(() => parseExpr(raw, 'constraint'));
      assert.ok(err instanceof BadRequestError);
      assert.equal(err.statusCode, 400);
      assert.equal(err.message, `invalid constraint expression: ${raw}`);
    });
  }

  it('names the kind in the error, or none', () => {
    assert.equal(thrown(() => parseExpr('foo', 'affinity')).message, 'invalid affinity expression: foo');
    assert.equal(thrown(() => parseExpr('foo')).message, 'invalid expression: foo');
  });

  it('parseExprs parses a list and stops at the first bad entry', () => {
    assert.equal(parseExprs(['a1==b', 'c1!=d'], 'constraint').length, 2);
    assert.equal(parseExprs([]).length, 0);
    assert.equal(thrown(() => parseExprs(['a1==b', 'oops'], 'whitelist')).message, 'invalid whitelist expression: oops');
  });

  it('formatExpr drops the soft marker; hasSoft finds soft ones', () => {
    assert.equal(formatExpr(parseExpr('node==~n1')), 'node==n1');
    assert.equal(hasSoft(parseExprs(['a1==b', 'c1==~d'])), true);
    assert.equal(hasSoft(parseExprs(['a1==b'])), false);
  });
});

describe('matchExpr', () => {
  const table: Array<[string, string | string[], boolean]> = [
    // exact and case-insensitive globs
    ['k1==ssd', 'ssd', true],
    ['k1==ssd', 'SSD', true],
    ['k1==ssd', 'ssd2', false],
    ['k1==ssd', 'xssd', false],
    ['k1==s*', 'ssd', true],
    ['k1==*d', 'ssd', true],
    ['k1==s*d', 'sd', true],
    ['k1==*', '', true],
    ['k1==ub*t*', 'ubuntu', true],
    ['k1==ub*t*', 'debian', false],
    // regex: unanchored search, case-sensitive unless (?i)
    ['k1==/node-[12]/', 'node-1', true],
    ['k1==/node-[12]/', 'node-3', false],
    ['k1==/node-[12]/', 'my-node-2-x', true],
    ['k1==/^node-[12]$/', 'my-node-2', false],
    ['k1==/NODE/', 'node', false],
    ['k1==/(?i)NODE/', 'node', true],
    // soft expressions match like hard ones
    ['k1==~ssd', 'ssd', true],
    // candidate lists: == any, != none
    ['k1==web', ['db', 'web'], true],
    ['k1==web', ['db', 'cache'], false],
    ['k1==web', [], false],
    ['k1!=web', ['db', 'web'], false],
    ['k1!=web', ['db', 'cache'], true],
    ['k1!=web', [], true],
    ['k1!=ssd', 'disk', true],
    ['k1!=s*', 'ssd', false],
    ['k1!=/^n/', 'node', false],
  ];
  for (const [raw, cand, want] of table) {
    it(`${raw} vs ${JSON.stringify(cand)} -> ${want}`, () => {
      assert.equal(matchExpr(parseExpr(raw), cand), want);
    });
  }

  it('a pathological regex runs in linear time (RE2, not a backtracking RegExp)', () => {
    // With JavaScript's RegExp this took ~19 s and blocked the whole process.
    const e = parseExpr('container==/^(a+)+b$/', 'affinity');
    const t0 = process.hrtime.bigint();
    for (let n = 25; n <= 40; n++) assert.equal(matchExpr(e, 'a'.repeat(n) + '-'), false);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    assert.ok(ms < 500, `took ${ms.toFixed(1)} ms`);
    assert.equal(matchExpr(e, 'aaab'), true);
  });

  it('takes RE2 inline flags anywhere, and RE2 classes', () => {
    assert.equal(matchExpr(parseExpr('k1==/x(?i)NODE/'), 'xnode'), true);
    assert.equal(matchExpr(parseExpr('k1==/x(?i)NODE/'), 'Xnode'), false);
    assert.equal(matchExpr(parseExpr('k1==/^[[:alpha:]]+-\\d$/'), 'node-1'), true);
    assert.equal(matchExpr(parseExpr('k1==/^\\pL+$/'), 'nœud'), true);
  });

  it('globs match exactly as their RE2 form does (direct ASCII matching agrees with RE2)', () => {
    const values = ['node-1', 'Node-1', 'nginx:1.25', 'a.b', '...', 'web_1', 'x=y', 'localhost:5000/app@sha256:ab', 'K', 's',
      'web*', '*web', '*', '**', 'a*b*c', '*.*', 'n*-1', 'a*a', '*a*a*', '.*.'];
    const candidates = ['node-1', 'NODE-1', 'node-11', 'node-', 'nginx:1.25', 'nginx:1x25', 'NGINX:1.25', 'a.b', 'axb', 'a\nb', 'a😀b',
      'abc', '', 'web_1', 'X=Y', 'localhost:5000/APP@sha256:AB', '\u212a', 'k', '\u017f', 'S', 'ñ.b', 'web', 'webby', 'my-web', 'a',
      'aa', 'aXbYc', 'abc\n', '😀', 'x😀y', 'n\n-1', 'A\u212aA'];
    for (const v of values) {
      const e = parseExpr(`k1==${v}`);
      const re = compileRe2('^' + v.split('*').join('.*') + '$', 'i');
      for (const c of candidates) assert.equal(matchExpr(e, c), re.test(c), `${v} vs ${JSON.stringify(c)}`);
    }
  });

  it('globs agree with RE2 on generated cases (seeded; no fast-check here)', () => {
    let seed = 42;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const pick = (alphabet: string[], max: number) => Array.from({ length: rand(max + 1) }, () => alphabet[rand(alphabet.length)]).join('');
    const patternChars = ['a', 'b', 'A', '.', '*', '-', 'k', 's'];
    const inputChars = ['a', 'b', 'A', 'B', '.', '-', '\n', 'é', '😀', '\u212a', '\u017f', 'k', 's'];
    for (let i = 0; i < 400; i++) {
      const v = pick(patternChars, 6) || 'a';
      const e = parseExpr(`k1==${v}`);
      const re = compileRe2('^' + v.split('*').join('.*') + '$', 'i');
      for (let j = 0; j < 25; j++) {
        const c = pick(inputChars, 8);
        assert.equal(matchExpr(e, c), re.test(c), `${v} vs ${JSON.stringify(c)}`);
      }
    }
  });

  it('matches hand-built expressions too', () => {
    assert.equal(matchExpr({ key: 'k1', op: '==', value: 'a*', soft: false, raw: 'k1==a*' }, 'abc'), true);
  });
});
