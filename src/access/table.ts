// What each route needs, in one table (issue 17): the route wrapper
// (src/api/access.ts) looks a request up here by its route name, method and
// action, finds the object, and compares the caller's level on it with the
// level named here. Routes whose answer is a listing are filtered by their
// handlers instead; creates and prunes check their bodies and queries there.
import type { Level } from './levels.js';

/** The kinds of objects a level is held on. */
export type ObjectKind = 'container' | 'exec' | 'network' | 'volume' | 'image';

export type Rule =
  /** Any user with a valid certificate (images are usable by all, as in UCP). */
  | { kind: 'open' }
  /** Admins only (the manager's own metrics). */
  | { kind: 'admin' }
  /** The object named by the route's first parameter, at this level. */
  | { kind: 'object'; object: ObjectKind; level: Level }
  /** A listing, events or info: the handler shows only what the caller may see. */
  | { kind: 'filtered' }
  /** A create: the handler checks the access label and options, and sets the owner. */
  | { kind: 'create'; object: 'container' | 'network' | 'volume' }
  /** The object is named in the query, not the path: the handler checks it at this level. */
  | { kind: 'query'; object: ObjectKind; level: Level }
  /** A prune: the handler limits it to what the caller owns or has full on. */
  | { kind: 'prune'; object: 'container' | 'network' | 'volume' | 'image' };

const open: Rule = { kind: 'open' };
const filtered: Rule = { kind: 'filtered' };
const on = (object: ObjectKind, level: Level): Rule => ({ kind: 'object', object, level });

/** Container actions by the path after the container's reference. */
const CONTAINER: Record<string, Level> = {
  // view: read what is there
  logs: 'view', top: 'view', stats: 'view', changes: 'view', export: 'view',
  // restricted: run and change the container, not what it may reach
  start: 'restricted', stop: 'restricted', restart: 'restricted', kill: 'restricted',
  pause: 'restricted', unpause: 'restricted', rename: 'restricted', update: 'restricted',
  resize: 'restricted', wait: 'restricted', attach: 'restricted', 'attach/ws': 'restricted',
};

/** Routes by name (src/api/routes.ts); a route missing here is refused for everyone but admins. */
const ROUTES: Record<string, Rule | ((method: string, action: string) => Rule)> = {
  Ping: open, Version: open, Auth: open, ImageSearch: open,
  BuildKitSession: open, BuildKitGrpc: open,
  Metrics: { kind: 'admin' },
  Info: filtered, Events: filtered, ContainerList: filtered, NetworkList: filtered, VolumeList: filtered,

  ContainerCreate: { kind: 'create', object: 'container' },
  ContainerPrune: { kind: 'prune', object: 'container' },
  ContainerInspect: on('container', 'view'),
  ContainerAction: (_m, action) => on('container', CONTAINER[action] ?? 'full'),
  ContainerWait: on('container', 'restricted'),
  ContainerStream: (_m, action) => on('container', CONTAINER[action] ?? 'full'),
  ContainerResize: on('container', 'restricted'),
  ContainerAttach: on('container', 'restricted'),
  ContainerAttachWs: on('container', 'restricted'),
  // reading files is viewing; writing them is as strong as exec
  ContainerArchive: (method) => on('container', method === 'PUT' ? 'full' : 'view'),
  ContainerDelete: on('container', 'restricted'),
  ExecCreate: on('container', 'full'),
  // exec start is checked on its own (UCP checked only exec create)
  ExecStart: on('exec', 'full'),
  ExecResize: on('exec', 'full'),
  ExecInspect: on('exec', 'view'),
  // a commit copies the container's files into an image the caller owns
  ContainerCommit: { kind: 'query', object: 'container', level: 'restricted' },

  // images: anyone may pull, build, load and use them; changing one needs full
  ImageList: open, ImageInspect: open, ImageHistory: open, ImageSave: open,
  ImageCreate: open, ImageLoad: open, ImageBuild: open,
  ImageTag: on('image', 'full'), ImageDelete: on('image', 'full'),
  // push names its tag in the query
  ImagePush: { kind: 'query', object: 'image', level: 'full' },
  ImagePrune: { kind: 'prune', object: 'image' },

  NetworkCreate: { kind: 'create', object: 'network' },
  NetworkPrune: { kind: 'prune', object: 'network' },
  NetworkInspect: on('network', 'view'),
  // the container in the body is checked too (src/api/access.ts)
  NetworkConnect: on('network', 'restricted'),
  NetworkDelete: on('network', 'restricted'),
  VolumeCreate: { kind: 'create', object: 'volume' },
  VolumePrune: { kind: 'prune', object: 'volume' },
  VolumeInspect: on('volume', 'view'),
  VolumeDelete: on('volume', 'restricted'),
};

/** The rule for a request; undefined: a route the table does not know (admins only). */
export function ruleFor(route: string, method: string, action = ''): Rule | undefined {
  const r = ROUTES[route];
  return typeof r === 'function' ? r(method, action) : r;
}

/** Route names the table covers (tests check every route in src/api/routes.ts is here). */
export const COVERED_ROUTES: readonly string[] = Object.keys(ROUTES);

/** The labels the manager keeps on containers, networks and volumes. */
export const OWNER_LABEL = 'com.docker.swarm.access.owner';
export const ACCESS_LABEL = 'com.docker.swarm.access.label';
