// Issue 14 "Hostile input": at least 10,000 generated requests (fast-check,
// seeded) on raw sockets against a manager in front of 2 real engines, each
// behind a recording proxy (test/lib/recordproxy.ts). Every answer must be
// Docker-style, the manager must neither crash nor hang, its RSS must be flat
// after a warm-up, nothing may be left half-created, and no engine may see a
// request the manager had to refuse. docs/reliability.md has the figures.
//
// Replay: FUZZ_SEED=<seed> [FUZZ_RUNS=<n>] node --test dist/test/integration/fuzz.test.js
// (the seed is printed at the start; FUZZ_ONLY=<i>,<j> sends only those cases).
// Long because the generators are the test: one table of categories.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import fc from 'fast-check';
import { clusterBlock, skipReason, withCluster, type TestCluster } from '../lib/cluster.js';
import { raw } from '../lib/http.js';
import { exchange, type RawAnswer } from '../lib/rawhttp.js';
import { startRecordProxy, type RecordProxy } from '../lib/recordproxy.js';
import { eventually, sleep } from '../lib/wait.js';

const BLOCK = clusterBlock(3); // shared with spine-api.test.ts; proxies on 23960-23961
const NODES = 2;
const SEED = Number(process.env.FUZZ_SEED ?? 14);
const RUNS = Number(process.env.FUZZ_RUNS ?? 10_000);
const ONLY = process.env.FUZZ_ONLY ? new Set(process.env.FUZZ_ONLY.split(',').map(Number)) : undefined;
const BATCH = 500;
/** RSS is compared from the end of this many batches on (V8's heap and Node's pools grow to their working size first). */
const WARMUP_BATCHES = 4;
const WORKERS = 12;
/** "Answered or closed" bound for one request: generous, never a speed assertion. */
const HANG_MS = 30_000;
// Small limits so trickled requests are cut quickly (hidden knobs, docs/flags.md).
const HEADERS_TIMEOUT_S = 3;
const BODY_IDLE_S = 2;
/** RSS after the run may exceed RSS after the warm-up by this much (GC timing, allocator slack). */
// Measured on a loaded 2-core machine: 123-192 MiB over 20 batches, noisy
// (V8 grows its heap in steps after 16-24 MiB request bodies); see docs/reliability.md.
const RSS_TOLERANCE = { ratio: 1.5, minMiB: 64 };
/** Open descriptors may exceed the warm-up count by this many (engine keep-alive pools, log file). */
const FD_TOLERANCE = 16;
const skip = skipReason();

/** Statuses dockerd uses for refusals and failures. */
const DOCKER_ERRORS = new Set([400, 401, 403, 404, 408, 409, 413, 431, 500, 501, 503]);

// ---- cases ------------------------------------------------------------------

/** One generated request. "@T@" anywhere is replaced by the case's token. */
interface Case {
  cat: string;
  method: string;
  path: string;
  headers: [string, string][];
  body?: string | { fill: string; size: number; prefix?: string; suffix?: string };
  /** Bytes after the headers and body (garbage after an upgrade, framing tricks). */
  after?: string;
  /** Full control: no Content-Length added. */
  rawFraming?: boolean;
  /** Statuses allowed; undefined = any Docker-style one (2xx included). */
  expect?: number[];
  /** The manager must answer itself: the token must never reach an engine. */
  mustRefuse: boolean;
  /** A close without an answer is acceptable (the request was broken on the wire). */
  mayClose?: boolean;
  /** A valid container name that a failed create used: must be usable afterwards. */
  reuseName?: string;
}

const tokenOf = (i: number): string => `fz${SEED}x${i}z`;

let victim = ''; // a created (never started) container for forwarded calls

/** encodeURIComponent that keeps the token placeholder. */
const enc = (s: string): string => encodeURIComponent(s).split('%40T%40').join('@T@');
const noise = fc.string({ unit: 'binary', maxLength: 24 });
const token = fc.constant('@T@');

/** JSON that is not: truncations, stray bytes, bad literals, deep nesting. */
const malformedJson = fc.oneof(
  fc.constantFrom(
    '', ' ', '{', '{"Image":', '{"Image":"busybox"', '{"Image":"busybox",}', '{"Image": busybox}', "{'Image':'busybox'}",
    '{"Image":"busybox","Labels":{"fz":"@T@"', 'nul', 'tru', '[1,2', '{"a":1 "b":2}', '"\\x"', '{"Image":"\\ud800"', '0x10', '-', '01', '1e', '{"@T@"}',
  ),
  fc.tuple(fc.constantFrom('{"Labels":{"fz":"@T@"},', '[', '{"@T@":'), noise).map(([a, b]) => a + b.replace(/[\]}]/g, '')),
  fc.integer({ min: 10, max: 20_000 }).map((n) => '['.repeat(n) + '"@T@"'),
  fc.integer({ min: 10, max: 20_000 }).map((n) => '{"a":'.repeat(n) + '"@T@"'),
  fc.uint8Array({ minLength: 1, maxLength: 64 }).map((b) => '\u00ff@T@' + Buffer.from(b).toString('latin1')),
);

