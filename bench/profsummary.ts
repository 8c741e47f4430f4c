// Top functions by self time in a V8 .cpuprofile (node --cpu-prof).
//   node dist/bench/profsummary.js FILE.cpuprofile [N]
import * as fs from 'node:fs';

interface ProfNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }

export function summarizeProfile(file: string, top = 30): string {
  const p = JSON.parse(fs.readFileSync(file, 'utf8')) as { nodes: ProfNode[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number };
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) self.set(p.samples[i], (self.get(p.samples[i]) ?? 0) + (p.timeDeltas[i] ?? 0));
  const agg = new Map<string, number>();
  let total = 0;
  for (const [id, us] of self) {
    const cf = byId.get(id)!.callFrame;
    const url = cf.url.replace(/^file:\/\//, '').replace(/^.*\/(node_modules\/)/, '$1').replace(/^.*\/dist\//, '');
    const key = `${cf.functionName || '(anonymous)'} ${url ? `${url}:${cf.lineNumber + 1}` : ''}`.trim();
    agg.set(key, (agg.get(key) ?? 0) + us);
    total += us;
  }
  const rows = [...agg].sort((a, b) => b[1] - a[1]).slice(0, top);
  const lines = [`total sampled ${(total / 1e3).toFixed(0)} ms over ${((p.endTime - p.startTime) / 1e3).toFixed(0)} ms wall`];
  for (const [k, us] of rows) lines.push(`${(us / 1e3).toFixed(0).padStart(7)} ms ${((100 * us) / total).toFixed(1).padStart(5)}%  ${k}`);
  return lines.join('\n');
}

if (require.main === module) {
  const f = process.argv[2];
  if (!f) { process.stderr.write('usage: profsummary.js FILE.cpuprofile [N]\n'); process.exit(2); }
  process.stdout.write(summarizeProfile(f, Number(process.argv[3] ?? 30)) + '\n');
}

interface HeapNode { callFrame: { functionName: string; url: string; lineNumber: number }; selfSize: number; children?: HeapNode[] }

/**
 * A sampling heap profile (.heapprofile) by allocation site: the frame that
 * allocated, and the first frame of the project's own code above it (which
 * call of ours a library's allocation served). `per` divides the sizes (e.g.
 * by the requests of the window).
 */
export function summarizeHeapProfile(file: string, top = 25, per = 1): string {
  const p = JSON.parse(fs.readFileSync(file, 'utf8')) as { head: HeapNode };
  const site = new Map<string, number>();
  const ours = new Map<string, number>();
  let total = 0;
  const frame = (n: HeapNode): string => {
    const cf = n.callFrame;
    const url = cf.url.replace(/^file:\/\//, '').replace(/^.*\/(node_modules\/)/, '$1').replace(/^.*\/dist\//, '');
    return `${cf.functionName || '(anonymous)'} ${url ? `${url}:${cf.lineNumber + 1}` : ''}`.trim();
  };
  const walk = (n: HeapNode, owner: string): void => {
    const f = frame(n);
    const own = n.callFrame.url.includes('/dist/src/') ? f : owner;
    if (n.selfSize) {
      total += n.selfSize;
      site.set(f, (site.get(f) ?? 0) + n.selfSize);
      ours.set(own, (ours.get(own) ?? 0) + n.selfSize);
    }
    for (const c of n.children ?? []) walk(c, own);
  };
  walk(p.head, '(no frame of ours)');
  const kb = (b: number): string => `${(b / per / 1024).toFixed(1).padStart(8)} KB`;
  const rows = (m: Map<string, number>): string[] => [...m].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, b]) => `${kb(b)} ${((100 * b) / total).toFixed(1).padStart(5)}%  ${k}`);
  return [`sampled ${kb(total)}${per !== 1 ? ` (÷ ${per})` : ''}`, 'by allocating frame:', ...rows(site), 'by the nearest frame of our code:', ...rows(ours)].join('\n');
}
