// Child process hosting many engine simulators (forked by bench/lib.ts
// startSimHost). Commands arrive over IPC; it exits when its parent goes.
import { startSimulators, type Simulator } from './simulator.js';

let sims: Simulator[] = [];

async function handle(m: any): Promise<Record<string, unknown>> {
  switch (m.cmd) {
    case 'start': {
      sims = await startSimulators(m.count, m.basePort, { containers: m.containers, prefix: m.prefix ?? 'sim-', labels: { zone: 'z' } });
      return { engines: sims.map((s) => ({ name: s.name, addr: s.addr, id: s.id, ids: s.ids() })) };
    }
    case 'burst': {
      const started: string[] = [];
      for (const s of sims.slice(0, m.count)) {
        const id = s.ids().find((cid) => s.state(cid) !== 'running' && s.state(cid) !== 'paused');
        if (id && s.startContainer(id)) started.push(id);
      }
      return { started };
    }
    case 'counts': {
      const counts: Record<string, number> = {};
      for (const s of sims) for (const [k, v] of s.counts) counts[k] = (counts[k] ?? 0) + v;
      return { counts };
    }
    case 'stop':
      await Promise.all(sims.map((s) => s.stop()));
      sims = [];
      setImmediate(() => process.exit(0));
      return {};
    default:
      throw new Error(`unknown command ${m.cmd}`);
  }
}

process.on('message', (m: any) => {
  handle(m).then((r) => process.send?.({ id: m.id, ...r }), (err: Error) => process.send?.({ id: m.id, error: err.message }));
});
process.on('disconnect', () => process.exit(0));
