// state.json: everything a cluster run started, so `down`, the test reaper and
// the next run (after a crash) can stop exactly that and nothing else.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MARKER } from './util.js';

export interface EngineRecord {
  index: number;
  name: string;
  slot: number;
  port: number;
  addr: string;
  /** dockerd PID (0 before it was spawned). */
  pid: number;
  dir: string;
  logFile: string;
  bridge: string;
  labels: Record<string, string>;
}

export interface ManagerRecord {
  pid: number;
  host: string;
  logFile: string;
}

/** A `swarm join` agent (token discovery). */
export interface JoinRecord {
  pid: number;
  advertise: string;
  logFile: string;
}

export interface ClusterState {
  version: 1;
  stateDir: string;
  createdAt: string;
  engines: EngineRecord[];
  manager?: ManagerRecord;
  joins?: JoinRecord[];
}

export const stateFile = (stateDir: string) => path.join(stateDir, 'state.json');

export function readState(stateDir: string): ClusterState | undefined {
  try {
    return JSON.parse(fs.readFileSync(stateFile(stateDir), 'utf8')) as ClusterState;
  } catch {
    return undefined;
  }
}

export function writeState(state: ClusterState): void {
  fs.mkdirSync(state.stateDir, { recursive: true });
  fs.writeFileSync(path.join(state.stateDir, MARKER), 'created by swarm-classic dev-cluster; safe to delete with `swarm dev-cluster down`\n');
  const tmp = `${stateFile(state.stateDir)}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(state, null, 2) + '\n');
  fs.renameSync(tmp, stateFile(state.stateDir));
}

/** Add join agents to an existing state.json. */
export function recordJoins(stateDir: string, joins: JoinRecord[]): void {
  const st = readState(stateDir);
  if (!st) throw new Error(`no state.json in ${stateDir}`);
  st.joins = [...(st.joins ?? []), ...joins];
  writeState(st);
}

/** Add or clear the manager entry of an existing state.json. */
export function recordManager(stateDir: string, manager: ManagerRecord | undefined): void {
  const st = readState(stateDir);
  if (!st) throw new Error(`no state.json in ${stateDir}`);
  if (manager) st.manager = manager;
  else delete st.manager;
  writeState(st);
}
