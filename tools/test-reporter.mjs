// Node's TAP reporter, plus, just before its closing summary, one line per
// failed test (name, file:line, first line of the error). A long CI log is
// often seen only by its tail: this puts what failed there.
import { tap } from 'node:test/reporters';

async function* withFailures(source) {
  const failed = [];
  for await (const ev of source) {
    if (ev.type === 'test:fail' && ev.data.details?.type !== 'suite') {
      const err = ev.data.details?.error;
      const cause = err?.cause ?? err;
      const first = String(cause?.message ?? cause ?? '').split('\n').find((l) => l.trim()) ?? '';
      failed.push(`${ev.data.name} (${ev.data.file ?? '?'}:${ev.data.line ?? '?'}) ${first.trim().slice(0, 300)}`);
    }
    // the summary starts with "tests N": the failures go just before it
    if (ev.type === 'test:diagnostic' && ev.data.nesting === 0 && /^tests \d+$/.test(ev.data.message) && failed.length) {
      for (const f of failed) yield { type: 'test:diagnostic', data: { nesting: 0, message: `FAILED: ${f}` } };
    }
    yield ev;
  }
}

export default async function* reporter(source) {
  yield* tap(withFailures(source));
}
