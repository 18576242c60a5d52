// fit / evaluate / predict / save / load as Promises: they yield to the event loop between batches,
// await async callbacks, stop on an AbortSignal at a batch boundary, and give the same numbers as
// their *_sync forms. Also fit's option checks, empty data, and Functional models driven by fit.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import * as R from '../../lib/index.js';
import { Functional, NeuralNetwork } from '../../lib/v2/index.js';
import { SLICE_MS } from '../../lib/v2/models/engine.js';
import { Activation, Dense } from '../../lib/v2/layers/index.js';
import { Adam, type Optimizer } from '../../lib/v2/optimizers/index.js';
import { batch_iterator } from '../../lib/v2/utils/index.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
afterEach(() => R.flush());
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'ravdl-async-'));
  dirs.push(d);
  return d;
};

/** 60 samples, 4 features, 3 separable classes. */
function blobs(seed = 3) {
  R.manual_seed(seed);
  const y = R.t(Int32Array.from({ length: 60 }, (_, i) => i % 3));
  const centers = R.t([[2, 0, 0, 0], [0, 2, 0, 0], [0, 0, 2, 0]]);
  const X = R.add(R.gather(centers, y), R.mul(R.randn([60, 4]), 0.3));
  return { X, y };
}

function mlp(optimizer: Optimizer = new Adam({ lr: 0.02 })) {
  R.manual_seed(7);
  const m = new NeuralNetwork(optimizer, 'CrossEntropy');
  m.add(new Dense(16, { input_shape: [4] }));
  m.add(new Activation('relu'));
  m.add(new Dense(3));
  m.add(new Activation('softmax'));
  return m;
}

const weights = (m: { get_weights(): Map<string, Float32Array | Int32Array> }) => new Map([...m.get_weights()].map(([k, v]) => [k, Array.from(v)]));
const quiet = { verbose: false } as const;