/** A JSON value of the wrong type for `kind` (null is right for every type in Go). */
function wrongFor(kind: 'string' | 'int' | 'slice' | 'map'): fc.Arbitrary<unknown> {
  const all = {
    string: fc.oneof(fc.integer(), fc.boolean(), fc.array(fc.string(), { maxLength: 3 }), fc.dictionary(fc.string(), fc.string(), { maxKeys: 2 })),
    int: fc.oneof(fc.string(), fc.boolean(), fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Number.isInteger(d)), fc.array(fc.integer(), { maxLength: 2 }), fc.constant({})),
    slice: fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.constant({}), fc.constant([1, 'x']), fc.constant([{}])),
    map: fc.oneof(fc.string(), fc.integer({ min: 1 }), fc.constant(['a']), fc.constant({ k: 1 }), fc.constant({ k: ['v'] })),
  };
  return all[kind];
}

/** Fields the manager reads (src/api/createbody.ts): a wrong type must be refused before placement. */
const CHECKED: [string, 'string' | 'int' | 'slice' | 'map'][] = [
  ['Image', 'string'], ['Env', 'slice'], ['Labels', 'map'], ['CpuShares', 'int'], ['Memory', 'int'], ['NanoCpus', 'int'],
  ['NetworkMode', 'string'], ['Links', 'slice'], ['VolumesFrom', 'slice'],
];
/** Fields only the engine reads: placed, then refused by the engine. */
const UNCHECKED: [string, unknown][] = [
  ['Tty', 'x'], ['Cmd', 5], ['StopTimeout', 'x'], ['Healthcheck', []], ['OpenStdin', 3], ['WorkingDir', 7], ['Entrypoint', {}],
];

const createPath = (name = '@T@') => `/v1.41/containers/create?name=${name}`;
const JSON_CT: [string, string][] = [['Content-Type', 'application/json']];

const createBodies = fc.oneof(
  malformedJson.map((b): Case => ({ cat: 'create: malformed JSON', method: 'POST', path: createPath(), headers: JSON_CT, body: b, expect: [400, 500], mustRefuse: true })),
  fc.tuple(fc.constantFrom(...CHECKED), fc.boolean()).chain(([[f, kind], inHost]) => wrongFor(kind).map((v): Case => {
    const body: Record<string, unknown> = f === 'Image' ? { Labels: { fz: '@T@' } } : { Image: 'busybox', Labels: { fz: '@T@' } };
    if (inHost && ['CpuShares', 'Memory', 'NanoCpus', 'NetworkMode', 'Links', 'VolumesFrom'].includes(f)) body.HostConfig = { [f]: v };
    else body[f] = v;
    return { cat: 'create: wrong type (checked field)', method: 'POST', path: createPath(), headers: JSON_CT, body: JSON.stringify(body), expect: [400, 500], mustRefuse: true };
  })),
  fc.constantFrom(...UNCHECKED).map(([f, v]): Case => ({
    cat: 'create: wrong type (engine field)', method: 'POST', path: createPath('@T@.u'), headers: JSON_CT,
    body: JSON.stringify({ Image: 'busybox', Labels: { fz: '@T@' }, [f]: v }), expect: [400, 500], mustRefuse: false, reuseName: '@T@.u',
  })),
  fc.constantFrom('text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=utf-8; charset=x', 'multipart/form-data', '').map((ct): Case => ({
    cat: 'create: bad Content-Type', method: 'POST', path: createPath(), headers: ct ? [['Content-Type', ct]] : [], body: '{"Image":"busybox","Labels":{"fz":"@T@"}}', expect: [400], mustRefuse: true,
  })),
  fc.constantFrom('&x=%zz', ';x=1', '&%', '&a=%G1').map((q): Case => ({ cat: 'create: bad query', method: 'POST', path: createPath() + q, headers: JSON_CT, body: '{"Image":"busybox"}', expect: [400], mustRefuse: true })),
  fc.constantFrom('null', '[]', '{}', '"busybox"', '5', '{"Image":""}', '{"Image":null}').map((b): Case => ({ cat: 'create: empty or non-object config', method: 'POST', path: createPath(), headers: JSON_CT, body: b, expect: [400, 500], mustRefuse: true })),
);

/** Names dockerd refuses: a char outside [a-zA-Z0-9_.-], a bad first char, one char, or over-long and bad. */
const badName = fc.oneof(
  fc.tuple(fc.string({ minLength: 1, maxLength: 8 }), fc.constantFrom(' ', '!', '$', ':', '@', '#', '%25', '\u00e9', '%00', '*', '+', '=', '"', '\'', ',')).map(([a, c]) => enc(a.replace(/[^a-z]/g, '')) + '@T@' + (c.startsWith('%') ? c : enc(c))),
  fc.constantFrom('_', '.', '-').map((c) => c + '@T@'),
  fc.integer({ min: 256, max: 60_000 }).map((n) => '@T@' + 'a'.repeat(n) + '!'),
  fc.constantFrom('a', '/', '//@T@', '..', '../@T@', '%2F%2E%2E%2F@T@'),
);
const names = badName.map((n): Case => ({
  cat: 'create: invalid name', method: 'POST', path: createPath(n), headers: JSON_CT,
  body: '{"Image":"busybox","Labels":{"fz":"@T@"}}', expect: [400, 404], mustRefuse: true,
}));

