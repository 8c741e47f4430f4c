// The kept `ps` body (src/api/listbody.ts) against a from-scratch rendering:
// whatever changes between two listings (containers added, removed, renamed,
// started, a node going down or renamed, time passing), the kept bytes are
// exactly what rendering everything anew gives, and unchanged chunks are
// reused, not re-rendered.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ListBody, frame, liveStatus, renderItem } from '../../src/api/listbody.js';
import { statusStableFor, humanDuration } from '../../src/util/humanize.js';

type Entry = { node: any; container: any };

const T0 = Date.UTC(2026, 10, 30, 9, 0, 0);

function hexId(n: number): string {
  // Random-looking IDs whose last two hex digits spread evenly (chunk boundaries).
  let x = (n + 1) * 2654435761 >>> 0;
  let s = '';
  while (s.length < 64) { x = Math.imul(x ^ (x >>> 15), 2246822519) >>> 0; s += x.toString(16).padStart(8, '0'); }
  return s.slice(0, 64);
}

function node(name: string, healthy = true): any { return { name, ip: '10.0.0.' + name.length, healthy }; }

function container(n: number, state: string, startedAt: number, name = `c${n}`): any {
  const summary = {
    Id: hexId(n), Names: ['/' + name], Image: 'busybox', Command: 'top', Created: Math.floor((T0 - n * 1000) / 1000),
    Ports: [{ IP: '0.0.0.0', PrivatePort: 80, PublicPort: 8000 + n, Type: 'tcp' }], Labels: { n: String(n) },
    State: state, Status: state === 'running' ? 'Up 3 seconds' : state === 'exited' ? 'Exited (0) 3 seconds ago' : 'Created',
    HostConfig: { NetworkMode: 'default' },
  };
  return { id: summary.Id, summary, created: T0 - n * 1000, startedAt, finishedAt: state === 'exited' ? startedAt + 500 : 0 };
}

/** What a listing must be: every item rendered now, from nothing. */
function reference(list: Entry[], now: number): string {
  return '[' + list.map((r) => {
    const o = renderItem(r.node, r.container.summary);
    o.Status = liveStatus(r.node, r.container, now);
    return JSON.stringify(o);
  }).join(',') + ']\n';
}

async function kept(body: ListBody, list: Entry[], now: number): Promise<{ text: string; parts: Buffer[] }> {
  const r = await body.render(list, { now });
  const f = frame(r!.parts, r!.length);
  const buf = Buffer.concat(f.parts);
  assert.equal(buf.length, f.length, 'Content-Length matches the bytes');
  return { text: buf.toString('utf8'), parts: r!.parts };
}

const newestFirst = (a: Entry, b: Entry): number => b.container.created - a.container.created || (a.container.id < b.container.id ? -1 : 1);

describe('status texts: how long they stay the same', () => {
  it('never changes before statusStableFor says (seconds to years)', () => {
    fc.assert(fc.property(fc.integer({ min: -5000, max: 3 * 365 * 86_400_000 }), fc.integer({ min: 0, max: 10_000_000 }), (ms, d) => {
      const stable = statusStableFor(ms);
      assert.ok(stable > 0);
      const later = ms + Math.min(d, stable - 1);
      assert.equal(humanDuration(later), humanDuration(ms), `${ms} +${later - ms} (stable ${stable})`);
    }), { seed: 15, numRuns: 5000 });
  });

  it('changes exactly when statusStableFor says, in every band (around each boundary too)', () => {
    const H = 3_600_000;
    // Around the marks where a text can change: whole seconds and minutes, half hours, whole hours.
    const nearMark = fc.tuple(fc.integer({ min: 0, max: 6 * 8760 * 2 }), fc.integer({ min: -3, max: 3 })).map(([half, d]) => half * (H / 2) + d);
    const anywhere = fc.integer({ min: -5000, max: 6 * 365 * 86_400_000 });
    fc.assert(fc.property(fc.oneof(anywhere, nearMark), (ms) => {
      const stable = statusStableFor(ms);
      assert.ok(stable > 0);
      assert.equal(humanDuration(ms + stable - 1), humanDuration(ms), `${ms}: still the same 1 ms before (stable ${stable})`);
      assert.notEqual(humanDuration(ms + stable), humanDuration(ms), `${ms}: changed at +${stable}`);
    }), { seed: 15, numRuns: 20000 });
    // Long-running containers keep their text for long: what a kept `ps` body relies on.
    assert.equal(statusStableFor(3 * 7 * 24 * H), 167.5 * H, '"3 weeks" holds until 671.5 hours round to 4 weeks');
    assert.equal(humanDuration(3 * 7 * 24 * H + statusStableFor(3 * 7 * 24 * H)), '4 weeks');
    assert.equal(statusStableFor(50 * H), 21.5 * H, '"2 days" until 71.5 hours round to 72');
  });
});

