import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BinpackStrategy, DEFAULT_STRATEGY, RandomStrategy, SpreadStrategy, STRATEGIES, STRATEGY_HELP, createStrategy } from '../../strategies/index.js';
import { scores, weighNodes } from '../../src/scheduler/weighted.js';
import { SchedulingError } from '../../src/errors.js';
import type { Node } from '../../src/scheduler/node.js';
import { GiB, containers, names, node, req, thrown, type ReqSpec } from './helpers.js';

describe('weighting', () => {
  const table: Array<[string, ReqSpec, Partial<Node>, { cpu: number; memory: number } | undefined]> = [
    ['no request: 100 / 100', {}, { usedCpus: 3, usedMemory: 3 * GiB }, { cpu: 100, memory: 100 }],
    ['cpu% = (used + req) * 100 / total', { cpus: 1 }, { usedCpus: 1 }, { cpu: 50, memory: 100 }],
    ['mem% the same way', { memory: GiB }, { usedMemory: 2 * GiB }, { cpu: 100, memory: 75 }],
    ['integer division like classic', { cpus: 1 }, { totalCpus: 3 }, { cpu: 33, memory: 100 }],
    ['exactly full fits', { cpus: 2, memory: 2 * GiB }, { usedCpus: 2, usedMemory: 2 * GiB }, { cpu: 100, memory: 100 }],
    ['just under 101% still fits (classic int math)', { cpus: 1 }, { usedCpus: 3.03 }, { cpu: 100, memory: 100 }],
    ['over 100% cpu is dropped', { cpus: 1 }, { usedCpus: 3.5 }, undefined],
    ['over 100% memory is dropped', { memory: 2 * GiB }, { usedMemory: 3 * GiB }, undefined],
    ['node smaller than the request is skipped', { cpus: 8 }, {}, undefined],
    ['node with less memory than the request is skipped', { memory: 8 * GiB }, {}, undefined],
    ['fractional CPUs (NanoCpus)', { cpus: 0.5 }, { totalCpus: 2, usedCpus: 0.5 }, { cpu: 50, memory: 100 }],
    ['float noise does not lose a percent', { cpus: 0.2 }, { totalCpus: 1, usedCpus: 0.1 }, { cpu: 30, memory: 100 }],
    ['overcommitted total (4 * 1.05)', { cpus: 1 }, { totalCpus: 4.2, usedCpus: 3.2 }, { cpu: 100, memory: 100 }],
  ];
  for (const [title, spec, over, want] of table) {
    it(title, () => assert.deepEqual(scores(req(spec), node('n', over)), want));
  }

  it('weight = cpu% + mem% + f * health', () => {
    const w = weighNodes(req({ cpus: 1, memory: GiB }), [node('n', { healthIndicator: 70 })], -10);
    assert.equal(w[0].weight, 25 + 25 - 700);
  });

  it('throws SchedulingError when no node has room', () => {
    const err = thrown(() => weighNodes(req({ cpus: 5 }), [node('a'), node('b')], 10));
    assert.ok(err instanceof SchedulingError);
    assert.equal(err.message, 'no resources available to schedule container');
    assert.equal(thrown(() => weighNodes(req(), [], 10)).message, 'no resources available to schedule container');
  });
});

interface Row {
  title: string;
  req?: ReqSpec;
  nodes: Node[];
  spread: string[];
  binpack: string[];
}

