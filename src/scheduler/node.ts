// Read-only snapshot of one engine as the scheduler sees it. The cluster layer
// keeps one per engine until the engine changes (frozen: every decision
// shares it; arrays are shared, not copied) and adds the containers it has
// reserved but not yet created, so filters and strategies stay pure
// functions of (request, nodes).

export interface PortBinding {
  /** Host IP as requested; "" and "0.0.0.0" both mean "every address". */
  hostIp: string;
  /** Host port number; 0 means "any port" (never a clash). */
  hostPort: number;
  /** "tcp" | "udp" | "sctp" */
  proto: string;
}

export interface NodeContainer {
  id: string;
  /** Names without the leading slash, e.g. ["web"]. */
  names: string[];
  /** Image reference as given at create (e.g. "busybox", "busybox:latest"). */
  image: string;
  /** Image ID (sha256:...) when known. */
  imageId: string;
  labels: Readonly<Record<string, string>>;
  /** created | running | paused | restarting | exited | dead | pending */
  state: string;
  /** Reserved CPUs as classic Swarm counts them (CpuShares = number of CPUs, or NanoCpus / 1e9). */
  cpus: number;
  /** Reserved memory in bytes (HostConfig.Memory). */
  memory: number;
  /** Host ports this container holds (bridge mode PortBindings, or host-mode ExposedPorts). */
  ports: readonly PortBinding[];
  /** HostConfig.NetworkMode ("default", "bridge", "host", "container:x", network name). */
  networkMode: string;
}

export interface NodeImage {
  id: string;
  repoTags: readonly string[];
  repoDigests: readonly string[];
}

export interface NodeNetwork {
  /** Network ID as the engine reports it (`docker network ls --no-trunc`). */
  id: string;
  name: string;
  /** "local" (a network of this engine alone), "swarm" or "global". */
  scope: string;
}

export interface Node {
  /** Engine ID as reported by /info. */
  id: string;
  /** Engine name (its hostname, /info Name). */
  name: string;
  /** host:port the manager talks to. */
  addr: string;
  /** Host part of addr. */
  ip: string;
  /** Engine labels (`dockerd --label`) plus the built-ins: storagedriver, executiondriver, kernelversion, operatingsystem, ostype, architecture. */
  labels: Readonly<Record<string, string>>;
  healthy: boolean;
  /** 0..100: 100 - failures * 100 / retries. */
  healthIndicator: number;
  /** Total CPUs and memory, overcommit already applied. */
  totalCpus: number;
  totalMemory: number;
  /** Reserved by containers on the node, pending reservations included. */
  usedCpus: number;
  usedMemory: number;
  containers: readonly NodeContainer[];
  images: readonly NodeImage[];
  /** The engine's networks (placement hints look for node-local ones). */
  networks: readonly NodeNetwork[];
}
