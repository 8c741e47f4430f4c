// /_ping, /version, /info, /metrics: answered by the manager from its picture of the cluster.
import os from 'node:os';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApiContext } from './context.js';
import { daysUntil } from '../util/tls.js';
import { sendJson } from './respond.js';
import type { NodeStatus } from '../cluster/index.js';
import { VERSION } from '../version.js';
import { apiVersions, requestInfo } from './wrapper.js';
import { metricsOf } from './metrics.js';
import { NotFoundError } from '../errors.js';
import { viewer } from './access.js';

/**
 * While the manager starts, before any engine's version is read, `/_ping` and
 * `/version` wait for one (at most 3 s): the version a client negotiates
 * there must be one the engines accept. The wrapper set API-Version before.
 */
async function negotiable(ctx: ApiContext, res: ServerResponse): Promise<void> {
  await ctx.cluster.versionKnown();
  res.setHeader('API-Version', apiVersions(ctx).version);
}

export async function ping(ctx: ApiContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  await negotiable(ctx, res);
  res.setHeader('Cache-Control', 'no-cache, no-store, must-revalidate');
  res.setHeader('Pragma', 'no-cache');
  res.setHeader('Docker-Experimental', 'false');
  res.setHeader('Ostype', 'linux');
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.statusCode = 200;
  if (req.method === 'HEAD') { res.setHeader('Content-Length', '0'); res.end(); return; }
  res.setHeader('Content-Length', '2');
  res.end('OK');
}

const ARCH: Record<string, string> = { x64: 'x86_64', arm64: 'aarch64', arm: 'armv7l', ia32: 'i686' };

export async function version(ctx: ApiContext, _req: IncomingMessage, res: ServerResponse): Promise<void> {
  await negotiable(ctx, res);
  const { version: api, minVersion } = apiVersions(ctx);
  const v = {
    Platform: { Name: 'Docker Swarm - Community' },
    Components: [{ Name: 'Swarm', Version: VERSION, Details: { ApiVersion: api, MinAPIVersion: minVersion, Node: process.version } }],
    Version: `swarm/${VERSION}`,
    ApiVersion: api,
    MinAPIVersion: minVersion,
    GitCommit: '',
    GoVersion: `node${process.version}`,
    Os: 'linux',
    Arch: process.arch === 'x64' ? 'amd64' : process.arch,
    KernelVersion: os.release(),
    BuildTime: '',
  };
  sendJson(res, 200, v);
}

