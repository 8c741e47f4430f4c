// The part of node-zookeeper-client (1.1.x, no bundled types, no @types
// package) that ./zk.ts and its tests use.
declare module 'node-zookeeper-client' {
  import { EventEmitter } from 'node:events';
  import type { Socket } from 'node:net';

  export class State {
    readonly name: string;
    readonly code: number;
    getName(): string;
    getCode(): number;
    static readonly DISCONNECTED: State;
    static readonly SYNC_CONNECTED: State;
    static readonly AUTH_FAILED: State;
    static readonly CONNECTED_READ_ONLY: State;
    static readonly SASL_AUTHENTICATED: State;
    static readonly EXPIRED: State;
  }

  export class Event {
    getType(): number;
    getName(): string;
    getPath(): string;
    static readonly NODE_CREATED: number;
    static readonly NODE_DELETED: number;
    static readonly NODE_DATA_CHANGED: number;
    static readonly NODE_CHILDREN_CHANGED: number;
  }

  export class Exception extends Error {
    readonly code: number;
    getCode(): number;
    getName(): string;
    getPath(): string | undefined;
    static readonly OK: number;
    static readonly CONNECTION_LOSS: number;
    static readonly OPERATION_TIMEOUT: number;
    static readonly NO_NODE: number;
    static readonly NO_AUTH: number;
    static readonly BAD_VERSION: number;
    static readonly NO_CHILDREN_FOR_EPHEMERALS: number;
    static readonly NODE_EXISTS: number;
    static readonly NOT_EMPTY: number;
    static readonly SESSION_EXPIRED: number;
    static readonly INVALID_ACL: number;
    static readonly AUTH_FAILED: number;
  }

  export interface Stat {
    version: number;
    /** The owning session's id (8 bytes), all zero for a persistent node. */
    ephemeralOwner: Buffer;
    dataLength: number;
    numChildren: number;
  }

  export class Id {
    constructor(scheme: string, id: string);
    static readonly ANYONE_ID_UNSAFE: Id;
    static readonly AUTH_IDS: Id;
  }

  export class ACL {
    constructor(permission: number, id: Id);
    static readonly OPEN_ACL_UNSAFE: ACL[];
    static readonly CREATOR_ALL_ACL: ACL[];
    static readonly READ_ACL_UNSAFE: ACL[];
  }

  export const CreateMode: {
    readonly PERSISTENT: number;
    readonly PERSISTENT_SEQUENTIAL: number;
    readonly EPHEMERAL: number;
    readonly EPHEMERAL_SEQUENTIAL: number;
  };

  export type Watcher = (event: Event) => void;

  export interface ClientOptions {
    sessionTimeout?: number;
    spinDelay?: number;
    retries?: number;
  }

  export class Client extends EventEmitter {
    connect(): void;
    close(): void;
    getState(): State;
    getSessionId(): Buffer;
    getSessionTimeout(): number;
    addAuthInfo(scheme: string, auth: Buffer): void;
    create(path: string, data: Buffer | null, acls: ACL[], mode: number, cb: (err: Exception | Error | null, path: string) => void): void;
    mkdirp(path: string, cb: (err: Exception | Error | null, path: string) => void): void;
    remove(path: string, version: number, cb: (err: Exception | Error | null) => void): void;
    exists(path: string, watcher: Watcher | undefined, cb: (err: Exception | Error | null, stat: Stat | null) => void): void;
    getChildren(path: string, watcher: Watcher | undefined, cb: (err: Exception | Error | null, children: string[], stat: Stat) => void): void;
    getData(path: string, watcher: Watcher | undefined, cb: (err: Exception | Error | null, data: Buffer | null, stat: Stat) => void): void;
    /** Internal: ./zk.ts reaches the socket to drop a connection that stopped answering. */
    readonly connectionManager: { socket?: Socket; state: number; connect(): void };
  }

  export function createClient(connectionString: string, options?: ClientOptions): Client;
}
