// `npm run deps`: dependency-cruiser's own CLI (same arguments, same output),
// run with two additions:
//   - TypeScript 5.9 for its TypeScript extractor (see typescript5/register.mjs);
//   - an exit code that stays non-zero: depcruise exits with the number of
//     errors, which the OS keeps only modulo 256 (256 errors would exit 0).
import './typescript5/register.mjs';

const main = new URL('../../bin/dependency-cruise.mjs', import.meta.resolve('dependency-cruiser'));
await import(main.href);
if (typeof process.exitCode === 'number' && process.exitCode > 255) process.exitCode = 255;
