// What keeps a test file's process alive after its tests ended. Node's test
// runner waits for each file's process to exit, so a timer or socket left
// behind adds its whole length to the run (a simulator's 120 s delay once
// added two minutes). Usage:
//   node --test --require ./tools/linger.cjs dist/test/unit/startup.test.js
// Every 3 s once the file's tests have ended (its `after` hooks run then), it
// prints the live resources and every ref'd timer of 3 s or more with where
// it was set; a process that exits prints nothing.
'use strict';
const { after } = require('node:test');

const origTimeout = global.setTimeout;
const origInterval = global.setInterval;
const origClearTimeout = global.clearTimeout;
const origClearInterval = global.clearInterval;
const live = new Map(); // timer -> { kind, ms, where }

function track(kind, set, fn, ms, args) {
  const where = new Error().stack.split('\n').slice(3, 6).map((s) => s.trim()).join(' | ');
  let t;
  const run = kind === 'timeout' ? function (...a) { live.delete(t); return fn.apply(this, a); } : fn;
  t = set(run, ms, ...args);
  if (ms >= 3000) live.set(t, { kind, ms, where });
  return t;
}
global.setTimeout = (fn, ms, ...args) => track('timeout', origTimeout, fn, ms, args);
global.setInterval = (fn, ms, ...args) => track('interval', origInterval, fn, ms, args);
global.clearTimeout = (t) => { live.delete(t); return origClearTimeout(t); };
global.clearInterval = (t) => { live.delete(t); return origClearInterval(t); };

after(() => {
  const start = Date.now();
  origInterval(() => {
    const timers = [...live].filter(([t]) => t.hasRef?.()).map(([, r]) => `${r.kind} ${r.ms} ms at ${r.where}`);
    const res = process.getActiveResourcesInfo().filter((x) => x !== 'PipeWrap' && x !== 'TTYWrap');
    process.stderr.write(`linger +${Date.now() - start} ms: ${JSON.stringify(res)}${timers.length ? `; ${timers.join('; ')}` : ''}\n`);
  }, 3000).unref();
});
