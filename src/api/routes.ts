// The whole API as one declarative table: method, path (after any /vX.Y
// prefix), a name for logs, and a handler. Capture groups are passed to the
// handler in order. Container references may contain a slash (node/name).
import type { Request, Response } from 'express';
import type { ApiContext } from './context.js';
import * as system from './system.js';
import * as containers from './containers.js';
import * as resources from './resources.js';
import { events } from './events.js';
import { proxyExec } from './exec.js';

export type Handler = (ctx: ApiContext, req: Request, res: Response, ...params: string[]) => void | Promise<void>;

export interface Route {
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE';
  path: RegExp;
  name: string;
  handler: Handler;
}

const C = '(.+)'; // container reference: ID, prefix, name or node/name

const route = (method: Route['method'], path: string, name: string, handler: Handler): Route =>
  ({ method, path: new RegExp(`^${path}$`), name, handler });

const refresh: Handler = (ctx, req, res, ref, action) => containers.proxyContainerAndRefresh(ctx, req, res, ref, `/${action}`);
const stream: Handler = (ctx, req, res, ref, action) => containers.proxyContainer(ctx, req, res, ref, `/${action}`);

export const ROUTES: Route[] = [
  route('GET', '/_ping', 'Ping', system.ping),
  route('HEAD', '/_ping', 'Ping', system.ping),
  route('GET', '/version', 'Version', system.version),
  route('GET', '/info', 'Info', system.info),
  route('GET', '/events', 'Events', events),

  route('GET', '/containers/json', 'ContainerList', containers.listContainers),
  route('POST', '/containers/create', 'ContainerCreate', containers.createContainer),
  route('POST', '/containers/prune', 'ContainerPrune', containers.pruneContainers),
  route('GET', `/containers/${C}/json`, 'ContainerInspect', containers.inspectContainer),
  route('POST', `/containers/${C}/(start|stop|restart|kill|pause|unpause|rename|update)`, 'ContainerAction', refresh),
  route('GET', `/containers/${C}/(logs|stats|top|changes|export)`, 'ContainerStream', stream),
  route('POST', `/containers/${C}/(wait|resize|attach)`, 'ContainerStream', stream),
  route('GET', `/containers/${C}/(attach/ws)`, 'ContainerAttachWs', stream),
  route('GET', `/containers/${C}/(archive)`, 'ContainerArchive', stream),
  route('HEAD', `/containers/${C}/(archive)`, 'ContainerArchive', stream),
  route('PUT', `/containers/${C}/(archive)`, 'ContainerArchive', stream),
  route('POST', `/containers/${C}/exec`, 'ExecCreate', containers.createExec),
  route('DELETE', `/containers/${C}`, 'ContainerDelete', containers.removeContainer),

  route('POST', '/exec/([^/]+)/(?:start|resize)', 'ExecStart', proxyExec),
  route('GET', '/exec/([^/]+)/json', 'ExecInspect', proxyExec),

  route('GET', '/images/json', 'ImageList', resources.listImages),
  route('GET', '/images/(.+)/json', 'ImageInspect', resources.inspectImage),
  route('GET', '/networks', 'NetworkList', resources.listNetworks),
  route('GET', '/volumes', 'VolumeList', resources.listVolumes),
];

/** Routes that clients hijack with `Upgrade: tcp` (or websocket for attach/ws). */
export const HIJACK_ROUTES: Array<{ method: string; path: RegExp; kind: 'container' | 'exec'; rest: string }> = [
  { method: 'POST', path: /^\/containers\/(.+)\/attach$/, kind: 'container', rest: '/attach' },
  { method: 'GET', path: /^\/containers\/(.+)\/attach\/ws$/, kind: 'container', rest: '/attach/ws' },
  { method: 'POST', path: /^\/exec\/([^/]+)\/start$/, kind: 'exec', rest: '/start' },
];
