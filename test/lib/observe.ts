// What tests read off a running manager: its TCP connections and `docker info` lines.
import { execFile } from 'node:child_process';

/** Established TCP connections owned by `pid` to 127.0.0.1:`port`. */
export function connectionsTo(port: number, pid: number): Promise<number> {
  return new Promise((resolve, reject) => {
    execFile('ss', ['-tnpH', 'state', 'established', `( dport = :${port} )`], (err, stdout) => {
      if (err) return reject(err);
      resolve(stdout.split('\n').filter((l) => l.includes(`pid=${pid},`)).length);
    });
  });
}

/** node-x's `└ Status` in /info's SystemStatus. */
export function nodeStatus(info: any, node: string): string | undefined {
  const st: [string, string][] = info.SystemStatus ?? [];
  const i = st.findIndex(([k]) => k.trim() === node);
  if (i < 0) return undefined;
  for (let j = i + 1; j < st.length && st[j]![0].includes('└'); j++) {
    if (st[j]![0].includes('Status')) return st[j]![1];
  }
  return undefined;
}
