// A light Docker engine simulator: the subset of the Engine API (1.41) that
// the manager uses, with realistic JSON shapes, held in memory. Cheap enough
// to run 1,000 of them in one process (one http.Server each, pre-rendered
// list items, nothing per request beyond string joins).
//
//   const sim = await startSimulator({ port: 27000, name: 'sim-0', containers: 30 });
//   sim.startContainer(sim.ids()[0]);   // state change + `start` event
//   await sim.stop();
//
// With `tls` it serves HTTPS the way dockerd --tls/--tlsverify does (see
// SimulatorTls); plain HTTP stays the default.
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import type tls from 'node:tls';
import { randomBytes } from 'node:crypto';

export interface SimulatorOptions {
  port: number;
  /** Listen host; default 127.0.0.1. */
  host?: string;
  /** Engine name (/info Name); default sim-<port>. */
  name?: string;
  /** Containers created at start (one in three running, one in three with a published port). */
  containers?: number;
  ncpu?: number;
  memTotal?: number;
  /** Engine labels, reported as ["k=v"] in /info. */
  labels?: Record<string, string>;
  /**
   * Extra labels for pre-made container i (0 ≤ i < containers), merged over
   * its own (e.g. an access label on one in ten). Default: none.
   */
  containerLabels?: (i: number) => Record<string, string>;
  /** Answer each container inspect this much later (a slow engine, or a long first load). */
  inspectDelayMs?: number;
  /** Answer each container list this much later (an engine whose first load takes long). */
  listDelayMs?: number;
  /** Refuse every create with this status (e.g. 500: a broken engine, to test retries). */
  failCreates?: number;
  /**
   * A list filtered by one container's ID answers [] the first time for each
   * ID (a create's re-read that ends without the container: the manager must
   * read it again before a read by its name is answered).
   */
  listMissesNewOnce?: boolean;
  /** Serve HTTPS instead of HTTP. */
  tls?: SimulatorTls;
}

/**
 * An engine's TLS: its pair, and (like dockerd --tlsverify) with `ca` and
 * `requestCert` it refuses clients without a certificate from that CA.
 */
export interface SimulatorTls {
  cert: string | Buffer;
  key: string | Buffer;
  ca?: string | Buffer;
  requestCert?: boolean;
}

export interface Simulator {
  readonly name: string;
  readonly id: string;
  readonly port: number;
  /** "127.0.0.1:PORT" */
  readonly addr: string;
  /** IDs of the current containers, oldest first. */
  ids(): string[];
  /** Container state by ID (undefined if gone). */
  state(id: string): string | undefined;
  /** Start a container as `docker start` would (event included). False if missing or running. */
  startContainer(id: string): boolean;
  /** Stop a running container (die + stop events). */
  stopContainer(id: string): boolean;
  /** Write one raw event to every open /events stream. */
  emit(ev: Record<string, unknown>): void;
  /** Open /events streams. */
  listeners(): number;
  /** Requests answered so far, by "METHOD /path-kind". */
  readonly counts: Map<string, number>;
  stop(): Promise<void>;
}

const API_VERSION = '1.41';
const MIN_API_VERSION = '1.12';
const ENGINE_VERSION = '20.10.24';
const GiB = 1024 ** 3;

const IMAGES = [
  { repo: 'busybox:latest', size: 4_261_550, created: 1_689_000_000, cmd: ['sh'] },
  { repo: 'nginx:1.25', size: 187_000_000, created: 1_690_000_000, cmd: ['nginx', '-g', 'daemon off;'] },
  { repo: 'redis:7', size: 138_000_000, created: 1_691_000_000, cmd: ['redis-server'] },
].map((i, n) => ({ ...i, id: 'sha256:' + hex(32, n + 1), digest: `${i.repo.split(':')[0]}@sha256:${hex(32, n + 11)}` }));

/** Deterministic-looking hex for fixed objects (images, networks). */
function hex(bytes: number, seed: number): string {
  let s = '';
  let x = (seed * 2654435761) >>> 0;
  while (s.length < bytes * 2) {
    x = (x * 1103515245 + 12345) >>> 0;
    s += x.toString(16).padStart(8, '0');
  }
  return s.slice(0, bytes * 2);
}

interface PortSpec { privatePort: number; publicPort: number; proto: string }

interface SimContainer {
  id: string;
  name: string;
  image: string;
  imageId: string;
  cmd: string[];
  entrypoint: string[] | null;
  env: string[];
  created: number;
  state: 'created' | 'running' | 'exited' | 'paused';
  exitCode: number;
  startedAt: string;
  finishedAt: string;
  pid: number;
  labels: Record<string, string>;
  /** HostConfig as given at create (defaults filled in at inspect). */
  hostConfig: any;
  exposed: Record<string, object>;
  ports: PortSpec[];
  ip: string;
  mac: string;
  endpointId: string;
  volume: string | null;
  /** Rendered list item; dropped on change. */
  summary?: string;
}

const ZERO_TIME = '0001-01-01T00:00:00Z';

/** A slow engine's delay: it must not keep a process alive after the simulator stopped. */
const delay = (ms: number): Promise<void> => new Promise((r) => { setTimeout(r, ms).unref(); });

function since(tsSec: number): string {
  const d = Math.max(0, Math.floor(Date.now() / 1000) - tsSec);
  if (d < 1) return 'Less than a second';
  if (d < 60) return `${d} seconds`;
  if (d < 3600) return d < 120 ? 'About a minute' : `${Math.floor(d / 60)} minutes`;
  if (d < 86400) return d < 7200 ? 'About an hour' : `${Math.floor(d / 3600)} hours`;
  return `${Math.floor(d / 86400)} days`;
}