/** Constraint and affinity expressions that are broken, or that no node satisfies. */
const badExpr = fc.oneof(
  fc.constantFrom(
    'constraint:node==', 'constraint:==node-0', 'constraint:node', 'constraint:', 'constraint:node=!@T@', 'constraint:node=@T@',
    'constraint:node==/[/', 'constraint:node==/(@T@/', 'constraint:@T@==/*x/', 'constraint:node>=@T@', 'constraint:node<=1',
    'constraint:node===@T@', 'constraint:node==@T@', 'constraint:storagedriver==@T@', 'constraint:health==@T@', 'constraint:node==~',
    'affinity:container==', 'affinity:container==@T@', 'affinity:image==@T@', 'affinity:image==/+/', 'affinity:@T@', 'affinity:container!',
    'constraint:node==/a{99999}/', 'constraint:node==\u0000@T@',
  ),
  // No glob or regex syntax that matches anything: a glob value is a regex
  // but for `*`, as in classic, so `x|` matches every container.
  fc.tuple(fc.constantFrom('constraint:', 'affinity:container=='), fc.string({ maxLength: 12 })).map(([p, s]) => `${p}@T@${s.replace(/[*?~!|]/g, '')}`),
);
const expressions = fc.oneof(
  badExpr.map((e): Case => ({ cat: 'create: bad expression (env)', method: 'POST', path: createPath(), headers: JSON_CT, body: JSON.stringify({ Image: 'busybox', Env: [e], Labels: { fz: '@T@' } }), expect: [400, 404, 409, 500], mustRefuse: true })),
  fc.oneof(
    fc.constantFrom('[', '["node=="]', '{"a":1}', '5', '["node==@T@"]', '["affinity:x"]', '["node==/[/"]', '[5]', 'node==x', '[["node==@T@"]]'),
    badExpr.map((e) => JSON.stringify([e.replace(/^constraint:/, '')])),
  ).map((l): Case => ({
    cat: 'create: bad expression (label)', method: 'POST', path: createPath(), headers: JSON_CT,
    body: JSON.stringify({ Image: 'busybox', Labels: { fz: '@T@', 'com.docker.swarm.constraints': l } }), expect: [400, 404, 409, 500], mustRefuse: true,
  })),
);

/** `filters` no listing may accept: not JSON, wrong shape, unknown keys, bad values. */
const badFilters = fc.oneof(
  fc.constantFrom('{', '@T@', '["@T@"]', '{"@T@":["x"]}', '{"label":"@T@"}', '{"label":5,"x":"@T@"}', '{"@T@":{"a":"b"}}', '5', '{"dangling":["@T@"]}', '{"name":[{"@T@":1}]}', '{"label":[["@T@"]]}', '{"id":{"@T@":"yes"}}'),
  fc.tuple(noise, token).map(([n, t]) => `{${n.replace(/[{}]/g, '')}${t}`),
);
const LISTINGS = ['/containers/json?all=1', '/images/json', '/networks', '/volumes', '/events?since=0&until=1'];
const filters = fc.tuple(fc.constantFrom(...LISTINGS), badFilters, fc.constantFrom('/v1.41', '', '/v1.24')).map(([l, f, v]): Case => ({
  cat: 'listing: bad filters', method: 'GET', path: `${v}${l}${l.includes('?') ? '&' : '?'}filters=${enc(f)}`, headers: [], expect: [400], mustRefuse: true,
}));

/** Archive paths that climb out, and container references that do. */
const traversal = fc.oneof(
  fc.tuple(fc.constantFrom('GET', 'HEAD'), fc.constantFrom('../../../etc/passwd', '/../../../../etc/shadow', '..', '/proc/self/root/etc', '%2e%2e/%2e%2e', '/etc/../../..', '', '\u0000', '//..//..//')).map(([m, p]): Case => ({
    cat: 'archive: traversal (forwarded, engine scopes it)', method: m, path: `/v1.41/containers/@V@/archive?path=${enc(p)}&fz=@T@`, headers: [], mustRefuse: false,
  })),
  fc.constantFrom('../../..', '/tmp/../../..').map((p): Case => ({
    cat: 'archive: traversal PUT (garbage tar)', method: 'PUT', path: `/v1.41/containers/@V@/archive?path=${enc(p)}&fz=@T@`, headers: [['Content-Type', 'application/x-tar']], body: 'not a tar @T@', mustRefuse: false,
  })),
  fc.constantFrom('..%2F..%2F@T@', '%2e%2e%2f@T@', '..%2F@T@%2Fx', '@T@%2F..%2F..').map((r): Case => ({
    cat: 'archive: traversal in the reference', method: 'GET', path: `/v1.41/containers/${r}/archive?path=/`, headers: [], expect: [400, 404], mustRefuse: true,
  })),
);

/** Routes no one serves, versions no one speaks, paths no one should send. */
const routes = fc.tuple(
  fc.constantFrom('GET', 'POST', 'DELETE', 'PUT', 'HEAD', 'PATCH', 'OPTIONS', 'FOO', 'G ET'),
  fc.oneof(
    fc.constantFrom(
      '/@T@', '/v0.1/containers/@T@/json', '/v99/containers/@T@/json', '/v1.99/containers/@T@/json', '/v1.1/containers/@T@/json', '/vabc/info/@T@',
      '/v1.41/containers%2F@T@%2Fjson', '/containers/%2e%2e%2f@T@/json', '/containers/@T@%zz/json', '//containers/@T@/json', '/containers/json/@T@',
      '/v1.41//@T@', '/v1.41/containers/@T@/', '/v1.41/exec/@T@/json', '/%@T@', '/v1.41/containers/@T@/start/../../json',
      '/_ping/@T@', '/v1.41/containers/@T@/attach/wss', '/v1.41/exec/@T@/start/x', '@T@', '*',
    ),
    fc.tuple(fc.integer({ min: 1_000, max: 200_000 }), fc.constantFrom('a', '%2F', '../')).map(([n, s]) => `/v1.41/containers/@T@${s.repeat(Math.ceil(n / s.length))}/json`),
    fc.string({ unit: 'binary', maxLength: 40 }).map((s) => '/' + enc(s) + '/@T@'),
  ),
).map(([m, p]): Case => ({ cat: 'route: unknown or malformed', method: m, path: p, headers: [], expect: [400, 404], mustRefuse: true, mayClose: false }));

