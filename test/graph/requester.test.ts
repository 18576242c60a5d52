// The seed's requester API: its lifecycle, persisted ops, typed errors for every misuse, and an
// executor that frees values early and keeps the event loop turning.
import { afterEach, describe, expect, it } from 'vitest';
import * as R from '../../lib/index.js';
import { NeuralNetwork } from '../../lib/v2/index.js';
import { Dense } from '../../lib/v2/layers/index.js';
import { SGD } from '../../lib/v2/optimizers/index.js';

afterEach(() => R.flush());

const graph = (approach: 'distributed' | 'federated' = 'distributed') => new R.Graph({ name: 'g', algorithm: 'test', approach });

describe('R.Graph lifecycle', () => {
  it('records ops without computing, runs them on execute, and fetches persisted values by name', async () => {
    R.initialize('token');
    R.flush();
    graph();
    const a = R.t([[1, 2], [3, 4]], { requires_grad: true });
    const loss = R.sum(R.mul(R.matmul(a, R.t([[1, 0], [0, 1]])), 2));
    expect(loss.isSymbolic).toBe(true);
    expect(loss.shape).toEqual([]);
    loss.backward();
    loss.persist_op({ name: 'loss' });
    a.grad!.persist_op('grad');
    R.activate();
    await R.execute();
    expect(R.fetch_persisting_op({ op_name: 'loss' }).item()).toBe(20);
    expect(R.fetch_persisting_op('grad').toArray()).toEqual([[2, 2], [2, 2]]);
  });

  it('approach must be distributed or federated (which needs rules)', () => {
    expect(() => new R.Graph({ approach: 'central' as never })).toThrow(R.GraphError);
    expect(() => graph('federated')).toThrow(/a federated graph needs rules/);
    expect(new R.Graph({ name: 'g', approach: 'federated', rules: { rules: { a: {} }, max_clients: 1 } }).approach).toBe('federated');
  });

  it('a second graph while one is being defined is an error; after activate or flush it is fine', () => {
    graph();
    expect(() => graph()).toThrow(/still being defined/);
    R.activate();
    graph();
    R.flush();
    graph();
  });

  it('a value of a graph has no data: reading it says how to get it', () => {
    graph();
    const y = R.add(R.t([1]), 1);
    for (const read of [() => y.item(), () => y.toArray(), () => y.data()]) {
      expect(read).toThrow(R.GraphError);
      expect(read).toThrow(/persist_op/);
    }
    expect(String(y)).toContain("'add'");
  });

  it('after activate, adding an op to the graph is an error naming the op', () => {
    graph();
    const y = R.add(R.t([1, 2]), 1);
    y.persist_op('y');
    R.activate();
    expect(() => R.mul(y, 2)).toThrow(R.GraphError);
    expect(() => R.mul(y, 2)).toThrow(/^mul: /);
    expect(() => y.persist_op('z')).toThrow(R.GraphError);
  });

  it('persisted names are unique; persist_op and fetch need a graph', () => {
    expect(() => R.t([1]).persist_op('x')).toThrow(/no graph is being defined/);
    expect(() => R.fetch_persisting_op('x')).toThrow(R.GraphError);
    graph();
    const y = R.add(R.t([1]), 1);
    y.persist_op('y');
    expect(() => R.mul(y, 3).persist_op('y')).toThrow(/already persists/);
  });

  it('fetch tells a name never persisted from one not computed yet', async () => {
    graph();
    R.add(R.t([1]), 1).persist_op('y');
    expect(() => R.fetch_persisting_op('y')).toThrow(/not computed yet/);
    expect(() => R.fetch_persisting_op('nope')).toThrow(/persists no op named 'nope'.*'y'/);
    expect(() => R.execute()).toThrow(/still being defined/);
    R.activate();
    expect(() => R.fetch_persisting_op('y')).toThrow(/not computed yet \(graph 'g' is activated\)/);
    const run = R.execute();
    expect(() => R.execute()).toThrow(/running/);
    await run;
    expect(R.fetch_persisting_op('y').toArray()).toEqual([2]);
    expect(() => R.fetch_persisting_op('nope')).toThrow(R.GraphError);
  });

  it('track_progress reports the run and resolves at its end', async () => {
    graph();
    let x = R.t([1]);
    for (let i = 0; i < 50; i++) x = R.add(x, 1);
    x.persist_op('x');
    R.activate();
    R.execute();
    const seen: R.GraphProgress[] = [];
    const lines: string[] = [];
    await R.track_progress({ stream: { write: (s) => lines.push(s) }, onProgress: (p) => seen.push(p) });
    expect(seen.at(-1)).toMatchObject({ status: 'done', persistedDone: 1, persistedTotal: 1 });
    expect(seen.at(-1)!.nodesDone).toBe(seen.at(-1)!.nodesTotal);
    expect(lines.join('')).toContain('100%');
    expect(R.fetch_persisting_op('x').item()).toBe(51);
  });

  it('execute({ signal }) stops a local run at its next op with an AbortError; bad options are typed errors', async () => {
    graph();
    let x = R.t(new Float32Array(64).fill(1));
    for (let i = 0; i < 4000; i++) x = R.add(x, 1);
    x.persist_op('x');
    R.activate();
    expect(() => R.execute({ signal: 'stop' as unknown as AbortSignal })).toThrow(R.AttrError);
    expect(() => R.execute({ signal: 'stop' as unknown as AbortSignal })).toThrow(/execute: option 'signal' must be an AbortSignal, got "stop"/);
    expect(() => R.execute({ sinal: null } as unknown as R.ExecuteOptions)).toThrow(/execute: unknown option 'sinal' \(valid options: signal\)/);
    const ac = new AbortController();
    const run = R.execute({ signal: ac.signal });
    let stoppedAt = 0;
    await R.track_progress({ stream: null, onProgress: (p) => p.nodesDone > 0 && !ac.signal.aborted && (ac.abort(), (stoppedAt = p.nodesDone)) }).catch(() => {});
    const err = await run.catch((e) => e);
    expect(err).toBeInstanceOf(R.AbortError);
    expect(err.message).toMatch(/execute: aborted at node \d+ of 8001/);
    expect(Number(/node (\d+)/.exec(err.message)![1])).toBeLessThan(8001);
    expect(stoppedAt).toBeGreaterThan(0);
    expect(R.Graph.current()!.status).toBe('failed');
    expect(() => R.fetch_persisting_op('x')).toThrow(/was not computed: the run of graph 'g' failed \(execute: aborted/);
    R.flush();
    // Aborted before it starts: no op runs.
    graph();
    R.add(R.t([1]), 1).persist_op('y');
    R.activate();
    await expect(R.execute({ signal: AbortSignal.abort() })).rejects.toThrow(/aborted at node 0 of/);
  });

  it('initialize refuses a server that is not an http(s) URL; with a server nobody answers at, execute says so', async () => {
    expect(() => R.initialize('t', { server: 'not a url' })).toThrow(R.GraphError);
    expect(() => R.initialize('t', { server: 'ftp://x' })).toThrow(R.GraphError);
    R.initialize('t', { server: 'http://127.0.0.1:9' });
    graph();
    R.add(R.t([1]), 1).persist_op('y');
    R.activate();
    await expect(R.execute()).rejects.toThrow(/cannot reach the coordinator/);
    R.initialize('t');
  });
});

describe('variables: a model trained in a graph', () => {
  function model(): NeuralNetwork {
    R.manual_seed(3);
    const m = new NeuralNetwork(new SGD({ lr: 0.1 }), 'SquareLoss');
    m.add(new Dense(2, { input_shape: [3] }));
    return m;
  }
  const X = () => R.t([[1, 2, 3], [4, 5, 6]]);
  const Y = () => R.t([[1, 0], [0, 1]]);

  it('flush before the run gives the model back its weights as they were', () => {
    const m = model();
    const before = m.predict(X()).toArray();
    graph();
    m.fit(X(), Y(), { n_epochs: 3, verbose: false });
    expect(() => m.predict(X()).toArray()).toThrow(R.GraphError); // its weights are graph values now
    R.flush();
    expect(m.predict(X()).toArray()).toEqual(before);
  });

  it('after the run the model holds the trained weights, as eager training gives them', async () => {
    const eager = model();
    await eager.fit(X(), Y(), { n_epochs: 3, verbose: false, shuffle: false });
    const m = model();
    graph();
    m.fit(X(), Y(), { n_epochs: 3, verbose: false, shuffle: false });
    R.activate();
    await R.execute();
    expect(m.predict(X()).toArray()).toEqual(eager.predict(X()).toArray());
  });

  it('values that need computing now are a GraphError while recording (evaluate, train_on_batch, callbacks)', async () => {
    const m = model();
    graph();
    await expect(m.evaluate(X(), Y())).rejects.toThrow(R.GraphError);
    expect(() => m.train_on_batch(X(), Y())).toThrow(R.GraphError);
    await expect(m.fit(X(), Y(), { verbose: false, callbacks: [{ on_epoch_end: () => {} }] })).rejects.toThrow(/callbacks/);
  });
});

describe('the executor', () => {
  it('frees each value after its last reader: a chain of 200 ops holds a few values at a time', async () => {
    graph();
    let x = R.t(new Float32Array(1 << 16));
    for (let i = 0; i < 200; i++) x = R.add(x, 1);
    x.persist_op('x');
    R.activate();
    const base = R.memory().bytes;
    let peak = 0;
    const stop = R.onDispatch(() => void (peak = Math.max(peak, R.memory().bytes - base)));
    await R.execute();
    stop();
    expect(R.fetch_persisting_op('x')._data[0]).toBe(200);
    expect(peak).toBeLessThan(8 * 4 * (1 << 16)); // 200 values would be 52 MB
  });

  it('yields to the event loop during a long run', async () => {
    graph();
    let x = R.t(new Float32Array(1 << 18));
    for (let i = 0; i < 400; i++) x = R.exp(R.mul(x, 0.5));
    x.persist_op('x');
    R.activate();
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const started = performance.now();
    await R.execute();
    clearInterval(timer);
    // Only meaningful when the run spans several 20 ms slices (it does on any machine this project runs on).
    if (performance.now() - started > 100) expect(ticks).toBeGreaterThan(0);
  });
});