/** Busy for ms milliseconds of the clock (bounded: ms is a small constant). */
function spin(ms: number) {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

/** Counts turns of the event loop (setImmediate callbacks) until stop() is called. */
function loopTurns() {
  let turns = 0;
  let running = true;
  const tick = () => {
    turns++;
    if (running) setImmediate(tick);
  };
  setImmediate(tick);
  return {
    get turns() {
      return turns;
    },
    stop: () => void (running = false),
  };
}

describe('fit returns a Promise and yields to the event loop', () => {
  it('gives the same history and weights as fit_sync', async () => {
    const { X, y } = blobs();
    const a = mlp();
    const b = mlp();
    const opts = { n_epochs: 4, batch_size: 16, seed: 5, ...quiet, validation_data: [X, y] as [R.Tensor, R.Tensor] };
    const ha = await a.fit(X, y, opts);
    const hb = b.fit_sync(X, y, opts);
    expect(ha).toEqual(hb);
    expect(weights(a)).toEqual(weights(b));
  });

  it('other tasks run between batches once a time slice is used up, none while fit_sync runs', async () => {
    const { X, y } = blobs();
    // Each batch takes longer than a slice (the callback waits SLICE_MS on the clock), so fit
    // gives the loop a turn at every batch boundary.
    const slow = { on_batch_end: () => void spin(SLICE_MS + 1) };
    const batches = 2 * Math.ceil(60 / 8);
    const during = loopTurns();
    await mlp().fit(X, y, { n_epochs: 2, batch_size: 8, ...quiet, callbacks: [slow] });
    during.stop();
    expect(during.turns).toBeGreaterThanOrEqual(batches - 1);
    const blocked = loopTurns();
    mlp().fit_sync(X, y, { n_epochs: 2, batch_size: 8, ...quiet, callbacks: [slow] });
    expect(blocked.turns).toBe(0);
    blocked.stop();
  });

  it('awaits async callbacks before going on; fit_sync rejects them with a clear error', async () => {
    const { X, y } = blobs();
    const log: string[] = [];
    await mlp().fit(X, y, {
      n_epochs: 2,
      batch_size: 30,
      ...quiet,
      callbacks: [
        {
          on_batch_end: async (b, _logs, _m, e) => {
            log.push(`start ${e}.${b}`);
            await new Promise((r) => setImmediate(r));
            log.push(`end ${e}.${b}`);
          },
          on_epoch_end: async (e) => void log.push(`epoch ${e}`),
        },
      ],
    });
    expect(log).toEqual(['start 1.1', 'end 1.1', 'start 1.2', 'end 1.2', 'epoch 1', 'start 2.1', 'end 2.1', 'start 2.2', 'end 2.2', 'epoch 2']);
    expect(() => mlp().fit_sync(X, y, { ...quiet, callbacks: [{ on_epoch_end: async () => {} }] })).toThrow(/callback on_epoch_end returned a Promise; fit_sync cannot wait for it \(use await model.fit/);
  });

  it('a second fit of the same model while one runs is refused; the first one finishes', async () => {
    const { X, y } = blobs();
    const m = mlp();
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    // The first fit waits in its first callback until the second one has been tried.
    const first = m.fit(X, y, { n_epochs: 3, batch_size: 10, ...quiet, callbacks: [{ on_train_begin: () => gate }] });
    await expect(m.fit(X, y, quiet)).rejects.toThrow(/already being trained by another fit/);
    expect(() => m.fit_sync(X, y, quiet)).toThrow(/already being trained/);
    open();
    expect((await first).epochs).toHaveLength(3);
    await m.fit(X, y, quiet); // free again
  });
});

/** Set by SlowReLU when a step's forward pass reaches it; tests clear it at the batch's end. */
let inStep = false;

/** ReLU that holds the thread for longer than a time slice in its forward pass. */
class SlowReLU extends Activation {
  constructor() {
    super('relu');
  }
  protected override forward(x: R.Tensor): R.Tensor {
    inStep = true;
    spin(SLICE_MS + 1);
    return super.forward(x);
  }
}

function slowMlp() {
  R.manual_seed(7);
  const m = new NeuralNetwork(new Adam({ lr: 0.02 }), 'CrossEntropy');
  m.add(new Dense(16, { input_shape: [4] }));
  m.add(new SlowReLU());
  m.add(new Dense(3));
  m.add(new Activation('softmax'));
  return m;
}

const stepEnds = { on_batch_end: () => void (inStep = false) };

describe('the async fit also pauses inside a training step', () => {
  it('other tasks run during a step; their tensors are theirs (not disposed with the step); results equal fit_sync', async () => {
    const { X, y } = blobs();
    const m = slowMlp();
    inStep = false;
    const created: R.Tensor[] = [];
    let running = true;
    const tick = () => {
      if (inStep) created.push(R.t([created.length + 1, 2, 3])); // made during a pause of the step, in no tidy
      if (running) setImmediate(tick);
    };
    setImmediate(tick);
    const before = R.memory().tensors;
    await m.fit(X, y, { n_epochs: 2, batch_size: 30, shuffle: false, ...quiet, callbacks: [stepEnds] });
    running = false;
    const grown = R.memory().tensors - before;
    expect(created.length).toBeGreaterThanOrEqual(4); // at least one turn inside each of the 4 steps
    created.forEach((t, i) => expect(Array.from(t.data())).toEqual([i + 1, 2, 3]));
    created.forEach((t) => t.dispose());
    const twin = slowMlp();
    const twinBefore = R.memory().tensors;
    twin.fit_sync(X, y, { n_epochs: 2, batch_size: 30, shuffle: false, ...quiet });
    expect(grown - created.length).toBe(R.memory().tensors - twinBefore); // besides those, what fit_sync leaves (the optimizer's state)
    expect(weights(m)).toEqual(weights(twin));
  });

  it('a graph begun during a pause inside a step records nothing of it; fit stops at the next batch boundary', async () => {
    const { X, y } = blobs();
    const m = slowMlp();
    inStep = false;
    let begun = false;
    let stepsDone = 0;
    const tick = () => {
      if (inStep && !begun) {
        begun = true;
        new R.Graph({ name: 'begun during a step' });
      }
      if (!begun) setImmediate(tick);
    };
    setImmediate(tick);
    const counted = { on_batch_end: () => void ((inStep = false), stepsDone++) };
    const training = m.fit(X, y, { n_epochs: 3, batch_size: 30, shuffle: false, ...quiet, callbacks: [counted] });
    await expect(training).rejects.toThrow(/a graph began being defined while this fit was training eagerly/);
    expect(begun).toBe(true);
    expect(R.Graph.current()!.nodeCount).toBe(0); // the rest of the step ran eagerly
    expect(stepsDone).toBe(1); // the step it began in completed
    R.flush();
    const twin = slowMlp();
    twin.fit_sync(R.slice(X, [0, 0], [30, 4]), R.slice(y, [0], [30]), { n_epochs: 1, batch_size: 30, shuffle: false, ...quiet }); // the first batch
    expect(weights(m)).toEqual(weights(twin)); // exactly that one step
  });
});

describe('fit with an AbortSignal', () => {
  it('aborted from a callback: rejects with an AbortError, the model holds the weights of the last completed batch', async () => {
    const { X, y } = blobs();
    const m = mlp();
    const ac = new AbortController();
    const err = await m
      .fit(X, y, { n_epochs: 10, batch_size: 10, shuffle: false, ...quiet, signal: ac.signal, callbacks: [{ on_batch_end: (b, _l, _m, e) => void (e === 2 && b === 2 && ac.abort('enough')) }] })
      .then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(R.AbortError);
    expect(err).toMatchObject({ name: 'AbortError', code: 'ABORT_ERR', cause: 'enough' });
    expect((err as Error).message).toMatch(/aborted after 1 epochs and 2 batches; the model holds the weights of the last completed batch/);

    // A twin trained on exactly those 8 batches (6 of epoch 1, 2 of epoch 2) has the same weights...
    const twin = mlp();
    twin.fit_sync(X, y, { n_epochs: 1, batch_size: 10, shuffle: false, ...quiet });
    twin.fit_sync(R.slice(X, [0, 0], [20, 4]), R.slice(y, [0], [20]), { n_epochs: 1, batch_size: 10, shuffle: false, ...quiet });
    expect(weights(m)).toEqual(weights(twin));
    const live = R.memory().tensors;
    // ...and the same optimizer state: training on from there gives the same model again.
    await m.fit(X, y, { n_epochs: 2, batch_size: 10, shuffle: false, ...quiet });
    twin.fit_sync(X, y, { n_epochs: 2, batch_size: 10, shuffle: false, ...quiet });
    expect(weights(m)).toEqual(weights(twin));
    expect(R.memory().tensors).toBe(live); // the interrupted epoch left nothing behind for later ones to add to
  });

  it('aborted by another task while training: stops at the next batch boundary', async () => {
    const { X, y } = blobs();
    const m = mlp();
    const ac = new AbortController();
    let done = 0;
    const training = m.fit(X, y, { n_epochs: 100_000, batch_size: 60, shuffle: false, ...quiet, signal: ac.signal, callbacks: [{ on_batch_end: () => void done++ }] });
    const turns = loopTurns();
    await new Promise<void>((resolve) => {
      const check = () => (turns.turns >= 5 ? resolve() : setImmediate(check));
      check();
    });
    turns.stop();
    ac.abort();
    await expect(training).rejects.toThrow(R.AbortError);
    expect(done).toBeGreaterThan(0);
    const twin = mlp();
    twin.fit_sync(X, y, { n_epochs: done, batch_size: 60, shuffle: false, ...quiet });
    expect(weights(m)).toEqual(weights(twin));
  });

  it('already aborted: rejects before any step or callback', async () => {
    const { X, y } = blobs();
    const m = mlp();
    const before = weights(m);
    let calls = 0;
    await expect(m.fit(X, y, { ...quiet, signal: AbortSignal.abort(), callbacks: [{ on_train_begin: () => void calls++ }] })).rejects.toMatchObject({ name: 'AbortError' });
    expect(calls).toBe(0);
    expect(weights(m)).toEqual(before);
  });
});

describe("fit's options and data", () => {
  it('unknown options are errors (Keras names included), checked by the catalog schema', async () => {
    const { X, y } = blobs();
    const m = mlp();
    await expect(m.fit(X, y, { epochs: 3 } as never)).rejects.toThrow(/NeuralNetwork.fit: unknown option 'epochs' \(valid options: n_epochs, batch_size/);
    expect(() => m.fit_sync(X, y, { n_epochs: 1.5 })).toThrow(R.AttrError);
    expect(() => m.fit_sync(X, y, { verbose: 'yes' as never })).toThrow(/option 'verbose' must be true, false, 0, 1 or 2/);
    expect(() => m.fit_sync(X, y, { signal: {} as never })).toThrow(/option 'signal' must be an AbortSignal/);
    expect(() => m.predict(X, { batchsize: 4 } as never)).toThrow(/predict: unknown option 'batchsize'/);
    await expect(m.evaluate(X, y, { batch_size: 0 })).rejects.toThrow(/option 'batch_size' must be an integer >= 1/);
  });

  it('verbose 0 and false are silent; 2 writes one line per epoch even on a terminal', async () => {
    const { X, y } = blobs();
    let out = '';
    const stream = { write: (s: string) => (out += s), isTTY: true, columns: 200 };
    await mlp().fit(X, y, { n_epochs: 2, batch_size: 30, verbose: 0, stream });
    mlp().fit_sync(X, y, { n_epochs: 2, batch_size: 30, verbose: false, stream });
    expect(out).toBe('');
    await mlp().fit(X, y, { n_epochs: 2, batch_size: 30, verbose: 2, stream });
    expect(out).not.toContain('\r');
    expect(out.trim().split('\n')).toHaveLength(2);
    await mlp().fit(X, y, { n_epochs: 1, batch_size: 30, verbose: 1, stream });
    expect(out).toContain('\r'); // the bar
  });

  it('empty data says so (not a shape error)', async () => {
    const { X, y } = blobs();
    const m = mlp();
    await expect(m.fit([], [])).rejects.toThrow(/NeuralNetwork.fit: X has no samples \(the data is empty\)/);
    await expect(m.fit([], [])).rejects.toBeInstanceOf(R.ArgError);
    expect(() => m.fit_sync(R.zeros([0, 4]), R.zeros([0], { dtype: 'int32' }))).toThrow(/X has no samples/);
    await expect(m.evaluate(R.zeros([0, 4]), [])).rejects.toThrow(/evaluate: X has no samples/);
    await expect(m.fit(X, y, { validation_data: [R.zeros([0, 4]), []], ...quiet })).rejects.toThrow(/validation X has no samples/);
    expect(m.predict(R.zeros([0, 4])).shape).toEqual([0, 3]);
  });
});

describe('predict_async, evaluate, save and load as Promises', () => {
  it('equal their synchronous forms', async () => {
    const { X, y } = blobs();
    const m = mlp();
    m.fit_sync(X, y, { n_epochs: 3, batch_size: 10, ...quiet });
    const p = await m.predict_async(X, { batch_size: 7 });
    expect(Array.from(p.data())).toEqual(Array.from(m.predict(X).data()));
    expect(await m.evaluate(X, y, { batch_size: 7 })).toEqual(m.evaluate_sync(X, y, { batch_size: 7 }));
  });

  it('save writes the weights of the moment it is called, even if training goes on meanwhile', async () => {
    const { X, y } = blobs();
    const m = mlp();
    m.fit_sync(X, y, { n_epochs: 2, batch_size: 10, ...quiet });
    const snapshot = Array.from(m.predict(X).data());
    const dir = tmp();
    const saving = m.save(dir);
    m.fit_sync(X, y, { n_epochs: 2, batch_size: 10, ...quiet });
    await saving;
    const back = await NeuralNetwork.load(dir);
    expect(Array.from(back.predict(X).data())).toEqual(snapshot);
    expect(Array.from(NeuralNetwork.load_sync(dir).predict(X).data())).toEqual(snapshot);
    await expect(NeuralNetwork.load(join(dir, 'nothing'))).rejects.toThrow(/model.json does not exist/);
  });

  it('async callbacks can checkpoint with await model.save', async () => {
    const { X, y } = blobs();
    const m = mlp();
    const dir = tmp();
    let saved: number[] = [];
    await m.fit(X, y, {
      n_epochs: 3,
      batch_size: 20,
      ...quiet,
      callbacks: [{ on_epoch_end: async (e) => (e === 2 ? ((saved = Array.from(m.predict(X).data())), await m.save(dir)) : undefined) }],
    });
    expect(Array.from((await NeuralNetwork.load(dir)).predict(X).data())).toEqual(saved);
  });
});

// The seed's Functional model, trained by fit as NeuralNetwork is.
class Net extends Functional {
  d1 = new Dense(12, { input_shape: [4] });
  act = new Activation('relu');
  d2 = new Dense(3);
  out = new Activation('softmax');
  constructor(optimizer: Optimizer, loss?: 'CrossEntropy' | 'SquareLoss') {
    super();
    this.initialize_params(optimizer, loss);
  }
  _forward_pass_call(input: R.Tensor, training = true) {
    return this.out._forward_pass(this.d2._forward_pass(this.act._forward_pass(this.d1._forward_pass(input), training)));
  }
}

describe('Functional models: fit, evaluate, predict', () => {
  it('fit trains a Functional model with the same checks and results as NeuralNetwork', async () => {
    const { X, y } = blobs();
    R.manual_seed(1);
    const model = new Net(new Adam({ lr: 0.02 }), 'CrossEntropy');
    const h = await model.fit(X, y, { n_epochs: 20, batch_size: 20, ...quiet, validation_data: [X, y] });
    expect(h.epochs).toHaveLength(20);
    expect(h.epochs[19]!.loss).toBeLessThan(h.epochs[0]!.loss / 3);
    expect(h.epochs[19]!.val_accuracy).toBeGreaterThan(0.95);
    const e = await model.evaluate(X, y);
    expect(e.accuracy).toBeGreaterThan(0.95);
    expect(Array.from((await model.predict_async(X, { batch_size: 16 })).data())).toEqual(Array.from(model.predict(X).data()));
    await expect(model.fit(X, R.t(Int32Array.from({ length: 60 }, () => 3)))).rejects.toThrow(/Net.fit: label 3 of sample 0 is outside \[0, 3\)/);
    await expect(model.fit(X, y, { epochs: 2 } as never)).rejects.toThrow(/Net.fit: unknown option 'epochs'/);
    await expect(model.fit(R.zeros([60, 5]), y)).rejects.toThrow(R.ShapeError);
  });

  it("fit equals the seed's manual loop (batch_iterator, _forward_pass, _backward_pass) bit for bit", async () => {
    const { X, y } = blobs();
    const yOne = R.one_hot_encoding(y, 3);
    R.manual_seed(4);
    const manual = new Net(new Adam({ lr: 0.01 }));
    for (let epoch = 0; epoch < 3; epoch++) {
      for (const [xb, yb] of batch_iterator(X, yOne, 25)) manual._backward_pass(R.square_loss(yb, manual._forward_pass(xb)));
    }
    R.manual_seed(4);
    const fitted = new Net(new Adam({ lr: 0.01 }));
    await fitted.fit(X, yOne, { n_epochs: 3, batch_size: 25, shuffle: false, ...quiet });
    expect(weights(fitted)).toEqual(weights(manual));
  });
});

describe('fit while a graph is being defined', () => {
  const data = () => {
    R.manual_seed(11);
    return { X: R.randn([24, 4]), y: R.t(Int32Array.from({ length: 24 }, (_, i) => i % 3)) };
  };
  const graph = () => new R.Graph({ name: 'g', algorithm: 'mlp', approach: 'distributed' });

  it('records every step before fit returns; awaited, it gives the graph fit_sync records', async () => {
    const { X, y } = data();
    R.flush();
    graph();
    const a = mlp();
    const pending = a.fit(X, y, { n_epochs: 2, batch_size: 8, ...quiet });
    R.activate(); // already complete: recording never waits
    await pending;
    const nodesAsync = R.Graph.current()!.data.nodes.map((n) => (n.kind === 'op' ? n.op : 'const'));
    expect(R.Graph.current()!.data.persist.has('training_loss_epoch_2_batch_3')).toBe(true);
    await R.execute();
    const lossAsync = R.fetch_persisting_op('training_loss_epoch_2_batch_3').item();

    R.flush();
    graph();
    const b = mlp();
    b.fit_sync(X, y, { n_epochs: 2, batch_size: 8, ...quiet });
    R.activate();
    expect(R.Graph.current()!.data.nodes.map((n) => (n.kind === 'op' ? n.op : 'const'))).toEqual(nodesAsync);
    await R.execute();
    expect(R.fetch_persisting_op('training_loss_epoch_2_batch_3').item()).toBe(lossAsync);
  });

  it('an eager fit still running when a graph starts being defined stops with a GraphError at the next batch boundary', async () => {
    const { X, y } = data();
    const m = mlp();
    let done = 0;
    const training = m.fit(X, y, { n_epochs: 100_000, batch_size: 24, shuffle: false, ...quiet, callbacks: [{ on_batch_end: () => void done++ }] });
    graph();
    await expect(training).rejects.toThrow(/a graph began being defined while this fit was training eagerly/);
    expect(R.Graph.current()!.nodeCount).toBe(0); // nothing of the fit was recorded
    R.flush();
    const twin = mlp();
    twin.fit_sync(X, y, { n_epochs: done, batch_size: 24, shuffle: false, ...quiet });
    expect(weights(m)).toEqual(weights(twin));
  });
});