/** Huge and many headers, and broken header syntax. */
const headers = fc.oneof(
  fc.integer({ min: 100, max: 6_000 }).map((n): Case => ({
    cat: 'headers: many', method: 'GET', path: '/v1.41/containers/@T@/json', headers: Array.from({ length: n }, (_, i): [string, string] => [`X-Fz-${i}`, 'v'.repeat(i % 50)]),
    expect: [404, 431], mustRefuse: true,
  })),
  fc.integer({ min: 16 * 1024, max: 2 * 1024 * 1024 }).map((n): Case => ({
    cat: 'headers: huge', method: 'GET', path: '/v1.41/containers/@T@/json', headers: [['X-Registry-Auth', 'e'.repeat(n)]], expect: [404, 431], mustRefuse: true, mayClose: n > 1024 * 1024,
  })),
  fc.constantFrom('X-A: b\rc', 'NoColon', ' X-Lead: space', 'X\u0000: nul', 'Content-Length: -1', 'Content-Length: abc', 'Transfer-Encoding: gzip', 'Content-Length: 1\r\nContent-Length: 2', 'X-@T@ : v').map((h): Case => ({
    cat: 'headers: malformed', method: 'POST', path: '/v1.41/containers/@T@/start', headers: [], after: h, rawFraming: true, expect: [400, 404, 501], mustRefuse: true, mayClose: true,
  })),
);

/** Huge bodies (over the JSON limit, or just big and broken) and broken framing. */
const bodies = fc.oneof(
  fc.tuple(fc.constantFrom('/v1.41/containers/create?name=@T@', '/v1.41/networks/create', '/v1.41/volumes/create'), fc.integer({ min: 17, max: 24 })).map(([p, mib]): Case => ({
    cat: 'body: over the JSON limit', method: 'POST', path: p, headers: JSON_CT, body: { fill: ' ', size: mib * 1024 * 1024, prefix: '{"Labels":{"fz":"@T@"},' }, expect: [413], mustRefuse: true, mayClose: true,
  })),
  fc.integer({ min: 1, max: 8 }).map((mib): Case => ({
    cat: 'body: big and broken', method: 'POST', path: createPath(), headers: JSON_CT, body: { fill: ' ', size: mib * 1024 * 1024, prefix: '{"Labels":{"fz":"@T@"}, "Image":', suffix: 'x' }, expect: [400, 500], mustRefuse: true,
  })),
  fc.constantFrom('zz\r\nabc\r\n0\r\n\r\n', '5\r\nab\r\n0\r\n\r\n', '-1\r\n\r\n', 'ffffffffffffffffff\r\nx').map((b): Case => ({
    cat: 'body: bad chunked framing', method: 'POST', path: createPath(), headers: [...JSON_CT, ['Transfer-Encoding', 'chunked']], after: b, rawFraming: true, expect: [400, 500], mustRefuse: true, mayClose: true,
  })),
);

/** Bodies for exec create, update, rename, commit, network and volume calls. */
const others = fc.oneof(
  malformedJson.map((b): Case => ({ cat: 'exec create: malformed JSON (forwarded)', method: 'POST', path: '/v1.41/containers/@V@/exec?fz=@T@', headers: JSON_CT, body: b, expect: [400, 409, 500], mustRefuse: false })),
  fc.constantFrom('{"Cmd":5}', '{"Cmd":"x","AttachStdout":"y"}', '{"Env":{}}', '[]').map((b): Case => ({ cat: 'exec create: wrong types (forwarded)', method: 'POST', path: '/v1.41/containers/@V@/exec?fz=@T@', headers: JSON_CT, body: b, expect: [400, 409, 500], mustRefuse: false })),
  malformedJson.map((b): Case => ({ cat: 'exec create: unknown container', method: 'POST', path: '/v1.41/containers/@T@/exec', headers: JSON_CT, body: b, expect: [404], mustRefuse: true })),
  fc.oneof(malformedJson, fc.constantFrom('{"Memory":"x"}', '{"CpuShares":[1]}', '{"RestartPolicy":5}', '{"BlkioWeight":-5000000000000}')).map((b): Case => ({
    cat: 'update: bad body (forwarded)', method: 'POST', path: '/v1.41/containers/@V@/update?fz=@T@', headers: JSON_CT, body: b, expect: [400, 409, 500], mustRefuse: false,
  })),
  badName.map((n): Case => ({ cat: 'rename: invalid name', method: 'POST', path: `/v1.41/containers/@V@/rename?name=${n}`, headers: [], expect: [400, 404, 409, 500], mustRefuse: false })),
  malformedJson.map((b): Case => ({ cat: 'commit: bad repo and body (forwarded)', method: 'POST', path: '/v1.41/commit?container=@V@&repo=FZ@T@&tag=Bad%20Tag', headers: JSON_CT, body: b, expect: [400, 404, 500], mustRefuse: false })),
  fc.tuple(fc.constantFrom('networks', 'volumes'), malformedJson).map(([k, b]): Case => ({ cat: `${k} create: malformed JSON`, method: 'POST', path: `/v1.41/${k}/create`, headers: JSON_CT, body: b, expect: [400, 500], mustRefuse: true })),
  fc.tuple(fc.constantFrom('networks', 'volumes'), fc.constantFrom('Name', 'Driver', 'Labels', 'Options', 'DriverOpts', 'Internal', 'IPAM', 'CheckDuplicate'), fc.oneof(fc.integer(), fc.constant([1]), fc.constant('x'), fc.constant({ a: [] }))).map(([k, f, v]): Case => ({
    cat: `${k} create: wrong types`, method: 'POST', path: `/v1.41/${k}/create`, headers: JSON_CT,
    // A wrong Driver type keeps a valid-looking Name from being made: every body has one bad field.
    body: JSON.stringify(f === 'Name' ? { [f]: v, Driver: ['@T@'] } : { Name: '@T@', [f]: v, Driver: f === 'Driver' ? v : { bad: '@T@' } }), expect: [400, 404, 409, 500], mustRefuse: false,
  })),
  fc.tuple(fc.constantFrom('connect', 'disconnect'), malformedJson).map(([a, b]): Case => ({ cat: 'network connect: malformed JSON', method: 'POST', path: `/v1.41/networks/bridge/${a}`, headers: JSON_CT, body: b, expect: [400, 404], mustRefuse: true })),
);

