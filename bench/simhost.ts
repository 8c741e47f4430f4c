// Child process hosting many engine simulators (forked by bench/lib.ts
// startSimHost). Commands arrive over IPC; it exits when its parent goes.
import { startSimulators, type Simulator } from './simulator.js';

let sims: Simulator[] = [];

async function handle(m: any): Promise<Record<string, unknown>> {
  switch (m.cmd) {
    case 'start': {
      sims = await startSimulators(m.count, m.basePort, { containers: m.containers, prefix: m.prefix ?? 'sim-', first: m.first ?? 0, labels: { zone: 'z' } });
      return { engines: sims.map((s) => ({ name: s.name, addr: s.addr, id: s.id, ids: s.ids() })) };
    }
    case 'burst': {
      // `after` ms: wait here, so the burst lands at that time even while the IPC channel is backed up.
      if (m.after) await new Promise((r) => setTimeout(r, m.after));
      const before: Record<string, number> = {};
      for (const sim of sims) for (const [k, v] of sim.counts) before[k] = (before[k] ?? 0) + v;
      const started: string[] = [];
      for (const s of sims.slice(0, m.count)) {
        const id = s.ids().find((cid) => s.state(cid) !== 'running' && s.state(cid) !== 'paused');
        if (id && s.startContainer(id)) started.push(id);
      }
      return { started, before, receivedAt: m.receivedAt, firedAt: Date.now() };
    }
    case 'running': {
      let running = 0;
      for (const sim of sims) for (const id of sim.ids()) if (sim.state(id) === 'running') running++;
      return { running };
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
  m.receivedAt = Date.now();
  handle(m).then((r) => process.send?.({ id: m.id, ...r }), (err: Error) => process.send?.({ id: m.id, error: err.message }));
});
process.on('disconnect', () => process.exit(0));
