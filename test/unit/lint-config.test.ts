// The ESLint config (eslint.config.mjs) loads (typescript-eslint's parser needs
// the TypeScript 5.9 redirect) and fails on what it should, while allowing the
// project's deliberate `any` and `_`-prefixed unused names.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const ESLINT = path.join(ROOT, 'node_modules', 'eslint', 'bin', 'eslint.js');
const SAMPLE = path.join('test', 'fixtures', 'lint', 'sample.ts');

describe('lint config (eslint.config.mjs)', () => {
  it('reports the sample file\'s problems by rule, and only those', () => {
    // --no-ignore: test/fixtures/** is ignored by the real run
    const r = spawnSync(process.execPath, [ESLINT, '--no-ignore', '--format', 'json', SAMPLE], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 60_000,
    });
    if (r.error) throw r.error;
    assert.equal(r.status, 1, r.stderr);
    const [file] = JSON.parse(r.stdout) as { messages: { line: number; ruleId: string | null }[] }[];
    assert.deepEqual(
      file.messages.map((m) => `${m.line} ${m.ruleId}`),
      ['4 @typescript-eslint/no-unused-vars', '11 prefer-const', '16 no-useless-catch'],
    );
  });
});
