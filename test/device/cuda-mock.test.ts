// Tensors, ops, autograd and models on a CUDA device, run against the CUDA stand-in
// (native/mock/cuda_mock.cpp): device buffers, copies, dispatch by device, ERR_DEVICE and
// model.to() are the real code paths; only the kernels are the CPU's. So every result must
// equal the CPU's bit for bit, and a device address read as host memory would crash the test.
// The CUDA kernels themselves are checked against the CPU ones by native/tests/test_cuda*.cpp on
// a machine with a GPU (scripts/gpu-check.sh).
import '../helpers/cuda-mock.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as R from '../../lib/index.js';
import { deviceError } from '../helpers/fixtures.js';
import { native } from '../../lib/native/load.js';
import { dispatchInto, getOp } from '../../lib/ops/define.js';
import { parseAttrs } from '../../lib/ops/attrs.js';
import type { Tensor } from '../../lib/tensor/tensor.js';
import { executeGraph } from '../../lib/graph/execute.js';
import type { ConstNode } from '../../lib/graph/graph-data.js';
import { NeuralNetwork } from '../../lib/v2/models/sequential.js';
import { Functional } from '../../lib/v2/models/functional.js';
import { Activation, BatchNormalization2D, Conv2D, Dense, Dropout, Flatten, MaxPooling2D } from '../../lib/v2/layers/index.js';
import { Adam, SGD } from '../../lib/v2/optimizers/index.js';

/** Whether t's device buffer is still allocated. */
const live = (t: Tensor) => native().deviceBufferInfo(t._storage!.buf!).live;

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function cnn(seed: number, device: 'cpu' | 'cuda:0' | 'cuda:1', moveBeforeBuild: boolean): NeuralNetwork {
  R.manual_seed(seed);
  const m = new NeuralNetwork(new Adam({ lr: 0.01 }), 'CrossEntropy');
  m.add(new Conv2D(1, 4, [3, 3], { input_shape: [1, 8, 8], padding: 'same' }));
  m.add(new BatchNormalization2D(4));
  m.add(new Activation('relu'));
  m.add(new MaxPooling2D([2, 2]));
  m.add(new Dropout(0.25));
  m.add(new Flatten());
  m.add(new Dense(3));
  m.add(new Activation('softmax'));
  if (moveBeforeBuild) m.to(device);
  return m;
}
const data = () => {
  R.manual_seed(99);
  return { X: R.randn([24, 1, 8, 8]), y: R.t(Int32Array.from({ length: 24 }, (_, i) => (i * 7) % 3)) };
};