/** Hijack upgrades done wrong. */
const hijacks = fc.oneof(
  fc.constant<Case>({ cat: 'hijack: Upgrade without Connection', method: 'POST', path: '/v1.41/containers/@V@/attach?stream=0&logs=1&stdout=1&fz=@T@', headers: [['Upgrade', 'tcp']], expect: [400], mustRefuse: true }),
  fc.constant<Case>({ cat: 'hijack: Connection without Upgrade', method: 'POST', path: '/v1.41/containers/@V@/attach?stream=0&logs=1&stdout=1&fz=@T@', headers: [['Connection', 'Upgrade']], expect: [400], mustRefuse: true }),
  fc.constant<Case>({ cat: 'hijack: Connection without Upgrade (exec)', method: 'POST', path: '/v1.41/exec/@T@/start', headers: [['Connection', 'Upgrade'], ...JSON_CT], body: '{"Detach":false}', expect: [400, 404], mustRefuse: true }),
  fc.constantFrom('/v1.41/containers/create?name=@T@', '/v1.41/networks/create?fz=@T@', '/v1.41/containers/@V@/start?fz=@T@').map((p): Case => ({
    cat: 'hijack: Upgrade on a plain POST', method: 'POST', path: p, headers: [['Connection', 'Upgrade'], ['Upgrade', 'tcp'], ...JSON_CT], body: '{"Image":"busybox"}', expect: [400], mustRefuse: true,
  })),
  fc.constantFrom('/v1.41/containers/json?fz=@T@', '/v1.41/info?fz=@T@', '/_ping?fz=@T@').map((p): Case => ({
    cat: 'hijack: Upgrade on a plain GET', method: 'GET', path: p, headers: [['Connection', 'Upgrade'], ['Upgrade', 'tcp']], expect: [200], mustRefuse: true,
  })),
  fc.constantFrom('/@T@', '/v1.41/exec/@T@/start', '/v1.41/containers/@T@/attach', '/v99.0/containers/@T@/attach', '/v1.41/containers/@T@/attach/ws').map((p): Case => ({
    cat: 'hijack: upgrade to nowhere', method: p.endsWith('ws') ? 'GET' : 'POST', path: p, headers: [['Connection', 'Upgrade'], ['Upgrade', 'tcp']], after: '\u0000\u0001garbage', expect: [400, 404], mustRefuse: true,
  })),
  fc.tuple(fc.constantFrom('tcp', 'websocket', 'h2c', 'TCP, x'), noise).map(([u, g]): Case => ({
    cat: 'hijack: garbage after an upgrade (forwarded)', method: u === 'websocket' ? 'GET' : 'POST',
    path: `/v1.41/containers/@V@/attach${u === 'websocket' ? '/ws' : ''}?stream=0&logs=1&stdout=1&fz=@T@`,
    headers: [['Connection', 'Upgrade'], ['Upgrade', u], ['Sec-WebSocket-Key', 'x'], ['Sec-WebSocket-Version', '13']], after: g + '\r\n\r\n\u0000@T@', mustRefuse: false, mayClose: true,
  })),
);

const anyCase = fc.oneof(
  { arbitrary: createBodies, weight: 20 },
  { arbitrary: names, weight: 8 },
  { arbitrary: expressions, weight: 12 },
  { arbitrary: filters, weight: 14 },
  { arbitrary: traversal, weight: 6 },
  { arbitrary: routes, weight: 14 },
  { arbitrary: headers, weight: 5 },
  { arbitrary: bodies, weight: 1 },
  { arbitrary: others, weight: 14 },
  { arbitrary: hijacks, weight: 6 },
);

// ---- sending and judging ----------------------------------------------------

function subst(s: string, tok: string): string { return s.split('@T@').join(tok).split('@V@').join(victim); }