describe('kept ps body', () => {
  it('empty list, one item, and the bytes of a fresh rendering', async () => {
    const body = new ListBody();
    assert.equal((await kept(body, [], T0)).text, '[]\n');
    const one = [{ node: node('n1'), container: container(1, 'running', T0 - 5000) }];
    assert.equal((await kept(body, one, T0)).text, reference(one, T0));
  });

  it('a status text ages: "Up 59 seconds" becomes "Up About a minute"', async () => {
    const body = new ListBody();
    const list = [{ node: node('n1'), container: container(1, 'running', T0 - 59_500) }];
    assert.match((await kept(body, list, T0)).text, /"Status":"Up 59 seconds"/);
    assert.match((await kept(body, list, T0 + 400)).text, /"Status":"Up 59 seconds"/);
    assert.match((await kept(body, list, T0 + 600)).text, /"Status":"Up About a minute"/);
  });

  it('unchanged chunks are reused; one added container re-renders one chunk', async () => {
    const n1 = node('n1');
    const list: Entry[] = Array.from({ length: 3000 }, (_, i) => ({ node: n1, container: container(i + 10, 'exited', T0 - 7_000_000) })).sort(newestFirst);
    const body = new ListBody();
    const a = await kept(body, list, T0);
    assert.ok(a.parts.length > 3, `${a.parts.length} chunks`);
    const b = await kept(body, list, T0 + 1000);
    assert.equal(b.text, a.text);
    assert.ok(b.parts.every((p, i) => p === a.parts[i]), 'the same buffers, not copies');
    const added = [{ node: n1, container: container(1, 'running', T0 - 1000) }, ...list];
    const c = await kept(body, added, T0 + 1000);
    assert.equal(c.text, reference(added, T0 + 1000));
    assert.equal(c.parts.filter((p) => !a.parts.includes(p)).length, 1, 'only the first chunk is new');
  });

  it('concurrent identical listings get identical answers', async () => {
    const n1 = node('n1');
    const list: Entry[] = Array.from({ length: 2000 }, (_, i) => ({ node: n1, container: container(i, 'running', T0 - i * 977) }));
    const body = new ListBody();
    const answers = await Promise.all(Array.from({ length: 8 }, () => kept(body, list, T0)));
    for (const x of answers) assert.equal(x.text, answers[0].text);
    assert.equal(answers[0].text, reference(list, T0));
  });

  it('renamed, removed, restarted, node down or renamed: never stale', async () => {
    const n1 = node('n1');
    const n2 = node('n2');
    const cs = Array.from({ length: 600 }, (_, i) => container(i, i % 2 ? 'running' : 'exited', T0 - 3_600_000));
    let list: Entry[] = cs.map((c, i) => ({ node: i % 3 ? n1 : n2, container: c }));
    const body = new ListBody();
    await kept(body, list, T0);
    // Rename: a refresh replaces the summary object.
    cs[5].summary = { ...cs[5].summary, Names: ['/renamed'] };
    // Restart: new start time, same summary object (recorded from the event).
    cs[7].startedAt = T0 - 1000;
    // Removed.
    list = list.filter((r) => r.container !== cs[9]);
    let t = await kept(body, list, T0);
    assert.equal(t.text, reference(list, T0));
    assert.ok(!t.text.includes('"/n1/c5"') && t.text.includes('/renamed'));
    assert.ok(!t.text.includes(cs[9].id));
    n2.healthy = false;
    t = await kept(body, list, T0);
    assert.equal(t.text, reference(list, T0));
    assert.ok(t.text.includes('"Status":"Host Down"'));
    n1.name = 'n1-renamed';
    t = await kept(body, list, T0);
    assert.equal(t.text, reference(list, T0));
    assert.ok(!t.text.includes('"/n1/'));
  });

  it('any sequence of changes: the kept body equals a fresh rendering (property)', async () => {
    const op = fc.oneof(
      fc.record({ k: fc.constant('add'), at: fc.nat(), state: fc.constantFrom('running', 'exited', 'created') }),
      fc.record({ k: fc.constant('remove'), at: fc.nat() }),
      fc.record({ k: fc.constant('rename'), at: fc.nat() }),
      fc.record({ k: fc.constant('start'), at: fc.nat() }),
      fc.record({ k: fc.constant('health'), at: fc.nat() }),
      fc.record({ k: fc.constant('time'), ms: fc.integer({ min: 0, max: 7_200_000 }) }),
      fc.record({ k: fc.constant('time'), ms: fc.integer({ min: 0, max: 2_000 }) }),
    );
    await fc.assert(fc.asyncProperty(fc.array(op, { maxLength: 30 }), fc.integer({ min: 0, max: 900 }), async (ops, size) => {
      const nodes = [node('a'), node('bb'), node('ccc')];
      let next = 0;
      let list: Entry[] = Array.from({ length: size }, (_, i) => ({ node: nodes[i % 3], container: container(next++, i % 4 ? 'running' : 'exited', T0 - i * 61_000) })).sort(newestFirst);
      const body = new ListBody();
      let now = T0;
      let version = 0;
      for (const o of ops as any[]) {
        if (o.k !== 'time') version++; // as the cluster bumps containersVersion on every change
        const pick = (): Entry | undefined => list[o.at % Math.max(1, list.length)];
        switch (o.k) {
          case 'add': list = [...list, { node: nodes[o.at % 3], container: container(next++, o.state, now - (o.at % 100_000)) }].sort(newestFirst); break;
          case 'remove': { const r = pick(); list = list.filter((x) => x !== r); break; }
          case 'rename': { const r = pick(); if (r) r.container.summary = { ...r.container.summary, Names: [`/x${o.at}`] }; break; }
          case 'start': { const r = pick(); if (r) { r.container.summary = { ...r.container.summary, State: 'running', Status: 'Up 1 second' }; r.container.startedAt = now - 10; } break; }
          case 'health': nodes[o.at % 3].healthy = !nodes[o.at % 3].healthy; break;
          case 'time': now += o.ms; break;
        }
        // As the API does: the kept answer if nothing changed, else a walk.
        const again = await body.reuse(version, now);
        const r = again ?? await body.render(list, { now, version });
        const f = frame(r!.parts, r!.length);
        assert.equal(Buffer.concat(f.parts).toString('utf8'), reference(list, now), again ? 'reused' : 'rendered');
      }
    }), { seed: 15, numRuns: 80 });
  });
});