describe('tensors on a CUDA device (the stand-in)', () => {
  it('reports the stand-in devices', () => {
    const cuda = R.backendInfo().cuda;
    expect(cuda.available).toBe(true);
    expect(cuda.devices.map((d) => d.name)).toEqual(['ravdl CUDA mock 0 (host memory, CPU kernels)', 'ravdl CUDA mock 1 (host memory, CPU kernels)']);
  });

  it('R.cuda reports the devices and controls their queues and caches', () => {
    expect([R.cuda.is_available(), R.cuda.device_count()]).toEqual([true, 2]);
    R.cuda.synchronize();
    R.cuda.synchronize('cuda:1');
    R.cuda.empty_cache('cuda:1');
    expect(R.cuda.memory_cached('cuda:1')).toBe(0);
    const x = R.zeros([1000], { device: 'cuda:1' });
    x.dispose();
    expect(R.cuda.memory_cached('cuda:1')).toBe(4000); // freed into the cache
    const again = R.ones([1000], { device: 'cuda:1' }); // the same block, reused
    expect(R.cuda.memory_cached('cuda:1')).toBe(0);
    again.dispose();
    R.cuda.empty_cache('cuda:1');
    expect(R.cuda.memory_cached('cuda:1')).toBe(0);
    expect(deviceError(() => R.cuda.synchronize('cpu')).message).toBe("cuda.synchronize: 'cpu' is not a CUDA device");
    expect(deviceError(() => R.cuda.empty_cache('cuda:2')).message).toMatch(/^cuda\.empty_cache: no device 'cuda:2'/);
  });

  it('makes tensors there and reads them back through the host', () => {
    const x = R.t([[1, 2], [3, 4]], { device: 'cuda' });
    expect(x.device).toBe('cuda:0');
    expect(x._storage!.buf).not.toBeNull();
    expect(x.toArray()).toEqual([[1, 2], [3, 4]]);
    expect(Array.from(x.data())).toEqual([1, 2, 3, 4]);
    expect(String(x)).toContain("device='cuda:0'");
    expect(JSON.stringify(x)).toBe('{"shape":[2,2],"dtype":"float32","values":[[1,2],[3,4]]}');
    expect(R.t(7, { device: 'cuda:1' }).item()).toBe(7);
    const ids = R.t([3, 1, 2], { dtype: 'int32', device: 'cuda:1' });
    expect([ids.device, ids.dtype, ids.toArray()]).toEqual(['cuda:1', 'int32', [3, 1, 2]]);
    expect(R.zeros([2, 3], { device: 'cuda' }).toArray()).toEqual([[0, 0, 0], [0, 0, 0]]);
    expect(R.ones([2], { device: 'cuda', dtype: 'int32' }).toArray()).toEqual([1, 1]);
    expect(R.full([2], 2.5, { device: 'cuda' }).toArray()).toEqual([2.5, 2.5]);
    expect(R.arange(4, undefined, 1, { device: 'cuda' }).toArray()).toEqual([0, 1, 2, 3]);
    R.manual_seed(5);
    const a = R.randn([5]).toArray();
    R.manual_seed(5);
    const b = R.randn([5], { device: 'cuda' });
    expect([b.device, b.toArray()]).toEqual(['cuda:0', a]);
    expect(R.zeros_like(b).device).toBe('cuda:0');
    expect(R.t(x).device).toBe('cuda:0'); // a copy keeps the device unless told otherwise
    expect(R.t(x, { device: 'cpu' }).toArray()).toEqual([[1, 2], [3, 4]]);
    expect(R.t(x, { dtype: 'int32' }).toArray()).toEqual([[1, 2], [3, 4]]);
  });

  it('never lets host code read device memory as host memory', () => {
    const x = R.t([1, 2, 3], { device: 'cuda' });
    expect(deviceError(() => x._data).message).toBe("Tensor [3] float32 is on cuda:0: this reads its values in host memory (move it with .to('cpu'))");
    // The binding refuses host arrays in a device call, device buffers in a CPU call, another device's buffers.
    const N = native();
    const meta = new Float64Array([9, 2, 1, 1, 3, 1, 3, 1, 3]);
    const out = R.zeros([3], { device: 'cuda' });
    expect(() => N.runKernel('add', 0, meta, x._native, new Float32Array(3), out._native)).toThrow(/add: input 1 is in host memory, the call runs on cuda:0/);
    expect(() => N.runKernel('add', -1, meta, x._native, x._native, new Float32Array(3))).toThrow(/add: input 0 is on cuda:0, the call runs on cpu/);
    const other = R.t([1, 2, 3], { device: 'cuda:1' });
    expect(() => N.runKernel('add', 0, meta, x._native, other._native, out._native)).toThrow(/add: input 1 is on cuda:1, the call runs on cuda:0/);
    expect(out.toArray()).toEqual([0, 0, 0]);
  });

  it('computes ops on the device with the results of the CPU', () => {
    R.manual_seed(11);
    const img = R.randn([2, 3, 6, 6]);
    const w = R.randn([4, 3, 3, 3]);
    const bias = R.randn([4]);
    const m = R.randn([3, 5]);
    const v = R.randn([5]);
    const labels = R.t([1, 0, 4], { dtype: 'int32' });
    const cases: [string, (d: (t: Tensor) => Tensor) => Tensor][] = [
      ['add with broadcasting', (d) => R.add(d(m), d(v))],
      ['a number operand', (d) => R.mul(R.sub(d(m), 1.5), 2)],
      ['matmul', (d) => R.matmul(d(m), R.transpose(d(m)))],
      ['relu of a view', (d) => R.relu(d(m).reshape([5, 3]))],
      ['sum over an axis', (d) => R.sum(d(m), 1)],
      ['softmax', (d) => R.softmax(d(m), -1)],
      ['cross entropy', (d) => R.cross_entropy_loss(d(labels), d(m))],
      ['conv2d, same padding', (d) => R.conv2d(d(img), d(w), d(bias), { padding: 'same' })],
      ['conv2d, stride 2', (d) => R.conv2d(d(img), d(w), null, { stride: 2, padding: 1 })],
      ['max_pool2d', (d) => R.max_pool2d(d(img), { kernel_size: 2 })],
      ['batch norm (training)', (d) => R.batch_norm(d(img), null, null, d(R.ones([3])), d(R.zeros([3])), { training: true })],
      ['concat', (d) => R.concat([d(m), d(m)], 0)],
    ];
    for (const [what, f] of cases) {
      const cpu = f((t) => t);
      const dev = f((t) => t.to('cuda'));
      expect(dev.device, what).toBe('cuda:0');
      expect(dev.toArray(), what).toEqual(cpu.toArray());
    }
    // dropout draws the CPU's Philox stream on the device too
    R.manual_seed(3);
    const dc = R.dropout(m, { p: 0.5, training: true }).toArray();
    R.manual_seed(3);
    expect(R.dropout(m.to('cuda'), { p: 0.5, training: true }).toArray()).toEqual(dc);
  });

  it('says which op has no kernel on the device', () => {
    // The stand-in lists the CPU registry's ops; astype and gather have TypeScript kernels there.
    const x = R.t([1.5, 2], { device: 'cuda' });
    expect(deviceError(() => R.astype(x, 'int32')).message).toBe("astype: no kernel for device 'cuda:0' (move its inputs with .to('cpu'))");
    expect(deviceError(() => R.gather(x, R.t([1], { dtype: 'int32', device: 'cuda' }))).message).toMatch(/^gather: no kernel for device 'cuda:0'/);
  });

  it('rejects inputs on two devices, naming the op and both devices', () => {
    const a = R.t([1, 2]);
    const b = R.t([3, 4], { device: 'cuda' });
    expect(deviceError(() => R.add(a, b)).message).toBe("add: inputs on different devices: 'a' on cpu, 'b' on cuda:0 (move them with .to(device))");
    expect(deviceError(() => R.add(b, R.t([3, 4], { device: 'cuda:1' }))).message).toContain("'a' on cuda:0, 'b' on cuda:1");
    expect(deviceError(() => R.concat([b, b, a])).message).toMatch(/^concat: inputs on different devices: '\w+\[0\]' on cuda:0, '\w+\[2\]' on cpu/);
    // A 0-d CPU constant joins a device op (as in PyTorch), unless it needs a gradient there.
    expect(R.mul(b, R.t(3)).toArray()).toEqual([9, 12]);
    expect(deviceError(() => R.mul(b, R.t(3, { requires_grad: true }))).message).toContain("'b' on cpu");
    // An in-place output must be on the inputs' device, and is left untouched otherwise.
    const neg = getOp('neg');
    const target = R.zeros([2], { device: 'cuda:1' });
    expect(deviceError(() => dispatchInto(neg, [b], parseAttrs('neg', neg.attrs, {}), [target])).message).toBe('neg: in-place output 0 is on cuda:1, the inputs on cuda:0');
    expect(target.toArray()).toEqual([0, 0]);
  });

  it('copies across devices and frees device memory when the last user is disposed', () => {
    const x = R.t([1, 2, 3, 4], { device: 'cuda' });
    expect(x.to('cuda:0')).toBe(x);
    const y = x.to('cuda:1');
    expect([y.device, y.toArray()]).toEqual(['cuda:1', [1, 2, 3, 4]]);
    const back = y.to('cpu');
    expect([back.device, back.toArray()]).toEqual(['cpu', [1, 2, 3, 4]]);
    const leaf = R.t([1], { requires_grad: true, device: 'cuda' });
    expect([leaf.device, leaf.requires_grad, leaf.grad_fn]).toEqual(['cuda:0', true, null]);
    expect(R.no_grad(() => R.t([1], { requires_grad: true }).to('cuda')).requires_grad).toBe(false);
    const view = x.reshape([2, 2]);
    expect([view.device, view._storage]).toEqual(['cuda:0', x._storage]);
    x.dispose();
    expect(live(view)).toBe(true); // the view still uses the buffer
    expect(view.toArray()).toEqual([[1, 2], [3, 4]]);
    view.dispose();
    expect(native().deviceBufferInfo(y._storage!.buf!).live).toBe(true);
    const buf = y._storage!.buf!;
    y.dispose();
    expect(native().deviceBufferInfo(buf).live).toBe(false);
    // tidy frees what it does not return
    let inner: Tensor | null = null;
    const kept = R.tidy(() => {
      inner = R.add(R.t([1], { device: 'cuda' }), 1);
      return R.mul(inner, 2);
    });
    expect(inner!.isDisposed).toBe(true);
    expect(kept.toArray()).toEqual([4]);
  });
});