function requestBytes(c: Case, tok: string): Buffer[] {
  let body: Buffer | undefined;
  if (typeof c.body === 'string') body = Buffer.from(subst(c.body, tok), 'latin1');
  else if (c.body) {
    const pre = Buffer.from(subst(c.body.prefix ?? '', tok));
    const suf = Buffer.from(c.body.suffix ?? '');
    body = Buffer.concat([pre, Buffer.alloc(Math.max(0, c.body.size - pre.length - suf.length), c.body.fill), suf]);
  }
  let head = `${c.method} ${subst(c.path, tok)} HTTP/1.1\r\nHost: 127.0.0.1\r\n`;
  if (!c.headers.some(([k]) => k.toLowerCase() === 'connection')) head += 'Connection: close\r\n';
  for (const [k, v] of c.headers) head += `${k}: ${subst(v, tok)}\r\n`;
  if (c.rawFraming) return [Buffer.from(head + subst(c.after ?? '', tok) + '\r\n\r\n', 'latin1')];
  if (body) head += `Content-Length: ${body.length}\r\n`;
  const parts: Buffer[] = [Buffer.from(head + '\r\n', 'latin1')];
  if (body) parts.push(body);
  if (c.after) parts.push(Buffer.from(subst(c.after, tok), 'latin1'));
  return parts;
}

interface Outcome { i: number; c: Case; a: RawAnswer; ms: number; problem?: string }

/** Why an answer is not one dockerd could have given, or undefined. */
function judge(c: Case, a: RawAnswer, tok: string): string | undefined {
  if (a.hung) return `neither answered nor closed within ${HANG_MS / 1000}s`;
  if (a.status === 0) return c.mayClose ? undefined : `closed without an answer (${a.error ?? 'EOF'}, ${a.bytes} bytes)`;
  if (a.status === 101) return c.mustRefuse ? 'upgraded a request the manager must refuse' : undefined;
  if (c.expect && !c.expect.includes(a.status)) return `status ${a.status}, expected one of ${c.expect.join('/')}`;
  if (a.status >= 200 && a.status < 300) return undefined;
  if (!DOCKER_ERRORS.has(a.status)) return `status ${a.status} is not one dockerd uses`;
  if (c.method === 'HEAD') return undefined;
  if (a.headers['content-type'] !== 'application/json') return `error answer with Content-Type ${a.headers['content-type'] ?? '(none)'}`;
  let msg: unknown;
  try { msg = JSON.parse(a.body.toString('utf8')).message; } catch { return `error body is not JSON: ${a.body.toString('utf8').slice(0, 200)}`; }
  if (typeof msg !== 'string' || !msg) return 'error without a message';
  if (/\n\s+at |node:internal|\.js:\d+/.test(msg)) return `stack trace in message: ${msg.slice(0, 300)}`;
  void tok;
  return undefined;
}

async function send(i: number, c: Case): Promise<Outcome> {
  const tok = tokenOf(i);
  const t0 = Date.now();
  const a = await exchange(BLOCK.managerPort, { parts: requestBytes(c, tok), timeoutMs: HANG_MS, head: c.method === 'HEAD' });
  return { i, c, a, ms: Date.now() - t0, problem: judge(c, a, tok) };
}

async function pool<T, R>(items: T[], n: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (next < items.length) { const k = next++; out[k] = await fn(items[k]!); }
  }));
  return out;
}

function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

function fdCount(pid: number): number { return fs.readdirSync(`/proc/${pid}/fd`).length; }

function alive(pid: number): boolean { try { process.kill(pid, 0); return true; } catch { return false; } }

// ---- trickled requests, in parallel with everything else ----------------------

interface Trickle { kind: string; a: RawAnswer; problem?: string }

const bytesOf = (s: string, gapMs: number): (Buffer | number)[] => [...Buffer.from(s, 'latin1')].flatMap((b) => [Buffer.from([b]), gapMs]);

async function trickler(stop: () => boolean, out: Trickle[], k: number): Promise<void> {
  const tok = `fz${SEED}t${k}z`;
  for (let round = 0; !stop(); round++) {
    const kind = ['headers', 'body-slow-but-moving', 'body-stalled'][(round + k) % 3]!;
    const body = `{"Name":"${tok}","Driver":}`; // broken on purpose: nothing is made
    const head = `POST /v1.41/networks/create HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`;
    let parts: (Buffer | number)[];
    let expect: number;
    if (kind === 'headers') { parts = bytesOf(head, 150); expect = 408; }
    else if (kind === 'body-slow-but-moving') { parts = [Buffer.from(head), ...bytesOf(body, 100)]; expect = 400; }
    else { parts = [Buffer.from(head), Buffer.from(body.slice(0, 5)), (BODY_IDLE_S + 2) * 1000, Buffer.from(body.slice(5))]; expect = 408; }
    const a = await exchange(BLOCK.managerPort, { parts, timeoutMs: HANG_MS + 20_000 });
    let problem: string | undefined;
    if (a.hung) problem = 'hung';
    else if (a.status !== expect) problem = `status ${a.status || '(closed)'} ${a.body.toString().slice(0, 200)}, expected ${expect}`;
    else if (a.headers['content-type'] !== 'application/json' || !JSON.parse(a.body.toString()).message) problem = `not Docker-style: ${a.body.toString().slice(0, 200)}`;
    out.push({ kind, a, problem });
  }
}

