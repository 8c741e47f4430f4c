// An engine's pools (src/cluster/transport.ts) are let go once idle, and a
// call made afterwards gets a new one; the kept connection stays; a manager's
// call may ride a free client connection.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { CLIENT_IDLE_MS, CLIENT_ONE_IDLE_MS, Dialer, EngineTransport, KEPT_WAIT_MS, MANAGER_IDLE_MS, WAIT_WORTH_MS } from '../../src/cluster/transport.js';
import { requestBuffered } from '../../src/util/buffered.js';
import { bound } from '../lib/wait.js';

const until = async (ok: () => boolean, ms = 10_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
};

test('idle pools are let go; the next call makes a new one, and one in flight keeps its pool', async () => {
  // Answers to /slow wait here until released, so the kept connection can be held busy.
  const holds: Array<() => void> = [];
  const server = http.createServer((req, res) => {
    const answer = (): void => { res.end('{"ok":true}'); };
    if (req.url === '/slow') holds.push(answer); else answer();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const t = new EngineTransport(`127.0.0.1:${(server.address() as AddressInfo).port}`, new Dialer());
  try {
    // The kept connection busy: the next call goes to the pool.
    const busy = t.call('GET', '/slow');
    await until(() => holds.length === 1);
    const first = t.pool;
    assert.equal((await t.call('GET', '/a')).status, 200);
    assert.equal(t.pool, first, 'kept while its connection is open');
    holds.shift()!();
    assert.equal((await busy).status, 200);
    await until(() => first.destroyed, MANAGER_IDLE_MS + 5000);
    const second = t.pool;
    assert.notEqual(second, first, 'a new pool after the idle one was let go');

    // A call that outlives the idle timeout keeps its pool until it is answered.
    const busyAgain = t.call('GET', '/slow');
    await until(() => holds.length === 1);
    const slow = t.call('GET', '/slow');
    await until(() => holds.length === 2);
    await new Promise((r) => setTimeout(r, MANAGER_IDLE_MS + 500));
    assert.equal(t.pool, second);
    for (const h of holds.splice(0)) h();
    assert.equal((await slow).status, 200);
    assert.equal((await busyAgain).status, 200);

    // The clients' pool the same way.
    const client = t.clientPool;
    const r = await client.request({ method: 'GET', path: '/c' });
    await r.body.text();
    await until(() => (client as unknown as { destroyed: boolean }).destroyed, MANAGER_IDLE_MS + 5000);
    assert.notEqual(t.clientPool, client);

    // Its engine removed: a late call makes no new pool.
    await t.close();
    await assert.rejects(t.call('GET', '/late'), /removed from the cluster/);
  } finally {
    for (const h of holds.splice(0)) h();
    await t.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});

test('the kept connection outlives the pools: calls seconds apart ride one socket', async () => {
  let connections = 0;
  // As dockerd: an idle connection stays open (Node's server would close it after 5 s).
  const server = http.createServer({ keepAliveTimeout: 0 }, (_req, res) => { res.end('{"ok":true}'); });
  server.on('connection', () => { connections++; });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const t = new EngineTransport(`127.0.0.1:${(server.address() as AddressInfo).port}`, new Dialer());
  try {
    assert.equal((await t.call('GET', '/containers/a/json')).status, 200);
    await new Promise((r) => setTimeout(r, MANAGER_IDLE_MS + 1000));
    assert.equal((await t.call('GET', '/containers/b/json')).status, 200);
    assert.equal(connections, 1);
    assert.equal(t.openSockets().manager, 1);
    // Gone with its engine's calls (the engine stopped answering): the next call dials afresh.
    t.abortAll(new Error('engine down'));
    assert.equal((await t.call('GET', '/containers/c/json')).status, 200);
    assert.equal(connections, 2);
    // New TLS material (SIGHUP): the kept connection made before is let go, the next call dials with it.
    t.dialer.setTls(undefined);
    assert.equal((await t.call('GET', '/containers/d/json')).status, 200);
    assert.equal(connections, 3);
    assert.equal((await t.call('GET', '/containers/e/json')).status, 200);
    assert.equal(connections, 3);
  } finally {
    await t.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});

/** An engine that answers at once, except /slow, held until `release()`; it counts the connections made to it. */
async function engineWithSlow(config: ConstructorParameters<typeof Dialer>[0] = { clientOneIdleMs: 2_000 }): Promise<{ t: EngineTransport; connections: () => number; held: () => boolean; release: () => void; stop: () => Promise<void> }> {
  let connections = 0;
  let hold: (() => void) | null = null;
  // As dockerd: an idle connection stays open.
  const server = http.createServer({ keepAliveTimeout: 0 }, (req, res) => {
    const answer = (): void => { res.end('{"ok":true}'); };
    if (req.url === '/slow') hold = answer; else answer();
  });
  server.on('connection', () => { connections++; });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  // By default the clients' lone connection idles 2 s here, not CLIENT_ONE_IDLE_MS, so tests that wait for it to close stay short.
  const t = new EngineTransport(`127.0.0.1:${(server.address() as AddressInfo).port}`, new Dialer(config));
  return {
    t, connections: () => connections, held: () => hold !== null,
    release: () => { hold?.(); hold = null; },
    stop: async () => {
      await t.close();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

/** `body` with an engineWithSlow(), released and stopped afterwards whatever happens. */
async function withSlowEngine(body: (e: Awaited<ReturnType<typeof engineWithSlow>>) => Promise<void>, config?: ConstructorParameters<typeof Dialer>[0]): Promise<void> {
  const e = await engineWithSlow(config);
  try {
    await body(e);
  } finally {
    e.release();
    await e.stop();
  }
}

test("a manager's call rides a free connection of the clients', never one in use", () => withSlowEngine(async ({ t, connections, held, release }) => {
    // A client's write, then the manager's re-read: one socket for both.
    assert.equal((await t.clientCall('POST', '/containers/create')).status, 200);
    assert.equal((await t.call('GET', '/containers/json')).status, 200);
    assert.equal(connections(), 1);
    // The clients' connection busy with a slow call: the manager dials its own.
    const slow = t.clientCall('GET', '/slow');
    await until(held);
    assert.equal((await t.call('GET', '/info')).status, 200);
    assert.equal(connections(), 2);
    release();
    assert.equal((await slow).status, 200);
}));

test("clients' calls ride one lone connection in turn; one made while it is busy goes to the clients' pool", () => withSlowEngine(async ({ t, connections, held, release }) => {
    for (const path of ['/containers/a/start', '/containers/a/stop', '/containers/a/restart']) assert.equal((await t.clientCall('POST', path)).status, 200);
    assert.equal(connections(), 1);
    assert.equal(t.openSockets().client, 1);
    const slow = t.clientCall('POST', '/slow');
    await until(held);
    assert.equal((await t.clientCall('POST', '/containers/b/start')).status, 200);
    assert.equal(connections(), 2);
    assert.equal(t.openSockets().client, 2);
    release();
    assert.equal((await slow).status, 200);
    // Both idle: the next one takes the lone connection again, no dial.
    assert.equal((await t.clientCall('POST', '/containers/c/start')).status, 200);
    assert.equal(connections(), 2);
}));

test("a client's call made in the same tick as a manager's never leaves the manager's queued behind it", () => withSlowEngine(async ({ t, connections, held, release }) => {
    assert.equal((await t.clientCall('POST', '/containers/a/start')).status, 200);
    assert.equal(connections(), 1);
    // Both want the free lone connection: the client's (dispatched at once) gets it, the manager's dials.
    const mine = t.call('GET', '/containers/json');
    const slow = t.clientCall('POST', '/slow');
    await until(held);
    const answered = await Promise.race([mine.then((r) => r.status), new Promise((r) => setTimeout(() => r('still queued'), 3000))]);
    assert.equal(answered, 200);
    assert.equal(connections(), 2);
    release();
    assert.equal((await slow).status, 200);
}));

test("a client's buffered call waits behind a write's re-read on the kept connection, for a while, and never behind a client's call", () => withSlowEngine(async ({ t, connections, held, release }) => {
    const buffered = (path: string): Promise<number> => requestBuffered(t.clientBuffered, { method: 'POST', path }).then((r) => r.status);
    assert.equal(KEPT_WAIT_MS, 5);
    t.keptWaitMs = 5000; // a loaded machine must not make the re-read outlast the wait here
    t.waitWorthMs = 60_000; // nor make this engine's re-reads look slower than a dial (the next test has that)
    // The manager's create on the kept connection, then its re-read, and the client's start queued behind that: one socket for all.
    assert.equal((await t.call('POST', '/containers/create')).status, 200);
    const reads = await t.reRead(['/containers/json', '/containers/a/json']);
    const start = buffered('/containers/a/start');
    for (const r of reads) assert.equal((await r).status, 200);
    assert.equal(await start, 200);
    assert.equal(connections(), 1, 'the create, its re-read and the start on the kept connection');
    // Free: a client's call takes it at once.
    assert.equal(await buffered('/containers/a/kill'), 200);
    assert.equal(connections(), 1);

    // A re-read held (a slow engine): once the wait is over the client's call takes a connection of its own.
    t.keptWaitMs = 300;
    const slowReads = await t.reRead(['/slow', '/containers/a/json']);
    await until(held);
    const t0 = Date.now();
    assert.equal(await buffered('/containers/a/pause'), 200);
    assert.ok(Date.now() - t0 >= 200, 'it waited for the re-read first');
    assert.equal(connections(), 2);
    release();
    for (const r of slowReads) assert.equal((await r).status, 200);

    // A client's slow call on the kept connection: the next client's call does not wait behind it.
    const slowClient = buffered('/slow');
    await until(held);
    const next = await Promise.race([buffered('/containers/b/start'), new Promise((r) => setTimeout(() => r('still queued'), 3000))]);
    assert.equal(next, 200);
    release();
    assert.equal(await slowClient, 200);
}));

test("a client's call does not wait for a re-read when a free connection of the clients' is open, nor on an engine whose re-reads are slower than a dial", () => withSlowEngine(async ({ t, connections, held, release }) => {
  const buffered = (path: string): Promise<number> => requestBuffered(t.clientBuffered, { method: 'POST', path }).then((r) => r.status);
  const soon = <T>(p: Promise<T>, ms = 2000): Promise<T | 'waited'> => Promise.race([p, bound(ms).then(() => 'waited' as const)]);
  assert.equal(WAIT_WORTH_MS, 1);
  t.keptWaitMs = 60_000; // a wait would show as 'waited' below
  assert.equal((await t.call('POST', '/containers/create')).status, 200);
  assert.equal(t.reReadMs, undefined, 'no re-read yet: a call would wait for the first');

  // The clients' lone connection open and free: the call takes it at once, no dial, while the re-read is held.
  assert.equal((await t.clientCall('POST', '/containers/x/start')).status, 200);
  assert.equal(connections(), 2);
  let reads = await t.reRead(['/slow', '/containers/a/json']);
  await until(held);
  assert.equal(await soon(buffered('/containers/a/start')), 200);
  assert.equal(connections(), 2, 'no dial: the free connection of the clients was used');
  // Let the held re-read take ~150 ms: now this engine's re-reads are known as slower than a dial.
  await new Promise((r) => setTimeout(r, 150));
  release();
  for (const r of reads) assert.equal((await r).status, 200);
  assert.ok(t.reReadMs !== undefined && t.reReadMs > WAIT_WORTH_MS, `re-read time ${t.reReadMs}`);

  // Wait for the clients' connection to close (idle), so the next call has to dial.
  await until(() => t.openSockets().client === 0, 10_000);
  reads = await t.reRead(['/slow', '/containers/a/json']);
  await until(held);
  assert.equal(await soon(buffered('/containers/a/kill')), 200, 'the call dialed instead of waiting');
  assert.equal(connections(), 3);
  release();
  for (const r of reads) assert.equal((await r).status, 200);

  // Usually quick re-reads again (as a test sets it), and no free connection of the clients': the call waits, as before.
  t.waitWorthMs = 60_000;
  await until(() => t.openSockets().client === 0, 10_000);
  reads = await t.reRead(['/slow', '/containers/a/json']);
  await until(held);
  const waiting = buffered('/containers/a/pause');
  assert.equal(await soon(waiting, 300), 'waited');
  release();
  for (const r of reads) assert.equal((await r).status, 200);
  assert.equal(await waiting, 200);
  assert.equal(connections(), 3, 'it rode the kept connection after the re-read');
}));

test("a client's call cut short: the clients' lone connection undici dials again stays open past CLIENT_IDLE_MS, and the next client call rides it", () => withSlowEngine(async ({ t, connections, held }) => {
  assert.ok(CLIENT_ONE_IDLE_MS > CLIENT_IDLE_MS);
  // A `docker run -d` drops its wait once its start is answered: the call is aborted, its connection closed.
  const ac = new AbortController();
  const wait = requestBuffered(t.clientPool, { method: 'POST', path: '/slow', signal: ac.signal }).catch((err: Error) => err);
  await until(held);
  ac.abort();
  assert.ok((await wait) instanceof Error);
  await until(() => connections() === 2); // undici dials the lone connection again at once
  // The next run on this engine comes seconds later: its wait finds that connection open.
  await new Promise((r) => setTimeout(r, CLIENT_IDLE_MS + 500));
  assert.equal(t.openSockets().client, 1);
  assert.equal((await t.clientCall('POST', '/containers/b/wait')).status, 200);
  assert.equal(connections(), 2, 'no dial');
  // New TLS material (SIGHUP): that connection, made before, is let go; the next client call dials with it.
  t.dialer.setTls(undefined);
  assert.equal((await t.clientCall('POST', '/containers/c/start')).status, 200);
  assert.equal(connections(), 3);
  assert.equal((await t.clientCall('POST', '/containers/d/start')).status, 200);
  assert.equal(connections(), 3);
}, {}));
