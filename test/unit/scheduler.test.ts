import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Scheduler, conditionsMessage } from '../../src/scheduler/scheduler.js';
import { DEFAULT_FILTERS, createFilters } from '../../filters/index.js';
import { createStrategy } from '../../strategies/index.js';
import { FilterError, type Filter } from '../../src/scheduler/filter.js';
import type { Strategy } from '../../src/scheduler/strategy.js';
import { SchedulingError } from '../../src/errors.js';
import type { Node } from '../../src/scheduler/node.js';
import { perList } from '../../src/scheduler/perlist.js';
import { GiB, container, containers, names, node, port, req, thrown, type ReqSpec } from './helpers.js';

const PREFIX = 'Unable to find a node that satisfies the following conditions';

function scheduler(strategy = 'spread'): Scheduler {
  return new Scheduler(createFilters(DEFAULT_FILTERS), createStrategy(strategy));
}

interface Row {
  title: string;
  req?: ReqSpec;
  nodes: Node[];
  want: string[] | { error: string };
}

describe('Scheduler.select', () => {
  const holding80 = (name: string) => node(name, { containers: [container({ ports: [port(80)] })] });
  const rows: Row[] = [
    { title: 'spread over healthy nodes', nodes: [node('b', { containers: containers(1) }), node('a'), node('down', { healthy: false })], want: ['a', 'b'] },
    { title: 'no healthy node: health message as-is', nodes: [node('a', { healthy: false })], want: { error: 'No healthy node available in the cluster' } },
    { title: 'empty cluster', nodes: [], want: { error: 'No healthy node available in the cluster' } },
    { title: 'port taken everywhere', req: { ports: [port(80)] }, nodes: [holding80('a')], want: { error: `${PREFIX} \n[port 80 (Bridge mode)]` } },
    {
      title: 'host mode port taken everywhere',
      req: { ports: [port(80)], networkMode: 'host' },
      nodes: [holding80('a')],
      want: { error: `${PREFIX} \n[port 80/tcp (Host mode)]` },
    },
    {
      title: 'no container slots',
      nodes: [node('a', { labels: { containerslots: '1' }, containers: containers(1) })],
      want: { error: `${PREFIX} \n[available container slots]` },
    },
    {
      title: 'lists every filter up to the failing one',
      req: { ports: [port(80)] },
      nodes: [node('a', { labels: { containerslots: '0' } })],
      want: { error: `${PREFIX} \n[port 80 (Bridge mode)]\n[available container slots]` },
    },
    {
      title: 'constraint failure lists affinities before it, several per filter',
      req: { affinities: ['image!=nothing'], constraints: ['storage==ssd', 'region==eu'] },
      nodes: [node('a', { labels: { storage: 'ssd' } })],
      want: { error: `${PREFIX} \n[available container slots]\n[image!=nothing (soft=false)]\n[storage==ssd region==eu]` },
    },
    {
      title: 'dependency failure',
      req: { dependencies: { volumesFrom: ['data'], links: [], namespaces: [] } },
      nodes: [node('a')],
      want: { error: `${PREFIX} \n[available container slots]\n[--volumes-from=data]` },
    },
    {
      title: 'whitelist failure',
      req: { whitelists: ['node==zzz'] },
      nodes: [node('a')],
      want: { error: `${PREFIX} \n[available container slots]\n[node==zzz (soft=false)]` },
    },
    { title: 'strategy failure', req: { memory: 64 * GiB }, nodes: [node('a')], want: { error: 'no resources available to schedule container' } },
    { title: 'soft constraint honoured when possible', req: { constraints: ['node==~b'] }, nodes: [node('a'), node('b')], want: ['b'] },
    { title: 'soft constraint dropped when impossible', req: { constraints: ['node==~gone'] }, nodes: [node('b'), node('a')], want: ['a', 'b'] },
    {
      title: 'soft dropped, hard kept',
      req: { constraints: ['node==~gone', 'storage==ssd'] },
      nodes: [node('a'), node('b', { labels: { storage: 'ssd' } })],
      want: ['b'],
    },
    {
      title: 'soft affinity dropped when it exhausts resources',
      req: { affinities: ['container==~web'], cpus: 2 },
      nodes: [node('a', { usedCpus: 3, containers: [container({ names: ['web'] })] }), node('b')],
      want: ['b'],
    },
    {
      title: 'hard failure after dropping soft rules reports the hard pass',
      req: { constraints: ['node==~a', 'storage==ssd'] },
      nodes: [node('a')],
      want: { error: `${PREFIX} \n[available container slots]\n[node==a storage==ssd]` },
    },
  ];
  for (const row of rows) {
    it(row.title, () => {
      const s = scheduler();
      if (Array.isArray(row.want)) {
        assert.deepEqual(names(s.select(req(row.req), row.nodes)), row.want);
      } else {
        const err = thrown(() => s.select(req(row.req), row.nodes));
        assert.ok(err instanceof SchedulingError, String(err));
        assert.equal(err.statusCode, 500);
        assert.equal(err.message, row.want.error);
      }
    });
  }

  it('keeps the filter error as the cause', () => {
    const err = thrown(() => scheduler().select(req({ constraints: ['storage==ssd'] }), [node('a')]));
    assert.equal((err.cause as Error).message, 'unable to find a node that satisfies the constraint storage==ssd');
  });

  it('retries only when the request has soft rules', () => {
    let calls = 0;
    const counting: Filter = {
      name: 'counting',
      filter: () => {
        calls++;
        throw new Error('no');
      },
      describe: () => ['counting'],
    };
    const s = new Scheduler([counting], createStrategy('spread'));
    assert.equal(thrown(() => s.select(req(), [node('a')])).message, `${PREFIX} \n[counting]`);
    assert.equal(calls, 1);
    thrown(() => s.select(req({ affinities: ['image==~x1'] }), [node('a')]));
    assert.equal(calls, 3);
  });

  it('passes soft=true then soft=false to filters', () => {
    const seen: boolean[] = [];
    const f: Filter = {
      name: 'spy',
      filter: (_r, nodes, soft) => {
        seen.push(soft);
        if (soft) throw new Error('soft fails');
        return [...nodes];
      },
      describe: () => [],
    };
    const s = new Scheduler([f], createStrategy('spread'));
    assert.deepEqual(names(s.select(req({ constraints: ['node==~a'] }), [node('a')])), ['a']);
    assert.deepEqual(seen, [true, false]);
  });

  it('shows a final FilterError as-is and does not retry without soft rules', () => {
    let calls = 0;
    const final: Filter = {
      name: 'anything',
      filter: () => {
        calls++;
        throw new FilterError('nothing can run here', { final: true });
      },
      describe: () => ['never shown'],
    };
    const s = new Scheduler([final], createStrategy('spread'));
    const err = thrown(() => s.select(req({ constraints: ['node==~a'] }), [node('a')]));
    assert.ok(err instanceof SchedulingError);
    assert.equal(err.message, 'nothing can run here');
    assert.ok(err.cause instanceof FilterError);
    assert.equal(calls, 1);
  });

  it('special-cases no filter by name: only a final FilterError is shown as-is', () => {
    const named: Filter = {
      name: 'health',
      filter: () => {
        throw new FilterError('not final');
      },
      describe: () => ['described'],
    };
    assert.equal(thrown(() => new Scheduler([named], createStrategy('spread')).select(req(), [node('a')])).message, `${PREFIX} \n[described]`);
  });

  it('the health filter fails final: no healthy node, no soft retry', () => {
    const err = thrown(() => scheduler().select(req({ affinities: ['image==~x1'] }), [node('a', { healthy: false })]));
    assert.equal(err.message, 'No healthy node available in the cluster');
    assert.ok(err.cause instanceof FilterError && err.cause.final);
  });

  it('treats a filter returning no node as a failure', () => {
    const empty: Filter = { name: 'empty', filter: () => [], describe: () => ['nothing'] };
    const s = new Scheduler([empty], createStrategy('spread'));
    assert.equal(thrown(() => s.select(req(), [node('a')])).message, `${PREFIX} \n[nothing]`);
  });

  it('maps any strategy error to the classic message', () => {
    const broken: Strategy = {
      name: 'broken',
      rankAndSort: () => {
        throw new TypeError('boom');
      },
    };
    const err = thrown(() => new Scheduler([], broken).select(req(), [node('a')]));
    assert.ok(err instanceof SchedulingError);
    assert.equal(err.message, 'no resources available to schedule container');
  });

  it('exposes its filters and strategy', () => {
    const s = scheduler('binpack');
    assert.deepEqual(s.filters.map((f) => f.name), DEFAULT_FILTERS);
    assert.equal(s.strategy.name, 'binpack');
  });

  it('does not mutate the node list', () => {
    const nodes = [node('b', { containers: containers(1) }), node('a')];
    scheduler().select(req(), nodes);
    assert.deepEqual(names(nodes), ['b', 'a']);
  });
});

describe('conditionsMessage', () => {
  it("is classic's text: the prefix, a space, and each non-empty list on a line of its own", () => {
    const f = (d: string[]): Filter => ({ name: 'x', filter: () => [], describe: () => d });
    assert.equal(conditionsMessage([f([]), f(['a', 'b']), f(['c'])], req()), `${PREFIX} \n[a b]\n[c]`);
    // Go's fmt.Sprintf("... conditions %s", "") keeps the space.
    assert.equal(conditionsMessage([], req()), `${PREFIX} `);
  });
});

it('perList: derived once per list object, anew for a new list', () => {
  let calls = 0;
  const lengthOf = perList((l: readonly number[]) => { calls++; return l.length; });
  const a = [1, 2, 3];
  assert.equal(lengthOf(a), 3);
  assert.equal(lengthOf(a), 3);
  assert.equal(calls, 1);
  assert.equal(lengthOf([1]), 1);
  assert.equal(calls, 2);
});