// ---- the test ---------------------------------------------------------------

let c: TestCluster;
const proxies: RecordProxy[] = [];
const savedEnv = { h: process.env.SWARM_API_HEADERS_TIMEOUT, b: process.env.SWARM_API_BODY_IDLE_TIMEOUT };

before(async () => {
  if (skip) return;
  for (let i = 0; i < NODES; i++) proxies.push(await startRecordProxy(`127.0.0.1:${BLOCK.basePort + 60 + i}`, `127.0.0.1:${BLOCK.basePort + i}`));
  // The manager inherits these: small limits so trickles are cut fast.
  process.env.SWARM_API_HEADERS_TIMEOUT = `${HEADERS_TIMEOUT_S}s`;
  process.env.SWARM_API_BODY_IDLE_TIMEOUT = `${BODY_IDLE_S}s`;
  c = await withCluster({ ...BLOCK, nodes: NODES, discovery: `nodes://${proxies.map((p) => p.addr).join(',')}` });
  const r = await raw(c.managerAddr, 'POST', '/v1.41/containers/create?name=fz-victim', { body: '{"Image":"busybox","Cmd":["true"]}', headers: { 'Content-Type': 'application/json' } });
  assert.equal(r.status, 201, r.body);
  victim = JSON.parse(r.body).Id;
}, { timeout: 180_000 });

after(async () => {
  process.env.SWARM_API_HEADERS_TIMEOUT = savedEnv.h;
  process.env.SWARM_API_BODY_IDLE_TIMEOUT = savedEnv.b;
  if (savedEnv.h === undefined) delete process.env.SWARM_API_HEADERS_TIMEOUT;
  if (savedEnv.b === undefined) delete process.env.SWARM_API_BODY_IDLE_TIMEOUT;
  await c?.stop();
  for (const p of proxies) await p.close();
});