function shellJoin(argv: string[]): string {
  return argv.map((a) => (/[\s'"]/.test(a) ? `'${a.replace(/'/g, "'\\''")}'` : a)).join(' ');
}

/** `docker ps` truncates Command to 20 chars client-side; the API sends it whole. */
function commandOf(c: SimContainer): string {
  return shellJoin([...(c.entrypoint ?? []), ...c.cmd]);
}

export async function startSimulator(opts: SimulatorOptions): Promise<Simulator> {
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port;
  const name = opts.name ?? `sim-${port}`; // port 0: any free port (see .port)
  const ncpu = opts.ncpu ?? 4;
  const memTotal = opts.memTotal ?? 8 * GiB;
  const labels = opts.labels ?? {};
  // Docker's engine ID: 12 groups of 4 base32 characters.
  const id = randomBytes(30).toString('base64').replace(/[^A-Za-z0-9]/g, '').toUpperCase().padEnd(48, 'Z').slice(0, 48).match(/.{4}/g)!.join(':');
  const bridgeId = randomBytes(32).toString('hex');
  const containers = new Map<string, SimContainer>();
  const byName = new Map<string, string>();
  const streams = new Set<http.ServerResponse>();
  /** IDs whose first filtered list answered [] (listMissesNewOnce). */
  const missedOnce = new Set<string>();
  const counts = new Map<string, number>();
  /** Held `POST /containers/{id}/wait` requests: answered at the next exit (or removal, for condition=removed). */
  const waiters = new Map<string, Set<{ res: http.ServerResponse; removed: boolean }>>();
  const recent: Array<{ nano: bigint; line: string }> = [];
  let lastNano = 0n;
  let ipSeq = 2;
  let pidSeq = 1000;

  const nowIso = (): string => new Date().toISOString().replace(/Z$/, '000000Z');

  const newContainer = (cname: string, body: any, created: number): SimContainer => {
    const image = typeof body.Image === 'string' ? body.Image : 'busybox';
    const img = IMAGES.find((i) => i.repo === image || i.repo === `${image}:latest`) ?? IMAGES[0];
    const hc = body.HostConfig && typeof body.HostConfig === 'object' ? body.HostConfig : {};
    const ports: PortSpec[] = [];
    for (const [key, binds] of Object.entries<any>(hc.PortBindings ?? {})) {
      const [p, proto = 'tcp'] = key.split('/');
      for (const b of binds ?? []) ports.push({ privatePort: Number(p), publicPort: Number(b?.HostPort) || 0, proto });
    }
    const exposed: Record<string, object> = { ...(body.ExposedPorts ?? {}) };
    for (const p of ports) exposed[`${p.privatePort}/${p.proto}`] = {};
    const seq = ipSeq++;
    return {
      id: randomBytes(32).toString('hex'),
      name: cname,
      image,
      imageId: img.id,
      cmd: Array.isArray(body.Cmd) ? body.Cmd.map(String) : typeof body.Cmd === 'string' ? [body.Cmd] : img.cmd,
      entrypoint: Array.isArray(body.Entrypoint) ? body.Entrypoint.map(String) : null,
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', ...(Array.isArray(body.Env) ? body.Env.map(String) : [])],
      created,
      state: 'created',
      exitCode: 0,
      startedAt: ZERO_TIME,
      finishedAt: ZERO_TIME,
      pid: 0,
      labels: body.Labels && typeof body.Labels === 'object' ? { ...body.Labels } : {},
      hostConfig: hc,
      exposed,
      ports,
      ip: `172.17.${(seq >> 8) & 255}.${seq & 255}`,
      mac: `02:42:ac:11:${((seq >> 8) & 255).toString(16).padStart(2, '0')}:${(seq & 255).toString(16).padStart(2, '0')}`,
      endpointId: randomBytes(32).toString('hex'),
      volume: body.Volumes && Object.keys(body.Volumes).length ? randomBytes(32).toString('hex') : null,
    };
  };

  const add = (c: SimContainer): void => {
    containers.set(c.id, c);
    byName.set(c.name, c.id);
  };

  const running = (c: SimContainer): boolean => c.state === 'running' || c.state === 'paused';

  const statusOf = (c: SimContainer): string => {
    switch (c.state) {
      case 'running': return `Up ${since(Date.parse(c.startedAt) / 1000 | 0)}`;
      case 'paused': return `Up ${since(Date.parse(c.startedAt) / 1000 | 0)} (Paused)`;
      case 'exited': return `Exited (${c.exitCode}) ${since(Date.parse(c.finishedAt) / 1000 | 0)} ago`;
      default: return 'Created';
    }
  };

  const summaryOf = (c: SimContainer): any => ({
    Id: c.id,
    Names: [`/${c.name}`],
    Image: c.image,
    ImageID: c.imageId,
    Command: commandOf(c),
    Created: c.created,
    Ports: running(c)
      ? c.ports.flatMap((p) => p.publicPort
        ? [{ IP: '0.0.0.0', PrivatePort: p.privatePort, PublicPort: p.publicPort, Type: p.proto }, { IP: '::', PrivatePort: p.privatePort, PublicPort: p.publicPort, Type: p.proto }]
        : [{ PrivatePort: p.privatePort, Type: p.proto }])
      : [],
    Labels: c.labels,
    State: c.state,
    Status: statusOf(c),
    HostConfig: { NetworkMode: c.hostConfig.NetworkMode || 'default' },
    NetworkSettings: {
      Networks: {
        bridge: {
          IPAMConfig: null, Links: null, Aliases: null,
          NetworkID: bridgeId, EndpointID: running(c) ? c.endpointId : '',
          Gateway: running(c) ? '172.17.0.1' : '', IPAddress: running(c) ? c.ip : '', IPPrefixLen: running(c) ? 16 : 0,
          IPv6Gateway: '', GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0,
          MacAddress: running(c) ? c.mac : '', DriverOpts: null,
        },
      },
    },
    Mounts: c.volume
      ? [{ Type: 'volume', Name: c.volume, Source: `/var/lib/docker/volumes/${c.volume}/_data`, Destination: '/data', Driver: 'local', Mode: '', RW: true, Propagation: '' }]
      : [],
  });

  const summaryJson = (c: SimContainer): string => (c.summary ??= JSON.stringify(summaryOf(c)));

  const inspectOf = (c: SimContainer): any => {
    const hc = c.hostConfig;
    const portMap: Record<string, Array<{ HostIp: string; HostPort: string }> | null> = {};
    if (running(c)) {
      for (const key of Object.keys(c.exposed)) portMap[key] = null;
      for (const p of c.ports) {
        if (!p.publicPort) continue;
        portMap[`${p.privatePort}/${p.proto}`] = [{ HostIp: '0.0.0.0', HostPort: String(p.publicPort) }, { HostIp: '::', HostPort: String(p.publicPort) }];
      }
    }
    const bindings: Record<string, unknown> = {};
    for (const p of c.ports) {
      const k = `${p.privatePort}/${p.proto}`;
      ((bindings[k] as unknown[]) ??= []).push({ HostIp: '', HostPort: p.publicPort ? String(p.publicPort) : '' });
    }
    return {
      Id: c.id,
      Created: new Date(c.created * 1000).toISOString().replace(/\.\d{3}Z$/, '.000000000Z'),
      Path: (c.entrypoint ?? c.cmd)[0] ?? '',
      Args: [...(c.entrypoint ?? c.cmd)].slice(1).concat(c.entrypoint ? c.cmd : []),
      State: {
        Status: c.state, Running: running(c), Paused: c.state === 'paused', Restarting: false, OOMKilled: false, Dead: false,
        Pid: running(c) ? c.pid : 0, ExitCode: c.exitCode, Error: '', StartedAt: c.startedAt, FinishedAt: c.finishedAt,
      },
      Image: c.imageId,
      ResolvConfPath: `/var/lib/docker/containers/${c.id}/resolv.conf`,
      HostnamePath: `/var/lib/docker/containers/${c.id}/hostname`,
      HostsPath: `/var/lib/docker/containers/${c.id}/hosts`,
      LogPath: `/var/lib/docker/containers/${c.id}/${c.id}-json.log`,
      Name: `/${c.name}`,
      RestartCount: 0,
      Driver: 'overlay2',
      Platform: 'linux',
      MountLabel: '',
      ProcessLabel: '',
      AppArmorProfile: 'docker-default',
      ExecIDs: null,
      HostConfig: {
        Binds: hc.Binds ?? null, ContainerIDFile: '', LogConfig: { Type: 'json-file', Config: {} },
        NetworkMode: hc.NetworkMode || 'default', PortBindings: bindings,
        RestartPolicy: hc.RestartPolicy ?? { Name: 'no', MaximumRetryCount: 0 }, AutoRemove: !!hc.AutoRemove,
        VolumeDriver: '', VolumesFrom: hc.VolumesFrom ?? null, CapAdd: hc.CapAdd ?? null, CapDrop: hc.CapDrop ?? null,
        CgroupnsMode: 'private', Dns: [], DnsOptions: [], DnsSearch: [], ExtraHosts: null, GroupAdd: null,
        IpcMode: hc.IpcMode || 'private', Cgroup: '', Links: hc.Links ?? null, OomScoreAdj: 0, PidMode: hc.PidMode ?? '',
        Privileged: !!hc.Privileged, PublishAllPorts: !!hc.PublishAllPorts, ReadonlyRootfs: false, SecurityOpt: null,
        UTSMode: '', UsernsMode: '', ShmSize: 67108864, Runtime: 'runc', ConsoleSize: [0, 0], Isolation: '',
        CpuShares: hc.CpuShares ?? 0, Memory: hc.Memory ?? 0, NanoCpus: hc.NanoCpus ?? 0, CgroupParent: '',
        BlkioWeight: 0, BlkioWeightDevice: [], BlkioDeviceReadBps: null, BlkioDeviceWriteBps: null,
        BlkioDeviceReadIOps: null, BlkioDeviceWriteIOps: null, CpuPeriod: 0, CpuQuota: 0, CpuRealtimePeriod: 0,
        CpuRealtimeRuntime: 0, CpusetCpus: hc.CpusetCpus ?? '', CpusetMems: '', Devices: [], DeviceCgroupRules: null,
        DeviceRequests: null, KernelMemory: 0, KernelMemoryTCP: 0, MemoryReservation: 0, MemorySwap: hc.MemorySwap ?? 0,
        MemorySwappiness: null, OomKillDisable: false, PidsLimit: null, Ulimits: null, CpuCount: 0, CpuPercent: 0,
        IOMaximumIOps: 0, IOMaximumBandwidth: 0,
        MaskedPaths: ['/proc/asound', '/proc/acpi', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list', '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware'],
        ReadonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
      },
      GraphDriver: {
        Data: {
          LowerDir: `/var/lib/docker/overlay2/${c.id}-init/diff`,
          MergedDir: `/var/lib/docker/overlay2/${c.id}/merged`,
          UpperDir: `/var/lib/docker/overlay2/${c.id}/diff`,
          WorkDir: `/var/lib/docker/overlay2/${c.id}/work`,
        },
        Name: 'overlay2',
      },
      Mounts: c.volume
        ? [{ Type: 'volume', Name: c.volume, Source: `/var/lib/docker/volumes/${c.volume}/_data`, Destination: '/data', Driver: 'local', Mode: '', RW: true, Propagation: '' }]
        : [],
      Config: {
        Hostname: c.id.slice(0, 12), Domainname: '', User: '', AttachStdin: false, AttachStdout: false, AttachStderr: false,
        ExposedPorts: Object.keys(c.exposed).length ? c.exposed : undefined,
        Tty: false, OpenStdin: false, StdinOnce: false, Env: c.env, Cmd: c.cmd, Image: c.image,
        Volumes: c.volume ? { '/data': {} } : null, WorkingDir: '', Entrypoint: c.entrypoint, OnBuild: null, Labels: c.labels,
      },
      NetworkSettings: {
        Bridge: '', SandboxID: running(c) ? c.endpointId.split('').reverse().join('') : '', HairpinMode: false,
        LinkLocalIPv6Address: '', LinkLocalIPv6PrefixLen: 0, Ports: portMap,
        SandboxKey: running(c) ? `/var/run/docker/netns/${c.endpointId.slice(0, 12)}` : '',
        SecondaryIPAddresses: null, SecondaryIPv6Addresses: null,
        EndpointID: running(c) ? c.endpointId : '', Gateway: running(c) ? '172.17.0.1' : '',
        GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0, IPAddress: running(c) ? c.ip : '', IPPrefixLen: running(c) ? 16 : 0,
        IPv6Gateway: '', MacAddress: running(c) ? c.mac : '',
        Networks: summaryOf(c).NetworkSettings.Networks,
      },
    };
  };

  // ---- events -------------------------------------------------------------

  const writeEvent = (ev: Record<string, unknown>): void => {
    // Strictly increasing timeNano, at least 1µs apart: consumers drop
    // events whose timeNano is not newer than the last (since-replay).
    let nano = BigInt(Date.now()) * 1_000_000n;
    if (nano <= lastNano + 1000n) nano = lastNano + 1000n;
    lastNano = nano;
    const { timeNano: _t, time: _s, ...rest } = ev;
    const json = JSON.stringify(rest);
    // timeNano does not fit a double: splice it in as an integer literal.
    const line = `${json.slice(0, -1)}${json.length > 2 ? ',' : ''}"time":${nano / 1_000_000_000n},"timeNano":${nano}}\n`;
    recent.push({ nano, line });
    if (recent.length > 256) recent.shift();
    for (const s of streams) s.write(line);
  };

  const containerEvent = (c: SimContainer, action: string, extra: Record<string, string> = {}): void => {
    writeEvent({
      status: action, id: c.id, from: c.image, Type: 'container', Action: action,
      Actor: { ID: c.id, Attributes: { image: c.image, name: c.name, ...c.labels, ...extra } },
      scope: 'local',
    });
  };

  const start = (c: SimContainer): boolean => {
    if (running(c)) return false;
    c.state = 'running';
    c.pid = pidSeq++;
    c.startedAt = nowIso();
    c.summary = undefined;
    writeEvent({
      Type: 'network', Action: 'connect',
      Actor: { ID: bridgeId, Attributes: { container: c.id, name: 'bridge', type: 'bridge' } }, scope: 'local',
    });
    containerEvent(c, 'start');
    return true;
  };

  const wake = (c: SimContainer, removed: boolean): void => {
    const ws = waiters.get(c.id);
    if (!ws) return;
    for (const w of [...ws]) {
      if (w.removed && !removed) continue;
      ws.delete(w);
      w.res.end(JSON.stringify({ Error: null, StatusCode: c.exitCode }) + '\n');
    }
    if (!ws.size) waiters.delete(c.id);
  };

  const stopC = (c: SimContainer, signal: 'stop' | 'kill'): boolean => {
    if (!running(c)) return false;
    if (signal === 'kill') containerEvent(c, 'kill', { signal: '9' });
    c.state = 'exited';
    c.exitCode = signal === 'kill' ? 137 : 143;
    c.finishedAt = nowIso();
    c.pid = 0;
    c.summary = undefined;
    containerEvent(c, 'die', { exitCode: String(c.exitCode) });
    wake(c, false);
    writeEvent({
      Type: 'network', Action: 'disconnect',
      Actor: { ID: bridgeId, Attributes: { container: c.id, name: 'bridge', type: 'bridge' } }, scope: 'local',
    });
    if (signal === 'stop') containerEvent(c, 'stop');
    return true;
  };

  // ---- initial containers -------------------------------------------------

  const n = opts.containers ?? 0;
  // Creation times spread over weeks, as on a long-lived engine (few ties in a cluster-wide sort).
  let created = Math.floor(Date.now() / 1000) - 30 * 86_400 + Math.floor(Math.random() * 20 * 86_400);
  for (let i = 0; i < n; i++) {
    created += 1 + Math.floor(Math.random() * 600);
    const t0 = created - i;
    const web = i % 3 === 0;
    const body: any = web
      ? {
        Image: 'nginx:1.25', Labels: { 'com.example.app': 'web', 'com.example.tier': 'frontend', 'com.example.replica': String(i) },
        HostConfig: { PortBindings: { '80/tcp': [{ HostPort: String(8000 + i) }] }, Memory: 256 * 1024 ** 2, NanoCpus: 250_000_000, NetworkMode: 'default' },
      }
      : i % 3 === 1
        ? { Image: 'redis:7', Labels: { 'com.example.app': 'cache', 'com.example.replica': String(i) }, Volumes: { '/data': {} }, HostConfig: { Memory: 128 * 1024 ** 2, NetworkMode: 'default' } }
        : { Image: 'busybox', Cmd: ['sh', '-c', 'while true; do date; sleep 5; done'], Labels: { 'com.example.app': 'job' }, HostConfig: { NetworkMode: 'default' } };
    if (opts.containerLabels) body.Labels = { ...body.Labels, ...opts.containerLabels(i) };
    const c = newContainer(`${name}-c${i}`, body, t0 + i);
    add(c);
    if (i % 3 !== 2) {
      c.state = 'running';
      c.pid = pidSeq++;
      c.startedAt = new Date((t0 + i + 1) * 1000).toISOString();
    } else {
      c.state = 'exited';
      c.startedAt = new Date((t0 + i + 1) * 1000).toISOString();
      c.finishedAt = new Date((t0 + i + 60) * 1000).toISOString();
    }
  }

  // ---- HTTP -----------------------------------------------------------------

  const find = (ref: string): SimContainer | undefined => {
    const direct = containers.get(ref);
    if (direct) return direct;
    const byN = byName.get(ref.replace(/^\//, ''));
    if (byN) return containers.get(byN);
    if (/^[0-9a-f]+$/.test(ref)) {
      let hit: SimContainer | undefined;
      for (const [cid, c] of containers) {
        if (cid.startsWith(ref)) {
          if (hit) return undefined;
          hit = c;
        }
      }
      return hit;
    }
    return undefined;
  };

  const infoOf = (): any => {
    let runningN = 0, paused = 0, stopped = 0;
    for (const c of containers.values()) {
      if (c.state === 'running') runningN++; else if (c.state === 'paused') paused++; else stopped++;
    }
    return {
      ID: id, Containers: containers.size, ContainersRunning: runningN, ContainersPaused: paused, ContainersStopped: stopped,
      Images: IMAGES.length, Driver: 'overlay2',
      DriverStatus: [['Backing Filesystem', 'extfs'], ['Supports d_type', 'true'], ['Native Overlay Diff', 'true'], ['userxattr', 'false']],
      Plugins: { Volume: ['local'], Network: ['bridge', 'host', 'ipvlan', 'macvlan', 'null', 'overlay'], Authorization: null, Log: ['awslogs', 'fluentd', 'gcplogs', 'gelf', 'journald', 'json-file', 'local', 'logentries', 'splunk', 'syslog'] },
      MemoryLimit: true, SwapLimit: false, KernelMemory: true, KernelMemoryTCP: true, CpuCfsPeriod: true, CpuCfsQuota: true,
      CPUShares: true, CPUSet: true, PidsLimit: true, IPv4Forwarding: true, BridgeNfIptables: true, BridgeNfIp6tables: true,
      Debug: false, NFd: 24 + streams.size, OomKillDisable: true, NGoroutines: 34 + streams.size,
      SystemTime: new Date().toISOString(), LoggingDriver: 'json-file', CgroupDriver: 'cgroupfs', CgroupVersion: '1',
      NEventsListener: streams.size, KernelVersion: '5.15.0-91-generic', OperatingSystem: 'Ubuntu 22.04.3 LTS', OSVersion: '22.04',
      OSType: 'linux', Architecture: 'x86_64', IndexServerAddress: 'https://index.docker.io/v1/',
      RegistryConfig: { AllowNondistributableArtifactsCIDRs: [], AllowNondistributableArtifactsHostnames: [], InsecureRegistryCIDRs: ['127.0.0.0/8'], IndexConfigs: { 'docker.io': { Name: 'docker.io', Mirrors: [], Secure: true, Official: true } }, Mirrors: [] },
      NCPU: ncpu, MemTotal: memTotal, GenericResources: null, DockerRootDir: '/var/lib/docker', HttpProxy: '', HttpsProxy: '', NoProxy: '',
      Name: name, Labels: Object.entries(labels).map(([k, v]) => `${k}=${v}`), ExperimentalBuild: false, ServerVersion: ENGINE_VERSION,
      Runtimes: { 'io.containerd.runc.v2': { path: 'runc' }, 'io.containerd.runtime.v1.linux': { path: 'runc' }, runc: { path: 'runc' } },
      DefaultRuntime: 'runc',
      Swarm: { NodeID: '', NodeAddr: '', LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null },
      LiveRestoreEnabled: false, Isolation: '', InitBinary: 'docker-init',
      ContainerdCommit: { ID: '1e1ea6e986c6c86565bc33d52e34b81b3e2bc71f', Expected: '1e1ea6e986c6c86565bc33d52e34b81b3e2bc71f' },
      RuncCommit: { ID: 'v1.1.7-0-g860f061', Expected: 'v1.1.7-0-g860f061' }, InitCommit: { ID: 'de40ad0', Expected: 'de40ad0' },
      SecurityOptions: ['name=apparmor', 'name=seccomp,profile=default'], Warnings: null,
    };
  };

  const versionJson = JSON.stringify({
    Platform: { Name: 'Docker Engine - Community' },
    Components: [
      { Name: 'Engine', Version: ENGINE_VERSION, Details: { ApiVersion: API_VERSION, Arch: 'amd64', BuildTime: '2023-04-14T10:32:03.000000000+00:00', Experimental: 'false', GitCommit: '5d6db84', GoVersion: 'go1.19.7', KernelVersion: '5.15.0-91-generic', MinAPIVersion: MIN_API_VERSION, Os: 'linux' } },
      { Name: 'containerd', Version: '1.6.20', Details: { GitCommit: '2806fc1057397dbaeefbea0e4e17bddfbd388f38' } },
      { Name: 'runc', Version: '1.1.7', Details: { GitCommit: 'v1.1.7-0-g860f061' } },
    ],
    Version: ENGINE_VERSION, ApiVersion: API_VERSION, MinAPIVersion: MIN_API_VERSION, GitCommit: '5d6db84', GoVersion: 'go1.19.7',
    Os: 'linux', Arch: 'amd64', KernelVersion: '5.15.0-91-generic', BuildTime: '2023-04-14T10:32:03.000000000+00:00',
  });

  const imagesJson = JSON.stringify(IMAGES.map((i) => ({
    Containers: -1, Created: i.created, Id: i.id, Labels: null, ParentId: '', RepoDigests: [i.digest], RepoTags: [i.repo],
    SharedSize: -1, Size: i.size, VirtualSize: i.size,
  })));

  const networksJson = JSON.stringify([
    { Name: 'bridge', Id: bridgeId, Created: '2024-01-01T00:00:00.000000000Z', Scope: 'local', Driver: 'bridge', EnableIPv6: false, IPAM: { Driver: 'default', Options: null, Config: [{ Subnet: '172.17.0.0/16', Gateway: '172.17.0.1' }] }, Internal: false, Attachable: false, Ingress: false, ConfigFrom: { Network: '' }, ConfigOnly: false, Containers: {}, Options: { 'com.docker.network.bridge.default_bridge': 'true', 'com.docker.network.bridge.enable_icc': 'true', 'com.docker.network.bridge.enable_ip_masquerade': 'true', 'com.docker.network.bridge.host_binding_ipv4': '0.0.0.0', 'com.docker.network.bridge.name': 'docker0', 'com.docker.network.driver.mtu': '1500' }, Labels: {} },
    { Name: 'host', Id: hex(32, 101), Created: '2024-01-01T00:00:00.000000000Z', Scope: 'local', Driver: 'host', EnableIPv6: false, IPAM: { Driver: 'default', Options: null, Config: [] }, Internal: false, Attachable: false, Ingress: false, ConfigFrom: { Network: '' }, ConfigOnly: false, Containers: {}, Options: {}, Labels: {} },
    { Name: 'none', Id: hex(32, 102), Created: '2024-01-01T00:00:00.000000000Z', Scope: 'local', Driver: 'null', EnableIPv6: false, IPAM: { Driver: 'default', Options: null, Config: [] }, Internal: false, Attachable: false, Ingress: false, ConfigFrom: { Network: '' }, ConfigOnly: false, Containers: {}, Options: {}, Labels: {} },
  ]);

  const volumesJson = (): string => JSON.stringify({
    Volumes: [...containers.values()].filter((c) => c.volume).map((c) => ({
      CreatedAt: new Date(c.created * 1000).toISOString(), Driver: 'local', Labels: null,
      Mountpoint: `/var/lib/docker/volumes/${c.volume}/_data`, Name: c.volume, Options: null, Scope: 'local',
    })),
    Warnings: null,
  });

  const send = (res: http.ServerResponse, status: number, body?: string, type = 'application/json'): void => {
    res.statusCode = status;
    res.setHeader('Api-Version', API_VERSION);
    res.setHeader('Docker-Experimental', 'false');
    res.setHeader('Ostype', 'linux');
    res.setHeader('Server', `Docker/${ENGINE_VERSION} (linux)`);
    if (body === undefined) { res.end(); return; }
    res.setHeader('Content-Type', type);
    res.setHeader('Content-Length', Buffer.byteLength(body));
    res.end(body);
  };
  const sendError = (res: http.ServerResponse, status: number, message: string): void => send(res, status, JSON.stringify({ message }) + '\n');

  const readJson = (req: http.IncomingMessage): Promise<any> => new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      try { resolve(text ? JSON.parse(text) : {}); } catch (e) { reject(e); }
    });
    req.on('error', reject);
  });

  const listContainers = (q: URLSearchParams, res: http.ServerResponse): void => {
    const all = q.get('all') === '1' || q.get('all') === 'true';
    let f: Record<string, unknown> = {};
    try { f = q.get('filters') ? JSON.parse(q.get('filters')!) : {}; } catch { sendError(res, 400, 'invalid filter'); return; }
    // Docker accepts {"id":["a"]} and the old {"id":{"a":true}}.
    const vals = (k: string): string[] | undefined => {
      const v = f[k];
      if (!v) return undefined;
      const arr = Array.isArray(v) ? v.map(String) : Object.keys(v as object);
      return arr.length ? arr : undefined;
    };
    const ids = vals('id');
    const names = vals('name');
    const status = vals('status');
    const label = vals('label');
    const showAll = all || !!status;
    const out: string[] = [];
    const consider = (c: SimContainer): void => {
      if (!showAll && c.state !== 'running' && c.state !== 'paused') return;
      if (names && !names.some((nm) => c.name.includes(nm.replace(/^\//, '')))) return;
      if (status && !status.includes(c.state)) return;
      if (label && !label.every((l) => {
        const i = l.indexOf('=');
        return i < 0 ? l in c.labels : c.labels[l.slice(0, i)] === l.slice(i + 1);
      })) return;
      out.push(summaryJson(c));
    };
    if (ids) {
      const seen = new Set<string>();
      for (const idv of ids) {
        const exact = containers.get(idv);
        const hits = exact ? [exact] : [...containers.values()].filter((c) => c.id.startsWith(idv));
        for (const c of hits) if (!seen.has(c.id)) { seen.add(c.id); consider(c); }
      }
    } else {
      for (const c of containers.values()) consider(c);
    }
    out.reverse(); // newest first, as the engine sends them
    const limit = parseInt(q.get('limit') ?? '-1', 10);
    const items = limit > 0 ? out.slice(0, limit) : out;
    send(res, 200, `[${items.join(',')}]\n`);
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const url = req.url ?? '/';
    const qi = url.indexOf('?');
    let path = qi >= 0 ? url.slice(0, qi) : url;
    const q = new URLSearchParams(qi >= 0 ? url.slice(qi + 1) : '');
    const vm = /^\/v\d+\.\d+(?=\/)/.exec(path);
    if (vm) path = path.slice(vm[0].length);
    const method = req.method ?? 'GET';
    const seg = path.split('/');
    // seg: ['', 'containers', id, action]
    const kind = seg[1] === 'containers' && seg.length > 2 && seg[2] !== 'json' && seg[2] !== 'create'
      ? `${method} /containers/{id}${seg.length > 3 ? '/' + seg.slice(3).join('/') : ''}`
      : `${method} ${path}`;
    counts.set(kind, (counts.get(kind) ?? 0) + 1);

    if (path === '/_ping' && (method === 'GET' || method === 'HEAD')) {
      res.setHeader('Cache-Control', 'no-cache, no-store, must-revalidate');
      res.setHeader('Pragma', 'no-cache');
      if (method === 'HEAD') { res.setHeader('Content-Length', '0'); send(res, 200); return; }
      send(res, 200, 'OK', 'text/plain; charset=utf-8');
      return;
    }
    if (method === 'GET') {
      switch (path) {
        case '/version': send(res, 200, versionJson + '\n'); return;
        case '/info': send(res, 200, JSON.stringify(infoOf()) + '\n'); return;
        case '/containers/json':
          if (opts.listDelayMs) await delay(opts.listDelayMs);
          if (opts.listMissesNewOnce) {
            let ids: unknown;
            try { ids = JSON.parse(q.get('filters') ?? '{}').id; } catch { ids = undefined; }
            if (Array.isArray(ids) && ids.length === 1 && !missedOnce.has(ids[0])) { missedOnce.add(ids[0]); send(res, 200, '[]\n'); return; }
          }
          listContainers(q, res);
          return;
        case '/images/json': send(res, 200, imagesJson + '\n'); return;
        case '/networks': send(res, 200, networksJson + '\n'); return;
        case '/volumes': send(res, 200, volumesJson() + '\n'); return;
        case '/events': {
          res.statusCode = 200;
          res.setHeader('Api-Version', API_VERSION);
          res.setHeader('Content-Type', 'application/json');
          res.setHeader('Server', `Docker/${ENGINE_VERSION} (linux)`);
          res.flushHeaders();
          const sinceQ = q.get('since');
          if (sinceQ) {
            const [s, frac = ''] = sinceQ.split('.');
            const from = BigInt(s) * 1_000_000_000n + BigInt(frac.padEnd(9, '0').slice(0, 9) || '0');
            for (const r of recent) if (r.nano > from) res.write(r.line);
          }
          streams.add(res);
          const drop = (): void => { streams.delete(res); };
          res.on('close', drop);
          req.on('close', drop);
          return;
        }
        default:
      }
    }
    if (seg[1] === 'containers' && path === '/containers/create' && method === 'POST') {
      let body: any;
      try { body = await readJson(req); } catch (e) { sendError(res, 400, `invalid character in JSON: ${(e as Error).message}`); return; }
      if (!body || typeof body.Image !== 'string' || !body.Image) { sendError(res, 400, 'No command specified'); return; }
      if (opts.failCreates) { sendError(res, opts.failCreates, `simulated failure on ${name}`); return; }
      const cname = q.get('name')?.replace(/^\//, '');
      if (cname && byName.has(cname)) {
        sendError(res, 409, `Conflict. The container name "/${cname}" is already in use by container "${byName.get(cname)}". You have to remove (or rename) that container to be able to reuse that name.`);
        return;
      }
      const c = newContainer(cname ?? '', body, Math.floor(Date.now() / 1000));
      if (!cname) c.name = `sim_${c.id.slice(0, 8)}`;
      add(c);
      containerEvent(c, 'create');
      send(res, 201, JSON.stringify({ Id: c.id, Warnings: [] }) + '\n');
      return;
    }
    if (seg[1] === 'containers' && seg.length >= 3) {
      const ref = decodeURIComponent(seg[2]);
      const action = seg.slice(3).join('/');
      const c = find(ref);
      if (!c) { sendError(res, 404, `No such container: ${ref}`); return; }
      if (method === 'GET' && action === 'json') {
        if (opts.inspectDelayMs) await delay(opts.inspectDelayMs);
        const data = inspectOf(c);
        if (q.get('size') === '1' || q.get('size') === 'true') { data.SizeRw = 0; data.SizeRootFs = 4_261_550; }
        send(res, 200, JSON.stringify(data) + '\n');
        return;
      }
      if (method === 'POST' && action === 'wait') {
        // As dockerd: condition not-running (default) answers at once for a stopped container;
        // next-exit and removed hold the request (the CLI's `run -d` sends one and hangs up after start).
        const cond = q.get('condition') ?? 'not-running';
        if (cond === 'not-running' && !running(c)) { send(res, 200, JSON.stringify({ Error: null, StatusCode: c.exitCode }) + '\n'); return; }
        // dockerd sends the headers at once, the body at the exit.
        res.statusCode = 200;
        res.setHeader('Api-Version', API_VERSION);
        res.setHeader('Content-Type', 'application/json');
        res.setHeader('Server', `Docker/${ENGINE_VERSION} (linux)`);
        res.flushHeaders();
        const w = { res, removed: cond === 'removed' };
        let ws = waiters.get(c.id);
        if (!ws) waiters.set(c.id, (ws = new Set()));
        ws.add(w);
        res.on('close', () => { ws!.delete(w); if (!ws!.size && waiters.get(c.id) === ws) waiters.delete(c.id); });
        return;
      }
      if (method === 'POST' && action === 'start') { send(res, start(c) ? 204 : 304); return; }
      if (method === 'POST' && (action === 'stop' || action === 'kill')) {
        if (!stopC(c, action) && action === 'kill') { sendError(res, 409, `Container ${c.id} is not running`); return; }
        send(res, 204);
        return;
      }
      if (method === 'POST' && action === 'rename') {
        const to = (q.get('name') ?? '').replace(/^\//, '');
        if (!to) { sendError(res, 400, 'Neither old nor new names may be empty'); return; }
        if (byName.has(to) && byName.get(to) !== c.id) { sendError(res, 409, `Conflict. The container name "/${to}" is already in use by container "${byName.get(to)}". You have to remove (or rename) that container to be able to reuse that name.`); return; }
        if (byName.get(c.name) === c.id) byName.delete(c.name);
        c.name = to;
        c.summary = undefined;
        byName.set(to, c.id);
        containerEvent(c, 'rename');
        send(res, 204);
        return;
      }
      if (method === 'POST' && action === 'restart') { stopC(c, 'stop'); start(c); containerEvent(c, 'restart'); send(res, 204); return; }
      if (method === 'DELETE' && action === '') {
        const force = q.get('force') === '1' || q.get('force') === 'true';
        if (running(c) && !force) {
          sendError(res, 409, `You cannot remove a running container ${c.id}. Stop the container before attempting removal or force remove`);
          return;
        }
        if (running(c)) stopC(c, 'kill');
        containers.delete(c.id);
        if (byName.get(c.name) === c.id) byName.delete(c.name);
        containerEvent(c, 'destroy');
        wake(c, true);
        send(res, 204);
        return;
      }
    }
    sendError(res, 404, 'page not found');
  };

  // Like dockerd (Go net/http, no IdleTimeout): idle keep-alive connections
  // stay open and no `Keep-Alive: timeout=` hint is sent, so the client's own
  // idle timeout decides when pooled sockets close.
  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    handle(req, res).catch((err) => { if (!res.headersSent) sendError(res, 500, (err as Error).message); else res.destroy(); });
  };
  const server: http.Server = opts.tls ? tlsServer(opts.tls, onRequest) : http.createServer({ keepAliveTimeout: 0 }, onRequest);
  server.on('clientError', (_e, sock) => sock.destroy());
  // Dials the manager made, counted with the calls (what a create+start pair costs in connects).
  server.on(opts.tls ? 'secureConnection' : 'connection', () => counts.set('(connections)', (counts.get('(connections)') ?? 0) + 1));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => { server.off('error', reject); resolve(); });
  });

  const bound = (server.address() as { port: number }).port;
  return {
    name, id, port: bound, addr: `${host}:${bound}`, counts,
    ids: () => [...containers.keys()],
    state: (cid) => containers.get(cid)?.state,
    startContainer: (cid) => { const c = containers.get(cid); return !!c && start(c); },
    stopContainer: (cid) => { const c = containers.get(cid); return !!c && stopC(c, 'stop'); },
    emit: writeEvent,
    listeners: () => streams.size,
    async stop() {
      for (const s of streams) s.end();
      streams.clear();
      await new Promise<void>((resolve) => { server.close(() => resolve()); server.closeAllConnections(); });
    },
  };
}

/** Go's net/http's answer to plain HTTP on its TLS port, byte for byte. */
const GO_PLAIN_ON_TLS = 'HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n';

/** An HTTPS engine: dockerd's TLS behaviour, handshake failures included. */
function tlsServer(t: SimulatorTls, onRequest: http.RequestListener): http.Server {
  const verify = !!(t.ca && t.requestCert);
  const server = https.createServer({
    keepAliveTimeout: 0, cert: t.cert, key: t.key, ca: t.ca, minVersion: 'TLSv1.2',
    requestCert: verify, rejectUnauthorized: verify,
  }, onRequest);
  server.on('tlsClientError', (err: NodeJS.ErrnoException, sock: tls.TLSSocket) => {
    // Go answers plain HTTP in plain text before closing. The raw TCP socket
    // under the TLS one is Node's internal _parent (Node 20); without it, just close.
    const raw = (sock as unknown as { _parent?: net.Socket })._parent;
    if (err.code === 'ERR_SSL_HTTP_REQUEST' && raw && !raw.destroyed) raw.write(GO_PLAIN_ON_TLS, () => raw.destroy());
    else sock.destroy();
  });
  return server as unknown as http.Server;
}

/** Start count simulators on consecutive ports (a busy one: any free port), named <prefix><first + i>; stops them all if one fails. */
export async function startSimulators(count: number, basePort: number, opts: Omit<SimulatorOptions, 'port' | 'name'> & { prefix?: string; first?: number } = {}): Promise<Simulator[]> {
  const sims: Simulator[] = [];
  try {
    // Batches keep the listen backlog and the FD burst moderate.
    for (let i = 0; i < count; i += 100) {
      const batch = [];
      for (let j = i; j < Math.min(count, i + 100); j++) {
        const o = { ...opts, port: basePort + j, name: `${opts.prefix ?? 'sim-'}${(opts.first ?? 0) + j}` };
        // A port taken by someone else's process: any free port instead (callers read .addr).
        batch.push(startSimulator(o).catch((e: NodeJS.ErrnoException) => {
          if (e.code !== 'EADDRINUSE') throw e;
          return startSimulator({ ...o, port: 0 });
        }).then((s) => { sims[j] = s; }));
      }
      await Promise.all(batch);
    }
  } catch (err) {
    await Promise.all(sims.filter(Boolean).map((s) => s.stop()));
    throw err;
  }
  return sims;
}