describe('spread and binpack', () => {
  const rows: Row[] = [
    {
      title: 'cpu load',
      req: { cpus: 1 },
      nodes: [node('busy', { usedCpus: 2 }), node('idle')],
      spread: ['idle', 'busy'],
      binpack: ['busy', 'idle'],
    },
    {
      title: 'memory load',
      req: { memory: GiB },
      nodes: [node('idle'), node('busy', { usedMemory: 2 * GiB })],
      spread: ['idle', 'busy'],
      binpack: ['busy', 'idle'],
    },
    {
      title: 'health dominates load',
      req: { cpus: 1 },
      nodes: [node('sick', { healthIndicator: 67 }), node('busy', { usedCpus: 3 })],
      spread: ['busy', 'sick'],
      binpack: ['busy', 'sick'],
    },
    {
      title: 'full nodes dropped',
      req: { cpus: 2 },
      nodes: [node('full', { usedCpus: 3 }), node('half', { usedCpus: 2 }), node('idle')],
      spread: ['idle', 'half'],
      binpack: ['half', 'idle'],
    },
    {
      title: 'no request: ties broken by container count',
      nodes: [node('two', { containers: containers(2) }), node('none'), node('one', { containers: containers(1) })],
      spread: ['none', 'one', 'two'],
      binpack: ['two', 'one', 'none'],
    },
    {
      title: 'reserved load counts, not container count, when a request is made',
      req: { memory: GiB },
      nodes: [node('many', { containers: containers(5) }), node('heavy', { usedMemory: 2 * GiB, containers: containers(1) })],
      spread: ['many', 'heavy'],
      binpack: ['heavy', 'many'],
    },
    {
      title: 'full ties broken by name ascending',
      nodes: [node('c'), node('a'), node('b')],
      spread: ['a', 'b', 'c'],
      binpack: ['a', 'b', 'c'],
    },
  ];
  for (const row of rows) {
    it(`spread: ${row.title}`, () => assert.deepEqual(names(new SpreadStrategy().rankAndSort(req(row.req), row.nodes)), row.spread));
    it(`binpack: ${row.title}`, () => assert.deepEqual(names(new BinpackStrategy().rankAndSort(req(row.req), row.nodes)), row.binpack));
  }

  it('do not mutate the input', () => {
    const nodes = [node('b', { usedCpus: 1 }), node('a')];
    new SpreadStrategy().rankAndSort(req({ cpus: 1 }), nodes);
    assert.deepEqual(names(nodes), ['b', 'a']);
  });

  for (const s of [new SpreadStrategy(), new BinpackStrategy()]) {
    it(`${s.name} throws when nothing fits`, () => {
      const err = thrown(() => s.rankAndSort(req({ memory: 16 * GiB }), [node('a')]));
      assert.ok(err instanceof SchedulingError);
      assert.equal(err.message, 'no resources available to schedule container');
      assert.equal(thrown(() => s.pick!(req({ memory: 16 * GiB }), [node('a')])).message, err.message);
    });
  }

  // pick() is rankAndSort()[0] found in one pass (what a create needs).
  const arbNodes = fc.array(fc.record({
    name: fc.constantFrom('a', 'b', 'c', 'd', 'e'), usedCpus: fc.integer({ min: 0, max: 5 }), health: fc.constantFrom(0, 50, 100),
    count: fc.integer({ min: 0, max: 3 }), memory: fc.constantFrom(0, GiB, 4 * GiB),
  }), { minLength: 1, maxLength: 12 }).map((rows) => rows.map((r) => node(r.name, {
    usedCpus: r.usedCpus, healthIndicator: r.health, containers: containers(r.count), usedMemory: r.memory,
  })));
  const arbReq = fc.record({ cpus: fc.constantFrom(0, 0.5, 1, 2), memory: fc.constantFrom(0, GiB) });
  for (const s of [new SpreadStrategy(), new BinpackStrategy()]) {
    it(`${s.name}: pick() is the first of rankAndSort(), or the same error`, () => {
      fc.assert(fc.property(arbNodes, arbReq, (nodes, spec) => {
        const r = req(spec);
        const first = (() => { try { return s.rankAndSort(r, nodes)[0]; } catch (err) { return (err as Error).message; } })();
        const picked = (() => { try { return s.pick!(r, nodes); } catch (err) { return (err as Error).message; } })();
        assert.equal(picked, first);
      }), { numRuns: 3000 });
    });
  }
});

describe('random', () => {
  it('returns only nodes with room, shuffled with the given rng', () => {
    const nodes = [node('a'), node('b'), node('full', { usedCpus: 4 }), node('c')];
    const out = new RandomStrategy(() => 0).rankAndSort(req({ cpus: 1 }), nodes);
    assert.deepEqual(names(out), ['b', 'c', 'a']);
    assert.deepEqual(names(nodes), ['a', 'b', 'full', 'c'], 'input untouched');
  });

  it('puts every eligible node first sometimes', () => {
    const firsts = new Set<string>();
    const s = new RandomStrategy();
    for (let i = 0; i < 200; i++) firsts.add(s.rankAndSort(req(), [node('a'), node('b'), node('c')])[0].name);
    assert.deepEqual([...firsts].sort(), ['a', 'b', 'c']);
  });

  it('throws when nothing fits', () => {
    const err = thrown(() => new RandomStrategy().rankAndSort(req({ cpus: 64 }), [node('a')]));
    assert.ok(err instanceof SchedulingError);
    assert.equal(err.message, 'no resources available to schedule container');
    assert.equal(thrown(() => new RandomStrategy().pick(req({ cpus: 64 }), [node('a')])).message, err.message);
  });

  it('pick(): any node with room, by the rng', () => {
    const nodes = [node('a'), node('full', { usedCpus: 4 }), node('b'), node('c')];
    assert.deepEqual([0, 0.4, 0.99].map((x) => new RandomStrategy(() => x).pick(req({ cpus: 1 }), nodes).name), ['a', 'b', 'c']);
  });
});

describe('strategy registry', () => {
  it('creates by name, with the binpacking alias', () => {
    assert.equal(DEFAULT_STRATEGY, 'spread');
    assert.deepEqual(Object.keys(STRATEGIES), ['spread', 'binpack', 'random']);
    assert.equal(createStrategy('spread').name, 'spread');
    assert.equal(createStrategy('binpack').name, 'binpack');
    assert.equal(createStrategy('binpacking').name, 'binpack');
    assert.equal(createStrategy('random').name, 'random');
  });
  it('rejects unknown names', () => {
    assert.equal(thrown(() => createStrategy('roundrobin')).message, 'unknown strategy: roundrobin');
    assert.equal(thrown(() => createStrategy('constructor')).message, 'unknown strategy: constructor');
  });
  it('supplies the --strategy help: every name with its one-line description and aliases', () => {
    for (const [name, s] of Object.entries(STRATEGIES)) {
      assert.ok(s.description && !s.description.includes('\n'), name);
      assert.match(STRATEGY_HELP, new RegExp(`^${name} +${s.description}`, 'm'));
    }
    assert.match(STRATEGY_HELP, /^binpack .*\(also: binpacking\)$/m);
  });
});