test('hostile input: generated requests get Docker-style answers and change nothing', { skip, timeout: 600_000 }, async () => {
  const pid = c.manager!.pid;
  console.log(`fuzz: seed ${SEED}, ${RUNS} cases (replay: FUZZ_SEED=${SEED} FUZZ_RUNS=${RUNS} node --test dist/test/integration/fuzz.test.js)`);
  const cases = fc.sample(anyCase, { seed: SEED, numRuns: RUNS });
  const chosen = cases.map((cs, i) => ({ i, cs })).filter(({ i }) => !ONLY || ONLY.has(i));
  if (ONLY) for (const { i, cs } of chosen) console.log(`fuzz: case #${i}: ${Buffer.concat(requestBytes(cs, tokenOf(i))).toString('latin1').slice(0, 2000)}`);
  const started = Date.now();

  let stopTrickle = false;
  const trickles: Trickle[] = [];
  const tricklers = Array.from({ length: 3 }, (_, k) => trickler(() => stopTrickle, trickles, k));

  const outcomes: Outcome[] = [];
  let rssWarm = 0;
  let fdWarm = 0;
  const rssSeries: number[] = [];
  const pings: number[] = [];
  for (let b = 0; b < chosen.length; b += BATCH) {
    const batch = chosen.slice(b, b + BATCH);
    outcomes.push(...await pool(batch, WORKERS, ({ i, cs }) => send(i, cs)));
    assert.ok(alive(pid), `manager (pid ${pid}) died during batch ${b / BATCH}; log ${c.manager!.logFile}`);
    const t0 = Date.now();
    const p = await raw(c.managerAddr, 'GET', '/_ping', { timeoutMs: HANG_MS });
    pings.push(Date.now() - t0);
    assert.equal(p.status, 200, `/_ping after batch ${b / BATCH}: ${p.status} ${p.body}`);
    rssSeries.push(Math.round(rssKiB(pid) / 1024));
    if (b / BATCH === WARMUP_BATCHES - 1) { rssWarm = rssKiB(pid); fdWarm = fdCount(pid); }
  }
  stopTrickle = true;
  await Promise.all(tricklers);
  const elapsed = (Date.now() - started) / 1000;
  const [utime, stime] = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ').slice(11, 13).map(Number);
  const mine = process.cpuUsage();
  console.log(`fuzz: CPU used: manager ${((utime! + stime!) / 100).toFixed(1)}s (since its start), this test process ${((mine.user + mine.system) / 1e6).toFixed(1)}s; load average ${fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);

  // Figures for docs/reliability.md.
  const byCat = new Map<string, { n: number; ms: number; statuses: Map<number, number> }>();
  for (const o of outcomes) {
    const e = byCat.get(o.c.cat) ?? { n: 0, ms: 0, statuses: new Map() };
    e.n++;
    e.ms += o.ms;
    e.statuses.set(o.a.status, (e.statuses.get(o.a.status) ?? 0) + 1);
    byCat.set(o.c.cat, e);
  }
  for (const [cat, e] of [...byCat].sort()) console.log(`fuzz: ${String(e.n).padStart(5)}  ${cat}  (mean ${Math.round(e.ms / e.n)} ms)  ${[...e.statuses].sort((x, y) => x[0] - y[0]).map(([s, n]) => `${s || 'closed'}×${n}`).join(' ')}`);
  const tk = new Map<string, number>();
  for (const t of trickles) tk.set(`${t.kind} ${t.a.status || 'closed'}`, (tk.get(`${t.kind} ${t.a.status || 'closed'}`) ?? 0) + 1);
  console.log(`fuzz: trickled ${trickles.length}: ${[...tk].map(([k, n]) => `${k}×${n}`).join(', ')}`);
  console.log(`fuzz: ${outcomes.length} requests in ${elapsed.toFixed(1)}s; /_ping after each batch max ${Math.max(...pings)} ms`);

  const problems = outcomes.filter((o) => o.problem);
  const show = (o: Outcome) => `#${o.i} [${o.c.cat}] ${o.c.method} ${subst(o.c.path, tokenOf(o.i)).slice(0, 160)}: ${o.problem} (body ${o.a.body.toString('utf8').slice(0, 160)})`;
  assert.deepEqual(problems.slice(0, 15).map(show), [], `${problems.length} answers not Docker-style (replay one: FUZZ_SEED=${SEED} FUZZ_ONLY=<#>)`);
  assert.deepEqual(trickles.filter((t) => t.problem).map((t) => `${t.kind}: ${t.problem}`), []);
  assert.ok(trickles.some((t) => t.kind === 'headers') && trickles.some((t) => t.kind === 'body-stalled'), 'each trickle kind ran');

  // Nothing the manager had to refuse reached an engine.
  // Except the cluster's lookup of an exec ID it does not know (GET /exec/<id>/json
  // on every engine: an exec made on an engine directly is still served).
  const probe = /^GET \/exec\/[^/]+\/json\n$/;
  const seen = proxies.flatMap((p) => p.requests.map((r) => `${r.method} ${r.url}\n${r.body}`)).filter((s) => !probe.test(s));
  const leaked = outcomes.filter((o) => o.c.mustRefuse && seen.some((s) => s.includes(tokenOf(o.i))));
  assert.deepEqual(leaked.slice(0, 10).map((o) => `#${o.i} [${o.c.cat}] ${o.c.method} ${subst(o.c.path, tokenOf(o.i)).slice(0, 160)} -> ${o.a.status}`), [], `${leaked.length} requests the manager must refuse reached an engine`);
  const forwarded = outcomes.filter((o) => !o.c.mustRefuse && seen.some((s) => s.includes(tokenOf(o.i)))).length;
  console.log(`fuzz: engines saw ${seen.length} requests; ${forwarded} of the ${outcomes.filter((o) => !o.c.mustRefuse).length} forwardable cases reached them`);
  assert.ok(forwarded > 0, 'the recording proxies saw the forwarded cases (else the check above proves nothing)');

  // Memory: flat after the warm-up batch.
  await sleep(3000);
  if (!rssWarm) rssWarm = rssSeries[0]! * 1024; // a short run (FUZZ_RUNS, FUZZ_ONLY)
  const rssEnd = rssKiB(pid);
  console.log(`fuzz: manager RSS (MiB) after each batch: ${rssSeries.join(' ')}`);
  console.log(`fuzz: manager RSS after warm-up ${(rssWarm / 1024).toFixed(1)} MiB, after the run ${(rssEnd / 1024).toFixed(1)} MiB`);
  if (!fdWarm) fdWarm = fdCount(pid);
  const fdEnd = fdCount(pid);
  console.log(`fuzz: manager open descriptors after warm-up ${fdWarm}, after the run ${fdEnd}`);
  assert.ok(fdEnd <= fdWarm + FD_TOLERANCE, `descriptors grew from ${fdWarm} to ${fdEnd}`);
  assert.ok(rssEnd <= Math.max(rssWarm * RSS_TOLERANCE.ratio, rssWarm + RSS_TOLERANCE.minMiB * 1024), `RSS grew from ${rssWarm} to ${rssEnd} KiB`);

  // No container half-made: what each engine has is what `ps -a` shows.
  const direct = async (): Promise<string[]> => {
    const ids: string[] = [];
    for (const e of c.engines) ids.push(...(JSON.parse((await raw(e.addr, 'GET', '/containers/json?all=1')).body) as { Id: string }[]).map((x) => x.Id));
    return ids.sort();
  };
  const viaManager = async (): Promise<string[]> => (JSON.parse((await raw(c.managerAddr, 'GET', '/containers/json?all=1')).body) as { Id: string }[]).map((x) => x.Id).sort();
  const engines = await direct();
  const managed = await eventually(viaManager, (m) => JSON.stringify(m) === JSON.stringify(engines), 60_000, 500);
  assert.deepEqual(managed, engines);
  assert.deepEqual(engines, [victim], 'the fuzz made no container');

  // No name left reserved: names failed creates used can be created now.
  const reuse = [...new Set(outcomes.filter((o) => o.c.reuseName).map((o) => subst(o.c.reuseName!, tokenOf(o.i))))].slice(0, 5);
  reuse.push(tokenOf(outcomes.find((o) => o.c.cat.startsWith('create: bad expression'))?.i ?? 0));
  for (const name of reuse) {
    const r = await raw(c.managerAddr, 'POST', `/v1.41/containers/create?name=${name}`, { body: '{"Image":"busybox"}', headers: { 'Content-Type': 'application/json' } });
    assert.equal(r.status, 201, `create ${name} after the fuzz: ${r.status} ${r.body}`);
    const d = await raw(c.managerAddr, 'DELETE', `/v1.41/containers/${name}?force=1`);
    assert.equal(d.status, 204, d.body);
  }
  assert.ok(alive(pid), 'manager alive at the end');
});
