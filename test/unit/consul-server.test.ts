// The Consul stand-in of test/lib/consul-server.ts behaves as the Consul HTTP
// API documents where the consul:// backend relies on it: KV answers and
// indexes, blocking queries, check-and-set, locks with sessions, TTL expiry
// (twice the TTL), lock-delay, and the two kinds of outage.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ConsulServer } from '../lib/consul-server.js';

let consul: ConsulServer;
before(async () => { consul = await ConsulServer.start({ sessionTtlMinMs: 1000 }); });
after(async () => { await consul?.stop(); });

const url = (path: string): string => `http://${consul.addr}${path}`;
async function put(path: string, body?: string): Promise<any> {
  const r = await fetch(url(path), { method: 'PUT', body });
  const text = await r.text();
  if (r.status !== 200) throw new Error(`${r.status} ${text}`);
  return JSON.parse(text);
}
async function get(path: string): Promise<{ status: number; index: number; body: any; text: string }> {
  const r = await fetch(url(path));
  const text = await r.text();
  let body: any;
  try { body = JSON.parse(text); } catch { body = undefined; }
  return { status: r.status, index: Number(r.headers.get('x-consul-index')), body, text };
}
const session = async (body: object): Promise<string> => (await put('/v1/session/create', JSON.stringify(body))).ID;

test('KV: values in base64, raw, keys with a separator, recurse, 404 with an index, cas, delete', async () => {
  assert.equal(await put('/v1/kv/t1/a/x', 'one'), true);
  assert.equal(await put('/v1/kv/t1/b', 'two'), true);
  const one = await get('/v1/kv/t1/a/x');
  assert.equal(one.status, 200);
  assert.equal(one.body[0].Key, 't1/a/x');
  assert.equal(Buffer.from(one.body[0].Value, 'base64').toString(), 'one');
  assert.equal(one.body[0].CreateIndex, one.body[0].ModifyIndex);
  assert.ok(one.index >= one.body[0].ModifyIndex);
  assert.equal((await get('/v1/kv/t1/a/x?raw')).text, 'one');
  assert.deepEqual((await get('/v1/kv/t1/?keys&separator=/')).body, ['t1/a/', 't1/b']);
  assert.deepEqual((await get('/v1/kv/t1/?recurse')).body.map((e: any) => e.Key), ['t1/a/x', 't1/b']);
  const missing = await get('/v1/kv/t1/nope');
  assert.equal(missing.status, 404);
  assert.ok(missing.index >= 1);

  const mi = one.body[0].ModifyIndex;
  assert.equal(await put('/v1/kv/t1/a/x?cas=0', 'no'), false, 'cas=0 only creates');
  assert.equal(await put(`/v1/kv/t1/a/x?cas=${mi + 100}`, 'no'), false);
  assert.equal(await put(`/v1/kv/t1/a/x?cas=${mi}`, 'three'), true);
  assert.equal((await get('/v1/kv/t1/a/x?raw')).text, 'three');
  assert.equal(await (await fetch(url('/v1/kv/t1?recurse'), { method: 'DELETE' })).json(), true);
  assert.equal((await get('/v1/kv/t1/?recurse')).status, 404);
});

test('blocking queries wait for a change under the prefix, or for the wait', async () => {
  await put('/v1/kv/t2/a', '1');
  const first = await get('/v1/kv/t2/?recurse');
  const t0 = Date.now();
  const held = get(`/v1/kv/t2/?recurse&index=${first.index}&wait=5s`);
  await new Promise((r) => setTimeout(r, 200));
  await put('/v1/kv/other', 'x'); // not under the prefix: does not wake it
  await new Promise((r) => setTimeout(r, 200));
  await put('/v1/kv/t2/b', '2');
  const changed = await held;
  assert.ok(Date.now() - t0 >= 400 && Date.now() - t0 < 3000, `answered after ${Date.now() - t0}ms`);
  assert.ok(changed.index > first.index);
  assert.equal(changed.body.length, 2);

  const t1 = Date.now();
  const idle = await get(`/v1/kv/t2/?recurse&index=${changed.index}&wait=1s`);
  const took = Date.now() - t1;
  assert.ok(took >= 1000 && took < 1000 + 1000 / 16 + 500, `wait of 1s took ${took}ms`);
  assert.equal(idle.index, changed.index);

  // A deletion moves the prefix's index too (a tombstone).
  const gone = get(`/v1/kv/t2/?recurse&index=${idle.index}&wait=5s`);
  await fetch(url('/v1/kv/t2/a'), { method: 'DELETE' });
  const after = await gone;
  assert.ok(after.index > idle.index);
  assert.deepEqual(after.body.map((e: any) => e.Key), ['t2/b']);
});