describe('kept ps body: reuse without a walk', () => {
  it('only while the containers version and the node names hold; aged texts re-rendered from the kept stamps', async () => {
    const n1 = node('n1');
    const list: Entry[] = [{ node: n1, container: container(1, 'running', T0 - 59_500) }, { node: n1, container: container(2, 'exited', T0 - 7_000_000) }];
    const body = new ListBody();
    assert.equal(await body.reuse(7, T0), undefined, 'nothing rendered yet');
    const r = await body.render(list, { now: T0, version: 7 });
    const same = (await body.reuse(7, T0 + 100))!;
    assert.deepEqual(same.parts, r!.parts, 'same version, texts still good');
    assert.ok(same.parts.every((p, i) => p === r!.parts[i]), 'the same buffers');
    assert.equal(await body.reuse(8, T0 + 100), undefined, 'a container or node changed');
    const aged = (await body.reuse(7, T0 + 600))!;
    const text = Buffer.concat(frame(aged.parts, aged.length).parts).toString();
    assert.equal(text, reference(list, T0 + 600));
    assert.match(text, /Up About a minute/);
    n1.name = 'renamed';
    assert.equal(await body.reuse(7, T0 + 700), undefined, 'a node was renamed');
    const unversioned = new ListBody();
    await unversioned.render(list, { now: T0 });
    assert.equal(await unversioned.reuse(0, T0), undefined, 'a render without a version is never reused whole');
  });
});

describe('kept ps body: aged texts of a large body', () => {
  it('are rendered again in slices (the loop gets turns) by one pass that concurrent requests share', async () => {
    const nodes = [node('a'), node('bb'), node('ccc')];
    // Started within the last minute: every text ages each second, so the whole body is rendered again.
    const list: Entry[] = Array.from({ length: 30_000 }, (_, i) => ({ node: nodes[i % 3], container: container(i, 'running', T0 - 30_000 - (i % 20) * 1000) })).sort(newestFirst);
    const body = new ListBody();
    await body.render(list, { now: T0, version: 1 });
    let turns = 0;
    let done = false;
    const tick = (): void => { turns++; if (!done) setImmediate(tick); };
    setImmediate(tick);
    const first = body.reuse(1, T0 + 1500);
    const second = body.reuse(1, T0 + 1500);
    assert.equal(first, second, 'one pass');
    const r = (await first)!;
    done = true;
    assert.ok(turns > 0, 'the loop ran between chunks');
    assert.equal(Buffer.concat(frame(r.parts, r.length).parts).toString('utf8'), reference(list, T0 + 1500));
    const again = (await body.reuse(1, T0 + 1600))!;
    assert.ok(again.parts.every((p, i) => p === r.parts[i]), 'nothing aged since: the same buffers');
  });
});

describe('kept ps body: identical requests share one render', () => {
  it('8 at once walk the containers once and get the same buffers; a new version walks again', async () => {
    const n1 = node('n1');
    const list: Entry[] = Array.from({ length: 1500 }, (_, i) => ({ node: n1, container: container(i, 'running', T0 - 86_400_000 - i) }));
    const body = new ListBody();
    let walks = 0;
    const walk = async (): Promise<Entry[]> => { walks++; await new Promise((r) => setImmediate(r)); return list; };
    const rs = await Promise.all(Array.from({ length: 8 }, () => body.shared(3, walk)));
    assert.equal(walks, 1);
    for (const r of rs) assert.ok(r!.parts.every((p, i) => p === rs[0]!.parts[i]));
    await body.shared(3, walk);
    assert.equal(walks, 1, 'reused');
    await body.shared(4, walk);
    assert.equal(walks, 2, 'a change: walked again');
  });
});
