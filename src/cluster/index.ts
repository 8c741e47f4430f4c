// The cluster facade: everything the API layer may know about the cluster.
// Handlers get plain views and proxy targets, never an Engine, so how
// engines are reached, cached and refreshed stays behind this seam.
import type { Duplex, Readable } from 'node:stream';
import type http from 'node:http';
import type { Dispatcher } from 'undici';
import type { CachedContainer } from './containers.js';
import type { EngineEvent, EngineState } from './engine.js';
import type { FilterArgs } from '../util/dockerfilters.js';

import type { Cluster } from './cluster.js';

export { Cluster, type ClusterOptions } from './cluster.js';
export type { CachedContainer } from './containers.js';
export type { EngineEvent, EngineState } from './engine.js';
export type { ClusterMetrics, Buckets } from './stats.js';
export { SWARM_ID_LABEL } from '../scheduler/rules.js';
export { isAnyIp } from './operations.js';
export { DIALED } from './transport.js';

/** An engine as the API may see it: read-only facts. */
export interface NodeView {
  readonly id: string;
  readonly name: string;
  readonly addr: string;
  readonly ip: string;
  readonly state: EngineState;
  readonly healthy: boolean;
  readonly labels: Readonly<Record<string, string>>;
  readonly cpus: number;
  readonly memory: number;
}

/** One container with the node that holds it. */
export interface ContainerEntry {
  readonly node: NodeView;
  readonly container: CachedContainer;
}

/** An event from an engine with the node information added, as classic Swarm sends it. */
export type ClusterEvent = EngineEvent & { node: { Name: string; Id: string; Addr: string; Ip: string } };

/** Where to send a client's request, and what to do once the engine answered. */
export interface ProxyTarget {
  /** The engine's name (logs, X-Swarm-Node). */
  readonly node: string;
  /** host:port, for the Host header. */
  readonly addr: string;
  /** Base URL and agent for streamed requests (http-proxy). */
  readonly url: string;
  readonly agent: http.Agent;
  /** For requests whose bodies stream (a build's context). */
  readonly dispatcher: Dispatcher;
  /** For buffered requests (requestBuffered): may take a connection the manager keeps open. */
  readonly buffered: Pick<Dispatcher, 'dispatch'>;
  /** Path (with /vX.Y prefix and query) to ask the engine for. */
  readonly path: string;
  /** A raw socket to the engine, for hijacks: write to it only once it emits DIALED (TLS checked by then). */
  connect(): Duplex;
  /** The engine could not be reached: note it, and get the error naming the node. */
  fail(err: Error): Error;
  /**
   * Called once the engine answered (status 0: it did not), before the client
   * sees the answer: refreshes what the call changed, so the next read
   * reflects it, and releases anything reserved for the call.
   */
  settle(status: number, body?: Buffer): Promise<void>;
}

/**
 * A node's lines in `docker info`, as the node was when taken. The cluster
 * hands out the same object again while nothing in it changed, so the API
 * may render each object once.
 */
export interface NodeStatus {
  node: NodeView;
  state: EngineState; name: string; id: string;
  labels: Readonly<Record<string, string>>;
  containers: { total: number; running: number; paused: number; stopped: number };
  reservedCpus: number; totalCpus: number;
  reservedMemory: number; totalMemory: number;
  error: string;
  updatedAt: Date;
  serverVersion: string;
  images: number;
}

export interface ContainerListOptions {
  all: boolean;
  limit: number;
  filters: FilterArgs;
  /** With sizes: asked from the owners (dockerd never caches them). */
  size: boolean;
}

export interface ContainerListing {
  entries: ContainerEntry[];
  /** Size-bearing summaries by ID, when asked for. */
  sized?: Map<string, any>;
}

export interface EngineReply { node: NodeView; status: number; body: any }

export type { FilterArgs };

/** What the API layer may call: plain views and proxy targets, no engines. */
export type ClusterApi = Pick<Cluster,
  | 'on' | 'off' | 'listenerCount'
  | 'apiVersions' | 'versionKnown' | 'settle' | 'findContainer' | 'listContainers' | 'createContainer' | 'inspectContainer' | 'noteWrite'
  | 'containerTarget' | 'execCreateTarget' | 'execTarget' | 'peerTarget' | 'pruneContainers'
  | 'nodeStatuses' | 'healthyNodes' | 'sampleInfo' | 'listImages' | 'imageTarget' | 'eventHistory'
  | 'buildTarget' | 'metrics'
  // ---- facts for the access rules (issue 17)
  | 'networkFacts' | 'volumeFacts' | 'imageFacts' | 'execContainer'
  | 'containerCount' | 'containersVersion' | ImageMethods
  // ---- networks and volumes (issue 13)
  | 'filterNetworks' | 'createNetwork' | 'inspectNetwork' | 'removeNetwork' | 'connectNetwork' | 'pruneNetworks'
  | 'filterVolumes' | 'createVolume' | 'inspectVolume' | 'removeVolume' | 'pruneVolumes'>;

// ---- images (issue 13)

/**
 * A call for every node (pull, load, import): the path with the client's
 * /vX.Y prefix and query, the headers to pass (X-Registry-Auth,
 * Content-Type), a fresh copy of the client's body per engine, and the
 * client's lifetime.
 */
export interface FanOutRequest { path: string; headers: Record<string, string>; body?: () => Readable; signal: AbortSignal }

/** A merged answer from the engines (body null: none, as dockerd sends for tag). */
export interface ImageAnswer { status: number; body: any }

type ImageMethods = 'imagesEverywhere' | 'commitTarget' | 'saveTarget' | 'tagImage' | 'removeImage' | 'pruneImages' | 'imageHolderTarget' | 'anyNodeTarget';