test('sessions: TTL range, locks, Behavior delete and release after twice the TTL, renew', async () => {
  const low = await fetch(url('/v1/session/create'), { method: 'PUT', body: JSON.stringify({ TTL: '0.5s' }) });
  assert.equal(low.status, 500);
  assert.match(await low.text(), /Invalid Session TTL '500000000', must be between \[1s=24h0m0s\]/);

  const del = await session({ TTL: '1s', Behavior: 'delete', LockDelay: '1ms' });
  const rel = await session({ TTL: '1s', LockDelay: '1ms' });
  assert.equal(await put(`/v1/kv/t3/eph?acquire=${del}`, 'e'), true);
  assert.equal(await put(`/v1/kv/t3/lock?acquire=${rel}`, 'l'), true);
  assert.equal(await put(`/v1/kv/t3/lock?acquire=${del}`, 'other'), false, 'held by another session');
  assert.equal(await put(`/v1/kv/t3/lock?acquire=${rel}`, 'l2'), true, 'the holder may update');
  const lock = (await get('/v1/kv/t3/lock')).body[0];
  assert.equal(lock.Session, rel);
  assert.equal(lock.LockIndex, 1);
  assert.equal(Buffer.from(lock.Value, 'base64').toString(), 'l2');
  const bad = await fetch(url('/v1/kv/t3/x?acquire=no-such-session'), { method: 'PUT', body: 'x' });
  assert.equal(bad.status, 500);
  assert.match(await bad.text(), /invalid session "no-such-session"/);

  // Not before the TTL: at 1.4s both live (rel renewed at 0.7s), at ~2.2s the unrenewed one is gone.
  await new Promise((r) => setTimeout(r, 700));
  assert.equal((await put(`/v1/session/renew/${rel}`))[0].ID, rel);
  await new Promise((r) => setTimeout(r, 700));
  assert.equal((await get('/v1/kv/t3/eph')).status, 200);
  await new Promise((r) => setTimeout(r, 800));
  assert.equal((await get('/v1/kv/t3/eph')).status, 404, 'Behavior delete: key deleted with the session');
  assert.deepEqual((await get(`/v1/session/info/${del}`)).body, []);
  const renewGone = await fetch(url(`/v1/session/renew/${del}`), { method: 'PUT' });
  assert.equal(renewGone.status, 404);
  assert.match(await renewGone.text(), /Session id '.*' not found/);
  await new Promise((r) => setTimeout(r, 1000));
  const released = (await get('/v1/kv/t3/lock')).body[0];
  assert.equal(released.Session, undefined, 'Behavior release: key kept, lock released');
  assert.equal(Buffer.from(released.Value, 'base64').toString(), 'l2');
});

test('release, lock-delay after invalidation', async () => {
  const a = await session({ LockDelay: '1s' });
  const b = await session({});
  assert.equal(await put(`/v1/kv/t4/k?acquire=${a}`, 'a'), true);
  assert.equal(await put(`/v1/kv/t4/k?release=${b}`, 'b'), false, 'only the holder releases');
  assert.equal(await put(`/v1/kv/t4/k?release=${a}`, 'a'), true);
  assert.equal((await get('/v1/kv/t4/k')).body[0].Session, undefined);
  assert.equal(await put(`/v1/kv/t4/k?acquire=${a}`, 'a'), true);
  assert.equal((await get('/v1/kv/t4/k')).body[0].LockIndex, 2);
  assert.equal(await put(`/v1/session/destroy/${a}`), true);
  assert.equal(await put(`/v1/kv/t4/k?acquire=${b}`, 'b'), false, 'lock-delay');
  await new Promise((r) => setTimeout(r, 1100));
  assert.equal(await put(`/v1/kv/t4/k?acquire=${b}`, 'b'), true);
});

test('outages: refuse, then hang', async () => {
  await consul.pause('refuse');
  await assert.rejects(fetch(url('/v1/kv/t5')));
  consul.put('t5/during', 'x'); // the store goes on
  await consul.resume();
  assert.equal((await get('/v1/kv/t5/during?raw')).text, 'x');

  await consul.pause('hang');
  const parked = get('/v1/kv/t5/during?raw');
  const first = await Promise.race([parked.then(() => 'answered'), new Promise((r) => setTimeout(() => r('hung'), 300))]);
  assert.equal(first, 'hung');
  await consul.resume();
  assert.equal((await parked).text, 'x');
});