describe('autograd and models on a CUDA device (the stand-in)', () => {
  it('records copies across devices on the tape: the gradient comes back to the source device', () => {
    const w = R.t([1, 2, 3], { requires_grad: true });
    const on1 = w.to('cuda:1');
    expect([on1.requires_grad, on1.grad_fn !== null]).toEqual([true, true]);
    const y = R.add(R.sum(R.mul(on1, on1)).to('cpu'), R.sum(w.to('cuda:0')).to('cpu'));
    y.backward();
    expect([w.grad!.device, w.grad!.toArray()]).toEqual(['cpu', [3, 5, 7]]); // 2w + 1
    const leaf = R.t([[1, 2]], { requires_grad: true, device: 'cuda:0' });
    R.sum(R.matmul(leaf.to('cpu'), R.t([[1], [1]]))).backward();
    expect([leaf.grad!.device, leaf.grad!.toArray()]).toEqual(['cuda:0', [[1, 1]]]);
  });

  it('computes gradients there, equal to the CPU ones', () => {
    const grads = (device: 'cpu' | 'cuda') => {
      R.manual_seed(2);
      const x = R.randn([4, 3], { device });
      const w = R.randn([3, 2], { device, requires_grad: true });
      const b = R.zeros([2], { device, requires_grad: true });
      const loss = R.cross_entropy_loss(R.t([0, 1, 1, 0], { dtype: 'int32', device }), R.softmax(R.add(R.matmul(x, w), b)));
      loss.backward();
      expect([w.grad!.device, b.grad!.device]).toEqual([w.device, w.device]);
      return [loss.item(), w.grad!.toArray(), b.grad!.toArray()];
    };
    expect(grads('cuda')).toEqual(grads('cpu'));
  });

  it('trains a CNN there with the losses and weights of the CPU, bit for bit', async () => {
    const { X, y } = data();
    const run = async (device: 'cpu' | 'cuda:0') => {
      const m = cnn(1, device, true);
      const h = await m.fit(X, y, { n_epochs: 2, batch_size: 8, shuffle: true, seed: 4, verbose: 0 });
      const states = m.state_tensors();
      expect(states.every(([, t]) => t.device === device)).toBe(true);
      const pred = m.predict(X);
      expect(pred.device).toBe(device);
      const ev = m.evaluate(X, y);
      return { h, weights: states.map(([k, t]) => [k, t.toArray()]), pred: pred.toArray(), ev };
    };
    const cpu = await run('cpu');
    const dev = await run('cuda:0');
    expect(dev).toEqual(cpu);
    expect(Object.keys(cpu.h).length).toBeGreaterThan(4);
  });

  it('moves a model and its optimizer state mid-training, the results unchanged', async () => {
    const { X, y } = data();
    const plain = cnn(7, 'cpu', false);
    await plain.fit(X, y, { n_epochs: 3, batch_size: 12, shuffle: false, verbose: 0 });
    const moved = cnn(7, 'cpu', false);
    await moved.fit(X, y, { n_epochs: 1, batch_size: 12, shuffle: false, verbose: 0 });
    moved.to('cuda:1');
    const state = (moved.optimizer as unknown as { state: Map<string, { bufs: Record<string, Tensor> }> }).state;
    const bufs = [...state.values()].flatMap((st) => Object.values(st.bufs));
    expect(bufs.length).toBeGreaterThan(0);
    for (const b of bufs) expect(b.device).toBe('cuda:1');
    await moved.fit(X, y, { n_epochs: 1, batch_size: 12, shuffle: false, verbose: 0 });
    moved.to('cpu');
    await moved.fit(X, y, { n_epochs: 1, batch_size: 12, shuffle: false, verbose: 0 });
    expect(moved.get_weights()).toEqual(plain.get_weights());
    // a batch on another device than the model is an ERR_DEVICE when the model is called directly
    moved.to('cuda:0');
    expect(deviceError(() => moved._forward_pass(X.to('cuda:1'), false)).message).toMatch(/conv2d: inputs on different devices: 'x' on cuda:1, 'w' on cuda:0/);
  });

  it('saves a model from the device and loads it back there', async () => {
    const { X, y } = data();
    const m = cnn(5, 'cuda:0', true);
    await m.fit(X, y, { n_epochs: 1, batch_size: 8, verbose: 0 });
    const dir = mkdtempSync(join(tmpdir(), 'ravdl-cuda-mock-'));
    dirs.push(dir);
    await m.save(dir);
    const loaded = (await NeuralNetwork.load(dir)).to('cuda:1');
    expect(loaded.state_tensors().every(([, t]) => t.device === 'cuda:1')).toBe(true);
    expect(loaded.get_weights()).toEqual(m.get_weights());
    expect(loaded.predict(X).toArray()).toEqual(m.predict(X).toArray());
    loaded.set_weights(m.get_weights());
    expect(loaded.get_weights()).toEqual(m.get_weights());
  });

  it('trains a Functional model there', () => {
    class Net extends Functional {
      d1 = new Dense(4);
      d2 = new Dense(2);
      constructor() {
        super();
        this.initialize_params(new SGD({ lr: 0.1, momentum: 0.9 }));
      }
      _forward_pass_call(input: Tensor) {
        return this.d2._forward_pass(R.relu(this.d1._forward_pass(input)));
      }
    }
    const steps = (device: 'cpu' | 'cuda:1') => {
      R.manual_seed(8);
      const net = new Net();
      const X = R.t([[1, 2, 3], [4, 5, 6]], { device });
      const Y = R.t([[1, 0], [0, 1]], { device });
      net._backward_pass(R.square_loss(Y, net._forward_pass(X)));
      net.to(device);
      const losses: number[] = [];
      for (let i = 0; i < 3; i++) {
        const loss = R.square_loss(Y, net._forward_pass(X));
        losses.push(loss.item());
        net._backward_pass(loss);
      }
      expect(net.state_tensors().every(([, t]) => t.device === device)).toBe(true);
      return losses;
    };
    expect(steps('cuda:1')).toEqual(steps('cpu'));
  });
});

describe('graphs on a CUDA device (the stand-in)', () => {
  it('the executor runs a recorded training graph there with the CPU results, bit for bit', async () => {
    const { X, y } = data();
    R.flush();
    const graph = new R.Graph({ name: 'on-device', algorithm: 'test', approach: 'distributed' });
    const m = cnn(3, 'cpu', false);
    m.fit_sync(X, y, { n_epochs: 1, batch_size: 12, shuffle: false, verbose: 0 }); // shuffled batches gather rows: no gather in the stand-in
    R.activate();
    const keep = [...graph.variableValues().values()];
    const constData = (n: ConstNode) => n.data!;
    const cpu = await executeGraph(graph.data, { constData, keep });
    const dev = await executeGraph(graph.data, { constData, keep, device: 'cuda:1' });
    expect(dev.persisted.size).toBeGreaterThan(0);
    for (const [name, t] of dev.persisted) {
      expect(t.device, name).toBe('cuda:1');
      expect(t.toArray(), name).toEqual(cpu.persisted.get(name)!.toArray());
    }
    expect(dev.kept.map((t) => t.toArray())).toEqual(cpu.kept.map((t) => t.toArray()));
    R.flush();
  });
});