/** Go's units.BytesSize: binary units, four significant digits. */
export function bytesSize(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${Number(v.toPrecision(4))} ${units[i]}`;
}

function fmtCpus(n: number): string { return String(Number.isInteger(n) ? n : Number(n.toFixed(2))); }

const STATUS_TEXT: Record<string, string> = { pending: 'Pending', healthy: 'Healthy', unhealthy: 'Unhealthy', disconnected: 'Disconnected' };

function nodeLines(n: NodeStatus): Array<[string, string]> {
  const { total, running, paused, stopped } = n.containers;
  const labels = Object.entries(n.labels).map(([k, v]) => `${k}=${v}`).sort().join(', ');
  const out: Array<[string, string]> = [
    // Not connected yet: classic shows "(unknown)" rather than repeating the address.
    [' ' + (n.name && n.name !== n.node.addr ? n.name : '(unknown)'), n.node.addr],
    ['  └ ID', n.id],
    ['  └ Status', STATUS_TEXT[n.state] ?? n.state],
    ['  └ Containers', `${total} (${running} Running, ${paused} Paused, ${stopped} Stopped)`],
    ['  └ Reserved CPUs', `${fmtCpus(n.reservedCpus)} / ${fmtCpus(n.totalCpus)}`],
    ['  └ Reserved Memory', `${bytesSize(n.reservedMemory)} / ${bytesSize(n.totalMemory)}`],
    ['  └ Labels', labels],
  ];
  if (n.error) out.push(['  └ Error', n.error]);
  out.push(['  └ UpdatedAt', n.updatedAt.toISOString().replace(/\.\d+Z$/, 'Z')]);
  out.push(['  └ ServerVersion', n.serverVersion]);
  return out;
}

/**
 * `docker info` at 1,000 engines is ~7,000 SystemStatus rows (500 KB). A
 * node's rows are rendered to JSON once per NodeStatus object (the cluster
 * hands out a new one only when something the node shows changed); nodes are
 * joined in blocks of NODES_PER_BLOCK, a block joined again only when one of
 * its nodes changed; the blocks are written as they are (no copy of the
 * whole). A request pays a pass over the nodes and the small rest of the body.
 */
const NODES_PER_BLOCK = 64;
const rendered = new WeakMap<NodeStatus, Buffer>();
interface Block { nodes: NodeStatus[]; json: Buffer }
const blocksOf = new WeakMap<ApiContext['cluster'], Block[]>();

function nodeRows(ctx: ApiContext, nodes: NodeStatus[], keep = true): Buffer[] {
  const old = (keep && blocksOf.get(ctx.cluster)) || [];
  const blocks: Block[] = [];
  for (let k = 0, at = 0; at < nodes.length; k++, at += NODES_PER_BLOCK) {
    const part = nodes.slice(at, at + NODES_PER_BLOCK);
    const was = old[k];
    if (was && was.nodes.length === part.length && was.nodes.every((n, i) => n === part[i])) { blocks.push(was); continue; }
    const bufs: Buffer[] = [];
    for (const n of part) {
      let r = rendered.get(n);
      if (r === undefined) rendered.set(n, (r = Buffer.from(nodeLines(n).map((l) => JSON.stringify(l)).join(','))));
      bufs.push(COMMA, r);
    }
    // Every block but the first starts with the comma that separates it from the one before.
    blocks.push({ nodes: part, json: Buffer.concat(k === 0 ? bufs.slice(1) : bufs) });
  }
  if (keep) blocksOf.set(ctx.cluster, blocks);
  return blocks.map((b) => b.json);
}
const COMMA = Buffer.from(',');

/**
 * Under access control a user's counts are of the containers it sees: the
 * nodes' statuses again with those counts (not kept: rendered per request).
 */
async function visibleCounts(ctx: ApiContext, req: IncomingMessage, nodes: NodeStatus[]): Promise<NodeStatus[]> {
  const sees = ctx.access && viewer(ctx, req);
  if (!sees) return nodes;
  const counts = new Map<string, NodeStatus['containers']>();
  for (const n of nodes) counts.set(n.node.addr, { total: 0, running: 0, paused: 0, stopped: 0 });
  const { entries } = await ctx.cluster.listContainers({ all: true, limit: -1, filters: new Map(), size: false });
  for (const { node, container } of entries) {
    const c = counts.get(node.addr);
    if (!c || !sees(container.summary?.Labels)) continue;
    c.total++;
    const state = container.summary?.State;
    if (state === 'running') c.running++; else if (state === 'paused') c.paused++; else c.stopped++;
  }
  return nodes.map((n) => ({ ...n, containers: counts.get(n.node.addr)! }));
}

// The tail of /info: the part before SystemTime never changes; the part after
// it is rendered again only when what it shows changes (a few µs a request
// otherwise, on the route that dashboards and `docker info` loops poll).
const TAIL_HEAD = JSON.stringify({
  Plugins: { Volume: [], Network: [], Authorization: null, Log: [] },
  MemoryLimit: true, SwapLimit: true, CpuCfsPeriod: true, CpuCfsQuota: true, CPUShares: true, CPUSet: true,
  PidsLimit: true, OomKillDisable: true, IPv4Forwarding: true, BridgeNfIptables: true, BridgeNfIp6tables: true,
  Debug: false, NFd: 0, NGoroutines: 0,
}).slice(1, -1);
// Fixed until a reboot.
const KERNEL = os.release();
const OS_TYPE = os.type();

interface RestMemo { sample: Record<string, any>; key: string; json: string }
const restOf = new WeakMap<ApiContext['cluster'], RestMemo>();

function restOfInfo(ctx: ApiContext, sample: Record<string, any>, ncpu: number, mem: number): string {
  const events = ctx.cluster.listenerCount('event');
  const name = os.hostname();
  const warnings = infoWarnings(ctx);
  const key = `${ncpu}|${mem}|${events}|${name}|${warnings ? JSON.stringify(warnings) : ''}`;
  const was = restOf.get(ctx.cluster);
  if (was && was.sample === sample && was.key === key) return was.json;
  const rest = {
    LoggingDriver: sample.LoggingDriver ?? '',
    CgroupDriver: sample.CgroupDriver ?? '',
    CgroupVersion: sample.CgroupVersion ?? '',
    NEventsListener: events,
    KernelVersion: KERNEL,
    OperatingSystem: OS_TYPE,
    OSVersion: '',
    OSType: 'linux',
    Architecture: ARCH[process.arch] ?? process.arch,
    IndexServerAddress: sample.IndexServerAddress ?? 'https://index.docker.io/v1/',
    RegistryConfig: sample.RegistryConfig ?? null,
    NCPU: ncpu,
    MemTotal: mem,
    GenericResources: null,
    DockerRootDir: '',
    HttpProxy: '', HttpsProxy: '', NoProxy: '',
    Name: name,
    Labels: [],
    ExperimentalBuild: false,
    ServerVersion: `swarm/${VERSION}`,
    Runtimes: {},
    DefaultRuntime: '',
    Swarm: { NodeID: '', NodeAddr: '', LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null },
    LiveRestoreEnabled: false,
    Isolation: '',
    InitBinary: '',
    ContainerdCommit: { ID: '', Expected: '' },
    RuncCommit: { ID: '', Expected: '' },
    InitCommit: { ID: '', Expected: '' },
    SecurityOptions: [],
    Warnings: warnings,
  };
  const json = JSON.stringify(rest).slice(1, -1);
  restOf.set(ctx.cluster, { sample, key, json });
  return json;
}

export async function info(ctx: ApiContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  await ctx.cluster.settle(); // counts include writes already answered
  const all = ctx.cluster.nodeStatuses();
  const nodes = ctx.access ? await visibleCounts(ctx, req, all) : all;
  const status: Array<[string, string]> = [['Role', ctx.role]];
  if (ctx.role === 'replica') status.push(['Primary', ctx.primary ?? '']);
  status.push(['Strategy', ctx.strategy], ['Filters', ctx.filters.join(', ')], ['Nodes', String(nodes.length)]);
  let containers = 0, running = 0, paused = 0, stopped = 0, images = 0, ncpu = 0, mem = 0;
  for (const n of nodes) {
    if (n.state !== 'healthy') continue;
    images += n.images;
    ncpu += n.totalCpus;
    mem += n.totalMemory;
    containers += n.containers.total;
    running += n.containers.running;
    paused += n.containers.paused;
    stopped += n.containers.stopped;
  }
  const sample = ctx.cluster.sampleInfo();
  // Key order is dockerd's; the node rows go in between as pre-rendered JSON.
  const head = {
    ID: '',
    Containers: containers, ContainersRunning: running, ContainersPaused: paused, ContainersStopped: stopped,
    Images: images,
    Driver: '',
    DriverStatus: [],
  };
  const rest = restOfInfo(ctx, sample, Math.floor(ncpu), mem);
  const rows = nodeRows(ctx, nodes, nodes === all);
  const before = Buffer.from(JSON.stringify(head).slice(0, -1) + ',"SystemStatus":' + JSON.stringify(status).slice(0, -1) + (rows.length ? ',' : ''));
  const after = Buffer.from(`],${TAIL_HEAD},"SystemTime":"${new Date().toISOString()}",${rest}}\n`);
  // sendJson's headers, the body in pieces: one writev, no copy of the node rows.
  res.statusCode = 200;
  res.setHeader('Content-Type', 'application/json');
  res.setHeader('Content-Length', rows.reduce((n, b) => n + b.length, before.length + after.length));
  res.cork();
  res.write(before);
  for (const b of rows) res.write(b);
  res.end(after);
  res.uncork();
}

/** GET /metrics: Prometheus text (./metrics.ts), unversioned only, like dockerd's --metrics-addr. */
export async function metrics(ctx: ApiContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (requestInfo(req).prefix) throw new NotFoundError('page not found');
  const m = metricsOf(ctx);
  const body = await m.render();
  res.statusCode = 200;
  res.setHeader('Content-Type', m.registry.contentType);
  res.end(body);
}

/** Days before expiry from which `docker info` warns about the manager's certificate. */
export const CERT_WARN_DAYS = 30;

/** `docker info` prints these after everything else (both CLIs). */
export function infoWarnings(ctx: ApiContext, now = Date.now()): string[] | null {
  const c = ctx.tlsCert;
  if (!c) return null;
  const days = daysUntil(c.notAfter, now);
  if (days >= CERT_WARN_DAYS) return null;
  const when = c.notAfter.toISOString().replace(/\.\d+Z$/, 'Z');
  const text = days < 0
    ? `WARNING: the manager's TLS certificate ${c.file} expired on ${when}: replace it and send SIGHUP to the manager`
    : `WARNING: the manager's TLS certificate ${c.file} expires on ${when} (in ${Math.floor(days)} days): replace it and send SIGHUP to the manager`;
  return [text];
}
