// One engine's images, networks and volumes as the manager caches them:
// whole lists, reloaded (coalesced) when an event says one changed.
import type { NodeImage, NodeNetwork } from '../scheduler/node.js';
import { coalesce } from '../util/mutex.js';

type Json = (method: string, path: string) => Promise<any>;

export class ResourceCache {
  images: any[] = [];
  nodeImages: NodeImage[] = [];
  networks: any[] = [];
  nodeNetworks: NodeNetwork[] = [];
  volumes: any[] = [];
  readonly refreshImages: () => Promise<void>;
  readonly refreshNetworks: () => Promise<void>;
  readonly refreshVolumes: () => Promise<void>;

  /** `changed`: the image or network list is a new one (placement's snapshot shows both). */
  constructor(json: Json, changed: () => void = () => undefined) {
    this.refreshImages = coalesce(async () => {
      const imgs: any[] = await json('GET', '/images/json?all=0');
      this.images = imgs;
      this.nodeImages = imgs.map((i) => ({ id: i.Id, repoTags: i.RepoTags ?? [], repoDigests: i.RepoDigests ?? [] }));
      changed();
    });
    this.refreshNetworks = coalesce(async () => {
      const nets: any[] = await json('GET', '/networks');
      this.networks = nets;
      this.nodeNetworks = nets.map((n) => ({ id: String(n.Id ?? ''), name: String(n.Name ?? ''), scope: String(n.Scope ?? '') }));
      changed();
    });
    this.refreshVolumes = coalesce(async () => { this.volumes = (await json('GET', '/volumes')).Volumes ?? []; });
  }

  /** One after the other, on one connection (see Engine.load). */
  async loadAll(): Promise<void> {
    await this.refreshImages();
    await this.refreshNetworks();
    await this.refreshVolumes();
  }
}
