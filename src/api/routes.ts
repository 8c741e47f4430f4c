// The whole API as one declarative table: method, path (after any /vX.Y
// prefix), a name for logs, a handler, and for the routes clients hijack
// (attach, attach/ws, exec start) an upgrade handler. Every entry passes the
// same wrapper (./wrapper.ts). Capture groups are passed to the handlers in
// order. Container references may contain a slash (node/name).
import type { Request, Response } from 'express';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ApiContext } from './context.js';
import * as system from './system.js';
import * as containers from './containers.js';
import { listContainers } from './containerlist.js';
import * as resources from './resources.js';
import * as images from './images.js';
import { events } from './events.js';
import { build, buildKitRefused, buildKitRefusedUpgrade } from './build.js';
import * as networks from './networks.js';
import * as volumes from './volumes.js';

export type Handler = (ctx: ApiContext, req: Request, res: Response, ...params: string[]) => void | Promise<void>;
/** A handler that needs only Node's own request and response (see Route.plain). */
export type PlainHandler = (ctx: ApiContext, req: IncomingMessage, res: ServerResponse, ...params: string[]) => void | Promise<void>;
export type UpgradeHandler = (ctx: ApiContext, req: IncomingMessage, socket: Duplex, head: Buffer, ...params: string[]) => void | Promise<void>;

export interface Route {
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE';
  path: RegExp;
  name: string;
  handler: Handler;
  /** For `Connection: Upgrade` requests (hijacks). */
  upgrade?: UpgradeHandler;
  /**
   * The handler uses Node's request and response only: served without
   * Express's per-request set-up (the same wrapper, ./app.ts). For the reads
   * clients poll, where that set-up was most of the manager's own cost, and
   * the writes of every `docker run` and `docker rm` (create, start, stop ...,
   * remove), where it was about a quarter of a create+start pair's CPU.
   */
  plain?: boolean;
}

const C = '(.+)'; // container reference: ID, prefix, name or node/name

const route = (method: Route['method'], path: string, name: string, handler: Handler, upgrade?: UpgradeHandler): Route =>
  ({ method, path: new RegExp(`^${path}$`), name, handler, upgrade });
const plain = (method: Route['method'], path: string, name: string, handler: PlainHandler): Route =>
  ({ method, path: new RegExp(`^${path}$`), name, handler, plain: true });

export const ROUTES: Route[] = [
  plain('GET', '/_ping', 'Ping', system.ping),
  plain('HEAD', '/_ping', 'Ping', system.ping),
  plain('GET', '/version', 'Version', system.version),
  plain('GET', '/info', 'Info', system.info),
  route('GET', '/events', 'Events', events),
  // Prometheus text format; swarm-only, unversioned like dockerd's --metrics-addr (docs/divergence.md).
  plain('GET', '/metrics', 'Metrics', system.metrics),

  plain('GET', '/containers/json', 'ContainerList', listContainers),
  plain('POST', '/containers/create', 'ContainerCreate', containers.createContainer),
  route('POST', '/containers/prune', 'ContainerPrune', containers.pruneContainers),
  plain('GET', `/containers/${C}/json`, 'ContainerInspect', containers.inspectContainer),
  plain('POST', `/containers/${C}/(start|stop|restart|kill|pause|unpause|rename|update)`, 'ContainerAction', containers.callContainer),
  plain('POST', `/containers/${C}/(wait)`, 'ContainerWait', containers.waitContainer),
  route('GET', `/containers/${C}/(logs|stats|top|changes|export)`, 'ContainerStream', containers.streamContainer),
  route('POST', `/containers/${C}/(resize)`, 'ContainerResize', containers.streamContainer),
  route('POST', `/containers/${C}/(attach)`, 'ContainerAttach', containers.attachContainer, containers.hijackContainer),
  route('GET', `/containers/${C}/(attach/ws)`, 'ContainerAttachWs', containers.attachContainer, containers.hijackContainer),
  route('GET', `/containers/${C}/(archive)`, 'ContainerArchive', containers.streamContainer),
  route('HEAD', `/containers/${C}/(archive)`, 'ContainerArchive', containers.streamContainer),
  route('PUT', `/containers/${C}/(archive)`, 'ContainerArchive', containers.streamContainer),
  route('POST', `/containers/${C}/exec`, 'ExecCreate', containers.createExec),
  plain('DELETE', `/containers/${C}`, 'ContainerDelete', containers.removeContainer),

  route('POST', '/exec/([^/]+)/start', 'ExecStart', containers.proxyExec, containers.hijackExec),
  route('POST', '/exec/([^/]+)/resize', 'ExecResize', containers.proxyExec),
  route('GET', '/exec/([^/]+)/json', 'ExecInspect', containers.proxyExec),

  route('GET', '/images/json', 'ImageList', resources.listImages),
  route('GET', '/images/(.+)/json', 'ImageInspect', resources.inspectImage),
  route('POST', '/images/create', 'ImageCreate', images.createImage),
  route('POST', '/images/load', 'ImageLoad', images.loadImages),
  route('GET', '/images/get', 'ImageSave', images.saveImages),
  route('GET', '/images/(.+)/get', 'ImageSave', images.saveImages),
  route('POST', '/images/prune', 'ImagePrune', images.pruneImages),
  route('GET', '/images/search', 'ImageSearch', images.searchImages),
  route('POST', '/images/(.+)/tag', 'ImageTag', images.tagImage),
  route('POST', '/images/(.+)/push', 'ImagePush', images.pushImage),
  route('GET', '/images/(.+)/history', 'ImageHistory', images.imageHistory),
  route('DELETE', '/images/(.+)', 'ImageDelete', images.removeImage),
  route('POST', '/auth', 'Auth', images.login),
  route('POST', '/commit', 'ContainerCommit', images.commitContainer),
  // networks and volumes (issue 13); names may be node/name
  route('GET', '/networks', 'NetworkList', networks.listNetworks),
  route('POST', '/networks/create', 'NetworkCreate', networks.createNetwork),
  route('POST', '/networks/prune', 'NetworkPrune', networks.pruneNetworks),
  route('POST', '/networks/(.+)/(connect|disconnect)', 'NetworkConnect', networks.connectNetwork),
  route('GET', '/networks/(.+)', 'NetworkInspect', networks.inspectNetwork),
  route('DELETE', '/networks/(.+)', 'NetworkDelete', networks.removeNetwork),
  route('GET', '/volumes', 'VolumeList', volumes.listVolumes),
  route('POST', '/volumes/create', 'VolumeCreate', volumes.createVolume),
  route('POST', '/volumes/prune', 'VolumePrune', volumes.pruneVolumes),
  route('GET', '/volumes/(.+)', 'VolumeInspect', volumes.inspectVolume),
  route('DELETE', '/volumes/(.+)', 'VolumeDelete', volumes.removeVolume),

  route('POST', '/build', 'ImageBuild', build),
  // BuildKit opens these first: the same clear refusal as a version=2 build.
  route('POST', '/session', 'BuildKitSession', buildKitRefused, buildKitRefusedUpgrade),
  route('POST', '/grpc', 'BuildKitGrpc', buildKitRefused, buildKitRefusedUpgrade),
];

/** The route for a method and a path without its version prefix, with its decoded parameters. */
export function matchRoute(method: string, path: string): { route: Route; params: string[] } | undefined {
  for (const r of ROUTES) {
    if (r.method !== method) continue;
    const m = r.path.exec(path);
    if (m) return { route: r, params: m.slice(1).map((p) => decodeURIComponent(p)) };
  }
  return undefined;
}
