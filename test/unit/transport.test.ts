// An engine's pools (src/cluster/transport.ts) are let go once idle, and a
// call made afterwards gets a new one; a manager's call may ride a free client connection.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Dialer, EngineTransport, MANAGER_IDLE_MS } from '../../src/cluster/transport.js';

const until = async (ok: () => boolean, ms = 10_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
};

test('idle pools are let go; the next call makes a new one, and one in flight keeps its pool', async () => {
  let hold: (() => void) | null = null;
  const server = http.createServer((req, res) => {
    const answer = (): void => { res.end('{"ok":true}'); };
    if (req.url === '/slow') hold = answer; else answer();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const t = new EngineTransport(`127.0.0.1:${(server.address() as AddressInfo).port}`, new Dialer());
  try {
    const first = t.pool;
    assert.equal((await t.call('GET', '/a')).status, 200);
    assert.equal(t.pool, first, 'kept while its connection is open');
    await until(() => first.destroyed, MANAGER_IDLE_MS + 5000);
    const second = t.pool;
    assert.notEqual(second, first, 'a new pool after the idle one was let go');
    assert.equal((await t.call('GET', '/b')).status, 200);

    // A call that outlives the idle timeout keeps its pool until it is answered.
    const slow = t.call('GET', '/slow');
    await until(() => hold !== null);
    await new Promise((r) => setTimeout(r, MANAGER_IDLE_MS + 500));
    assert.equal(t.pool, second);
    hold!();
    assert.equal((await slow).status, 200);

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
    await t.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});

test("a manager's call rides a free connection of the clients' pool, never one in use", async () => {
  let connections = 0;
  let hold: (() => void) | null = null;
  const server = http.createServer((req, res) => {
    const answer = (): void => { res.end('{"ok":true}'); };
    if (req.url === '/slow') hold = answer; else answer();
  });
  server.on('connection', () => { connections++; });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const t = new EngineTransport(`127.0.0.1:${(server.address() as AddressInfo).port}`, new Dialer());
  try {
    // A client's write, then the manager's re-read: one socket for both.
    assert.equal((await t.clientCall('POST', '/containers/create')).status, 200);
    assert.equal((await t.call('GET', '/containers/json')).status, 200);
    assert.equal(connections, 1);
    // The clients' connection busy with a slow call: the manager dials its own.
    const slow = t.clientCall('GET', '/slow');
    await until(() => hold !== null);
    assert.equal((await t.call('GET', '/info')).status, 200);
    assert.equal(connections, 2);
    hold!();
    assert.equal((await slow).status, 200);
  } finally {
    await t.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});
