import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RE2JS } from 're2js';
import { NO_REGEX_LIMITS, RegexError, USER_REGEX_LIMITS, compileRe2, literalTest, quoteRe2, tryCompileRe2 } from '../../src/util/regex.js';
import { matchAny, matcherOf } from '../../src/util/dockerfilters.js';
import { thrown } from './helpers.js';

describe('compileRe2', () => {
  it('searches unanchored, with flags', () => {
    assert.equal(compileRe2('web').test('/web1'), true);
    assert.equal(compileRe2('^web$').test('/web'), false);
    assert.equal(compileRe2('WEB').test('web'), false);
    assert.equal(compileRe2('WEB', 'i').test('web'), true);
    assert.equal(compileRe2('(?i)WEB').test('web'), true);
    assert.equal(compileRe2('a.b').test('a\nb'), false);
    assert.equal(compileRe2('a.b', 's').test('a\nb'), true);
  });

  it('caches compiled patterns', () => {
    assert.equal(compileRe2('cache-me-[0-9]'), compileRe2('cache-me-[0-9]'));
    assert.notEqual(compileRe2('cache-me-[0-9]'), compileRe2('cache-me-[0-9]', 'i'));
  });

  it('rejects invalid patterns, and ones over the limits', () => {
    for (const p of ['(', 'a(?=b)', '(a)\\1', 'x{1001}', 'a'.repeat(USER_REGEX_LIMITS.maxLength + 1), '[a-z]{1000}[0-9]{1000}[a-f]{100}']) {
      assert.ok(thrown(() => compileRe2(p)) instanceof RegexError, p);
      assert.equal(tryCompileRe2(p), undefined, p);
    }
    assert.ok(thrown(() => compileRe2('a', 'g')) instanceof RegexError);
    // A trusted caller may lift the limits; a later user call is still bound by them.
    const big = '[a-z]{1000}[0-9]{1000}[a-f]{100}';
    assert.ok(compileRe2(big, '', NO_REGEX_LIMITS).programSize > USER_REGEX_LIMITS.maxProgramSize);
    assert.equal(tryCompileRe2(big), undefined);
  });

  it('runs the classic catastrophic-backtracking patterns in milliseconds', () => {
    const cases: Array<[string, string]> = [
      ['^(a+)+b$', 'a'.repeat(31) + '-'],
      ['^(a|a)*b$', 'a'.repeat(5000)],
      ['^(a|aa)+$', 'a'.repeat(5000) + 'b'],
      ['(x+x+)+y', 'x'.repeat(5000)],
      ['^(\\w+\\s?)*$', 'an overly long sentence that does not end well '.repeat(50) + '!'],
    ];
    for (const [p, input] of cases) {
      const re = compileRe2(p);
      const t0 = process.hrtime.bigint();
      assert.equal(re.test(input), false, p);
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      assert.ok(ms < 250, `${p}: ${ms.toFixed(1)} ms`);
    }
  });
});

describe('quoteRe2', () => {
  it('makes any string match itself literally', () => {
    for (const s of ['node-1', 'a.b+c*d?e(f)g|h[i]j{k}l^m$n\\o/p-q', '', 'ünï']) {
      const re = compileRe2(`^${quoteRe2(s)}$`);
      assert.equal(re.test(s), true, s);
      assert.equal(re.test(s + 'x'), false, s);
    }
    assert.equal(compileRe2(`^${quoteRe2('a.c')}$`).test('abc'), false);
  });
});

describe('matchAny (docker ps --filter name=<regex>)', () => {
  it('is RE2 too: linear time; an invalid or over-long pattern matches nothing', () => {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < 1000; i++) assert.equal(matchAny(['^/(a+)+b$'], '/' + 'a'.repeat(31) + '-'), false);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    assert.ok(ms < 1000, `took ${ms.toFixed(1)} ms`);
    assert.equal(matchAny(['(', 'web'], '/web1'), true);
    assert.equal(matchAny(['('], '('), true, 'exact match needs no regex');
    assert.equal(matchAny(['a(?=b)'], 'ab'), false);
    assert.equal(matchAny(['w'.repeat(2000)], '/' + 'w'.repeat(2000)), false);
  });

  it('matcherOf answers as matchAny does', () => {
    const cases: Array<[string[], string]> = [[['(', 'web'], '/web1'], [['('], '('], [['('], 'x'], [['a(?=b)'], 'ab'], [['^/w.b$', 'zz'], '/web'], [['^/web$'], '/web1'], [[], '/web']];
    for (const [values, source] of cases) assert.equal(matcherOf(values)(source), matchAny(values, source), `${values} ${source}`);
  });
});

describe('literalTest (patterns that are literals, tested without the regex engine)', () => {
  it('agrees with RE2 on every literal pattern, anchored or not', () => {
    const chars = fc.constantFrom('a', 'b', '/', '-', '_', '^', '$', 'é', '.', ' ', '0');
    fc.assert(fc.property(fc.string({ unit: chars, maxLength: 6 }), fc.string({ unit: chars, maxLength: 8 }), (pattern, input) => {
      const fast = literalTest(pattern);
      if (!fast) return true; // not a literal: left to RE2
      return fast(input) === RE2JS.compile(pattern).test(input);
    }), { numRuns: 5000 });
  });

  it('takes literals and anchored literals, and leaves everything else to RE2', () => {
    assert.equal(literalTest('web')?.('/proj_web_1'), true);
    assert.equal(literalTest('^/web$')?.('/web'), true);
    assert.equal(literalTest('^/web$')?.('/web1'), false);
    assert.equal(literalTest('^/node-1/')?.('/node-1/web'), true);
    assert.equal(literalTest('_1$')?.('/web_1'), true);
    for (const p of ['a.b', 'a+', '(?i)web', 'a|b', '[ab]', 'a{2}', '\\d', 'a^b', 'a$b']) assert.equal(literalTest(p), undefined, p);
    // Through the cache: the same answers as before, for literals and not.
    assert.equal(compileRe2('^/web$').test('/web'), true);
    assert.equal(compileRe2('web', 'i').test('/WEB'), true);
  });
});
