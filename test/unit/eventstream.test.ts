// EventStream against a bare /events server: live events are all delivered,
// whatever their order; after a resume, what `since` replays of what was seen is skipped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { EventStream, type EngineEvent } from '../../src/cluster/eventstream.js';
import { Dialer, EngineTransport } from '../../src/cluster/transport.js';

// timeNano as an integer literal, as dockerd writes it (it does not fit a double).
const line = (id: string, nano: bigint): string => `{"Type":"container","Action":"start","Actor":{"ID":"${id}"},"time":${nano / 1_000_000_000n},"timeNano":${nano}}\n`;

test('live events out of time order or a few ns apart all arrive; a resume skips only what was seen before it', async () => {
  const t = 1_700_000_000_000_000_000n;
  const sinces: string[] = [];
  let streams = 0;
  const server = http.createServer((req, res) => {
    if (req.url === '/_ping') { res.end('OK'); return; }
    if (!req.url?.startsWith('/events')) { res.statusCode = 404; res.end(); return; }
    streams++;
    res.writeHead(200, { 'Content-Type': 'application/json' });
    if (streams === 1) {
      // dockerd stamps before it publishes: b can come after c with an older time;
      // d is 100 ns after c, the same once parsed as a double.
      res.write(line('a', t) + line('c', t + 2_000n) + line('b', t + 1_000n) + line('d', t + 2_100n));
      setTimeout(() => res.end(), 50);
      return;
    }
    sinces.push(new URL(req.url, 'http://x').searchParams.get('since') ?? '');
    // The replay from `since` (c and d again), then a new event.
    res.write(line('c', t + 2_000n) + line('d', t + 2_100n) + line('e', t + 5_000n));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  const seen: string[] = [];
  const stream = new EventStream(new EngineTransport(addr, new Dialer()), {
    onEvent: (ev: EngineEvent) => { seen.push(ev.Actor!.ID!); },
    onResumed: () => undefined,
    onReachable: () => true,
    onUnreachable: () => undefined,
    maxDelayMs: () => 20,
    name: () => 'bare',
  });
  try {
    await stream.start();
    const deadline = Date.now() + 5_000;
    while (!seen.includes('e') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(seen, ['a', 'c', 'b', 'd', 'e']);
    assert.equal(sinces.length, 1);
    // (as read from a double: within 256 ns)
    const since = BigInt(sinces[0].replace('.', ''));
    assert.ok(since >= t + 2_100n - 256n && since <= t + 2_100n + 256n, `resumed from the newest event seen: ${sinces[0]}`);
  } finally {
    stream.stop();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});
