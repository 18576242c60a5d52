// ravdl/v2/layers against torch.nn (fixtures from test/fixtures/gen/gen_layers_v2.py): output,
// input gradients, parameter gradients and BN running stats; plus default init, lazy build,
// argument errors and get_config -> layerFromConfig round trips.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as R from '../../lib/index.js';
import * as L from '../../lib/v2/layers/index.js';
import { expectClose, expectCode } from '../helpers/fixtures.js';

interface T {
  shape: number[];
  dtype: 'float32' | 'int32';
  data: number[];
}
interface Step {
  training: boolean;
  inputs: T[];
  upstream: T;
  output: T;
  input_grads: (T | null)[];
  param_grads: Record<string, T>;
  buffers: Record<string, T>;
  indices?: T;
}
interface Case {
  name: string;
  layer: string;
  args: any[];
  options: Record<string, any>;
  init: Record<string, T>;
  steps: Step[];
}

const file = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'v2', 'layers.json');
const cases: Case[] = JSON.parse(readFileSync(file, 'utf8')).cases;
const tensor = (f: T) => R.t(f.dtype === 'int32' ? Int32Array.from(f.data) : Float32Array.from(f.data), { shape: f.shape });

const CTORS: Record<string, (a: any[], o: any) => L.Layer> = {
  Dense: (a, o) => new L.Dense(a[0], o),
  Conv2D: (a, o) => new L.Conv2D(a[0], a[1], a[2], o),
  MaxPooling2D: (a, o) => new L.MaxPooling2D(a[0], o),
  Conv1D: (a, o) => new L.Conv1D(a[0], a[1], a[2], o),
  AveragePooling2D: (a, o) => new L.AveragePooling2D(a[0], o),
  GlobalAveragePooling2D: (_, o) => new L.GlobalAveragePooling2D(o),
  BatchNormalization1D: (_, o) => new L.BatchNormalization1D(o),
  BatchNormalization2D: (a, o) => new L.BatchNormalization2D(a[0], o),
  LayerNormalization: (a, o) => new L.LayerNormalization(a[0], o),
  Embedding: (a, o) => new L.Embedding(a[0], a[1], o),
  Activation: (a, o) => new L.Activation(a[0], o),
  Dropout: (a, o) => new L.Dropout(a[0], o),
  Flatten: (_, o) => new L.Flatten(o),
  Concat: (_, o) => new L.Concat(o),
  Add: (_, o) => new L.Add(o),
  Subtract: (_, o) => new L.Subtract(o),
  Multiply: (_, o) => new L.Multiply(o),
  Division: (_, o) => new L.Division(o),
  Dot: (_, o) => new L.Dot(o),
  Power: (_, o) => new L.Power(o),
  Reshape: (a, o) => new L.Reshape(a[0], o),
  Transpose: (a, o) => (a.length === 2 ? new L.Transpose(a[0], a[1], o) : new L.Transpose(a[0], o)),
};

function forward(layer: L.Layer, xs: R.Tensor[], training: boolean): R.Tensor {
  if (layer instanceof L.Concat) return layer._forward_pass(xs, training);
  if (layer instanceof L.MultiInputLayer && xs.length === 2) return layer._forward_pass(xs[0]!, xs[1]!, training);
  return layer._forward_pass(xs[0]!, training);
}

const tol = { rtol: 1e-4, atol: 1e-5 };

describe('layers vs torch.nn', () => {
  it('covers every layer class', () => {
    expect(new Set(cases.map((c) => c.layer))).toEqual(new Set(Object.keys(CTORS)));
  });

  for (const c of cases) {
    it(c.name, () => {
      const init = Object.fromEntries(Object.entries(c.init).map(([k, v]) => [`initial_${k}`, tensor(v)]));
      const layer = CTORS[c.layer]!(c.args, { ...c.options, ...init });
      c.steps.forEach((s, i) => {
        const at = `${c.name} step ${i}`;
        const xs = s.inputs.map((f) => {
          const x = tensor(f);
          return x.dtype === 'float32' ? x.requires_grad_(true) : x;
        });
        for (const [, p] of layer.parameters()) p.grad = null;
        const y = forward(layer, xs, s.training);
        expect(y.shape, `${at}: output shape`).toEqual(s.output.shape);
        expectClose(y._data, s.output.data, { ...tol, label: `${at}: output` });
        if (s.indices) expectClose(layer instanceof L.MaxPooling2D ? layer.last_indices!._data : [], s.indices.data, { atol: 0, rtol: 0, label: `${at}: indices` });

        const trainable = xs.some((x) => x.requires_grad) || layer.parameters().length > 0;
        if (trainable) R.backward(R.sum(R.mul(y, tensor(s.upstream))));
        s.input_grads.forEach((g, j) => {
          if (!g) return;
          expect(xs[j]!.grad, `${at}: input ${j} grad`).not.toBeNull();
          expectClose(xs[j]!.grad!._data, g.data, { ...tol, label: `${at}: input ${j} grad` });
        });
        const params = new Map(layer.parameters());
        expect([...params.keys()].sort(), `${at}: parameters`).toEqual(Object.keys(s.param_grads).sort());
        for (const [k, g] of Object.entries(s.param_grads)) expectClose(params.get(k)!.grad!._data, g.data, { ...tol, label: `${at}: grad of ${k}` });
        const state = new Map(layer.state_tensors());
        for (const [k, b] of Object.entries(s.buffers)) expectClose(state.get(k)!._data, b.data, { ...tol, label: `${at}: buffer ${k}` });
      });
    });
  }
});

describe('default initialization', () => {
  const stats = (t: R.Tensor) => {
    const d = Array.from(t._data);
    const mean = d.reduce((a, b) => a + b, 0) / d.length;
    const std = Math.sqrt(d.reduce((a, b) => a + (b - mean) ** 2, 0) / d.length);
    return { min: Math.min(...d), max: Math.max(...d), mean, std };
  };
  const params = (l: L.Layer) => new Map(l.parameters());

  it('Dense: U(±1/sqrt(input_dim)) for W and w0', () => {
    const l = new L.Dense(200, { input_shape: [50] });
    l.build([50]);
    const b = 1 / Math.sqrt(50);
    const w = stats(params(l).get('W')!);
    expect(params(l).get('W')!.shape).toEqual([200, 50]);
    expect(w.min).toBeGreaterThanOrEqual(-b);
    expect(w.max).toBeLessThanOrEqual(b);
    expect(w.max).toBeGreaterThan(0.95 * b);
    expect(w.std).toBeCloseTo(b / Math.sqrt(3), 2);
    const w0 = stats(params(l).get('w0')!);
    expect(Math.max(-w0.min, w0.max)).toBeLessThanOrEqual(b);
    expect(Math.max(-w0.min, w0.max)).toBeGreaterThan(0.8 * b);
  });

  it('Conv2D: U(±1/sqrt(in/groups*kh*kw)) for W and w0, W (out, in/groups, kh, kw)', () => {
    const l = new L.Conv2D(4, 64, [3, 2], { groups: 2 });
    l.build([4, 8, 8]);
    const W = params(l).get('W')!;
    expect(W.shape).toEqual([64, 2, 3, 2]);
    const b = 1 / Math.sqrt(2 * 3 * 2);
    const w = stats(W);
    expect(w.min).toBeGreaterThanOrEqual(-b);
    expect(w.max).toBeLessThanOrEqual(b);
    expect(Math.min(-w.min, w.max)).toBeGreaterThan(0.95 * b); // a fan_in of in_channels*kh*kw would stay under 0.71 b
    expect(w.mean).toBeCloseTo(0, 1);
    const w0 = stats(params(l).get('w0')!);
    expect(params(l).get('w0')!.shape).toEqual([64]);
    expect(Math.max(-w0.min, w0.max)).toBeLessThanOrEqual(b);
    expect(Math.max(-w0.min, w0.max)).toBeGreaterThan(0.8 * b);
  });

  it('Embedding: N(0, 1)', () => {
    const l = new L.Embedding(100, 40);
    l.build([3]);
    const w = stats(params(l).get('W')!);
    expect(w.mean).toBeCloseTo(0, 1);
    expect(w.std).toBeGreaterThan(0.95);
    expect(w.std).toBeLessThan(1.05);
  });

  it('BatchNormalization and LayerNormalization: ones and zeros, running stats 0 and 1', () => {
    const bn = new L.BatchNormalization2D(3);
    bn.build([3, 4, 4]);
    const s = new Map(bn.state_tensors());
    expect(Array.from(s.get('gamma')!._data)).toEqual([1, 1, 1]);
    expect(Array.from(s.get('beta')!._data)).toEqual([0, 0, 0]);
    expect(Array.from(s.get('running_mean')!._data)).toEqual([0, 0, 0]);
    expect(Array.from(s.get('running_var')!._data)).toEqual([1, 1, 1]);
    expect(bn.parameters().map(([k]) => k)).toEqual(['gamma', 'beta']);
    const nobn = new L.BatchNormalization1D({ affine: false });
    nobn.build([5]);
    expect(nobn.parameters()).toEqual([]);
    expect(nobn.state_tensors().map(([k]) => k)).toEqual(['running_mean', 'running_var']);
    const ln = new L.LayerNormalization([2, 3]);
    ln.build([4, 2, 3]);
    expect(Array.from(params(ln).get('W')!._data)).toEqual([1, 1, 1, 1, 1, 1]);
    expect(Array.from(params(ln).get('w0')!._data)).toEqual([0, 0, 0, 0, 0, 0]);
  });
});

describe('lazy build and shape errors', () => {
  it('creates parameters on the first batch, sized from it', () => {
    const bn = new L.BatchNormalization1D();
    const ln = new L.LayerNormalization();
    expect(bn.built).toBe(false);
    expect(bn.parameters()).toEqual([]);
    bn._forward_pass(R.randn([4, 6, 3]));
    ln._forward_pass(R.randn([4, 6, 3]));
    expect(bn.built).toBe(true);
    expect(bn.parameters()[0]![1].shape).toEqual([6]);
    expect(ln.parameters()[0]![1].shape).toEqual([3]);
    expect(bn.parameters_count()).toBe(12);
    expectCode(() => bn._forward_pass(R.randn([4, 5, 3])), 'ERR_SHAPE', /BatchNormalization1D: batch_norm: .*6/);
  });

  it('checks input_shape and the input against the layer arguments', () => {
    expectCode(() => new L.Conv2D(3, 4, 3, { input_shape: [3, 8, 8] })._forward_pass(R.randn([2, 3, 8, 9])), 'ERR_SHAPE', /input_shape is \[3, 8, 8\]/);
    expectCode(() => new L.Conv2D(3, 4, 3)._forward_pass(R.randn([2, 2, 8, 8])), 'ERR_SHAPE', /Conv2D: in_channels is 3 but the input has 2 channels/);
    expectCode(() => new L.Conv2D(3, 4, 3)._forward_pass(R.randn([3, 8, 8])), 'ERR_SHAPE', /Conv2D: input must be \(N, C, H, W\)/);
    expectCode(() => new L.Conv2D(3, 4, 3).output_shape(), 'ERR_SHAPE', /input shape is not known/);
    expect(new L.Conv2D(3, 4, 3, { input_shape: [3, 8, 9], stride: 2 }).output_shape()).toEqual([4, 3, 4]);
    expectCode(() => new L.MaxPooling2D(2)._forward_pass(R.randn([3, 8, 8])), 'ERR_SHAPE', /MaxPooling2D: input must be \(N, C, H, W\)/);
    expectCode(() => new L.BatchNormalization1D()._forward_pass(R.randn([2, 3, 4, 4])), 'ERR_SHAPE', /BatchNormalization1D: input must be \(N, C\) or \(N, C, L\)/);
    expectCode(() => new L.BatchNormalization2D(3)._forward_pass(R.randn([2, 3, 4])), 'ERR_SHAPE', /BatchNormalization2D: input must be \(N, C, H, W\)/);
    expectCode(() => new L.BatchNormalization2D(3)._forward_pass(R.randn([2, 4, 4, 4])), 'ERR_SHAPE', /num_features is 3 but the input has 4 channels/);
    expectCode(() => new L.LayerNormalization([3, 4])._forward_pass(R.randn([2, 4, 3])), 'ERR_SHAPE', /normalized_shape \[3, 4\] does not match/);
    expectCode(() => new L.LayerNormalization([2, 3])._forward_pass(R.randn([2, 3])), 'ERR_SHAPE', /LayerNormalization/);
    expectCode(() => new L.Reshape([5, -1])._forward_pass(R.randn([2, 3, 4])), 'ERR_SHAPE', /Reshape: cannot reshape samples of shape \[3, 4\]/);
    expectCode(() => new L.Transpose([0, 2, 1])._forward_pass(R.randn([2, 3])), 'ERR_SHAPE', /Transpose: axes \[0,2,1\] do not fit inputs of rank 2/);
    expectCode(() => new L.Transpose(1, 3)._forward_pass(R.randn([2, 3, 4])), 'ERR_SHAPE', /Transpose: dims \[1,3\]/);
    expectCode(() => new L.BatchNormalization1D({ initial_gamma: [1, 2] })._forward_pass(R.randn([2, 3])), 'ERR_SHAPE', /initial gamma has shape \[2\], expected \[3\]/);
  });

  it('Embedding takes int32 ids and rejects ids out of range', () => {
    const e = new L.Embedding(5, 2);
    expect(e.input_dtype()).toBe('int32');
    expect(e.output_shape([3])).toEqual([3, 2]);
    expectCode(() => e._forward_pass(R.t([[0, 1, 2]])), 'ERR_DTYPE', /Embedding: ids must be int32/);
    expectCode(() => e._forward_pass(R.t([[0, 5, 1]], { dtype: 'int32' })), 'ERR_INDEX');
    expectCode(() => e._forward_pass(R.t([[0, -1, 1]], { dtype: 'int32' })), 'ERR_INDEX');
  });
});

describe('argument errors name the layer and the value', () => {
  const bad: Array<[string, () => unknown, string, RegExp]> = [
    ['Conv2D negative out_channels', () => new L.Conv2D(3, -4, 3), 'ERR_ATTR', /Conv2D: out_channels must be a positive integer, got -4/],
    ['Conv2D zero kernel', () => new L.Conv2D(3, 4, 0), 'ERR_ATTR', /Conv2D: kernel_size must be .*got 0/],
    ['Conv2D padding_mode', () => new L.Conv2D(3, 4, 3, { padding_mode: 'mirror' as never }), 'ERR_ATTR', /Conv2D: option 'padding_mode' .*"mirror"/],
    ['Conv2D padding', () => new L.Conv2D(3, 4, 3, { padding: 'full' as never }), 'ERR_ATTR', /Conv2D: option 'padding' .*"full"/],
    ['Conv2D groups', () => new L.Conv2D(3, 4, 3, { groups: 2 }), 'ERR_ATTR', /Conv2D: in_channels \(3\) and out_channels \(4\) must both be divisible by groups \(2\)/],
    ['Conv2D same + stride', () => new L.Conv2D(3, 4, 3, { padding: 'same', stride: 2 }), 'ERR_ATTR', /padding='same' needs stride 1/],
    ['Conv2D unknown option', () => new L.Conv2D(3, 4, 3, { strides: 2 } as never), 'ERR_ATTR', /Conv2D: unknown option 'strides'/],
    ['MaxPooling2D kernel', () => new L.MaxPooling2D(-2), 'ERR_ATTR', /MaxPooling2D: kernel_size .*got -2/],
    ['MaxPooling2D padding', () => new L.MaxPooling2D(2, { padding: 2 }), 'ERR_ATTR', /MaxPooling2D: padding 2 must be at most half of kernel_size 2/],
    ['MaxPooling2D stride', () => new L.MaxPooling2D(2, { stride: 0 }), 'ERR_ATTR', /MaxPooling2D: option 'stride' .*got 0/],
    ['BN momentum', () => new L.BatchNormalization1D({ momentum: 1.5 }), 'ERR_ATTR', /BatchNormalization1D: option 'momentum' .*got 1.5/],
    ['BN epsilon', () => new L.BatchNormalization2D(3, { epsilon: 0 }), 'ERR_ATTR', /BatchNormalization2D: option 'epsilon' .*got 0/],
    ['BN num_features', () => new L.BatchNormalization2D(0), 'ERR_ATTR', /BatchNormalization2D: num_features must be a positive integer, got 0/],
    ['LN normalized_shape', () => new L.LayerNormalization([3, -1]), 'ERR_ATTR', /LayerNormalization: normalized_shape .*\[3,-1\]/],
    ['Embedding vocab', () => new L.Embedding(-1, 4), 'ERR_ATTR', /Embedding: vocab_size must be a positive integer, got -1/],
    ['Concat axis', () => new L.Concat({ axis: 1.5 }), 'ERR_ATTR', /Concat: option 'axis' must be an integer, got 1.5/],
    ['Power power', () => new L.Power({ power: 'two' as never }), 'ERR_ATTR', /Power: option 'power' must be a number, got "two"/],
    ['Reshape two -1', () => new L.Reshape([-1, -1]), 'ERR_ATTR', /Reshape: shape .*\[-1,-1\]/],
    ['Transpose axes', () => new L.Transpose([0, 0, 1]), 'ERR_ATTR', /Transpose: axes must be a permutation .*\[0,0,1\]/],
    ['Add one input', () => new L.Add()._forward_pass(R.randn([2, 3])), 'ERR_ARG', /Add: takes 2 input tensors, got 1/],
    ['Dot three inputs', () => new L.Dot()._forward_pass([R.randn([2, 3]), R.randn([3, 2]), R.randn([2, 2])]), 'ERR_ARG', /Dot: takes 2 input tensors, got 3/],
    ['Power two inputs with power', () => new L.Power({ power: 2 })._forward_pass(R.randn([2, 3]), R.randn([2, 3])), 'ERR_ARG', /Power: takes 1 input tensor, got 2/],
    ['Concat no input', () => new L.Concat()._forward_pass([]), 'ERR_ARG', /Concat: takes at least 1 input tensors, got 0/],
    ['Add not a tensor', () => new L.Add()._forward_pass([R.randn([2]), [1, 2] as never]), 'ERR_ARG', /Add: input 1 must be a Tensor/],
  ];
  for (const [name, fn, code, re] of bad) it(name, () => expectCode(fn, code, re));
});

describe('layer behaviour', () => {
  it('MaxPooling2D keeps last_indices only with return_indices', () => {
    const x = R.randn([1, 2, 4, 4]);
    const plain = new L.MaxPooling2D(2);
    plain._forward_pass(x);
    expect(plain.last_indices).toBeNull();
    const withIdx = new L.MaxPooling2D(2, { return_indices: true });
    const y = withIdx._forward_pass(x);
    const idx = withIdx.last_indices!;
    expect(idx.dtype).toBe('int32');
    expect(idx.shape).toEqual(y.shape);
    // each index points at the pooled value in its H*W plane
    for (let i = 0; i < y.size; i++) expect(x._data[Math.floor(i / 4) * 16 + idx._data[i]!]).toBe(y._data[i]);
  });

  it('multi-input layers accept (a, b, training) and ([a, b], training) alike', () => {
    const a = R.randn([2, 3]);
    const b = R.randn([2, 3]);
    for (const l of [new L.Add(), new L.Subtract(), new L.Multiply(), new L.Concat({ axis: 0 })]) {
      const y1 = l instanceof L.Concat ? l._forward_pass([a, b]) : l._forward_pass(a, b);
      const y2 = l._forward_pass([a, b], false);
      expect(Array.from(y2._data)).toEqual(Array.from(y1._data));
    }
    expect(new L.Concat({ axis: 0 })._forward_pass([a, b]).shape).toEqual([4, 3]);
  });

  it('Power with a fixed exponent works in a single-input chain (output_shape)', () => {
    expect(new L.Power({ power: 2 }).output_shape([3, 4])).toEqual([3, 4]);
    expect(new L.Reshape([-1]).output_shape([3, 4])).toEqual([12]);
    expect(new L.Transpose(1, 2).output_shape([3, 4])).toEqual([4, 3]);
  });

  it('BatchNormalization momentum is Keras-style: running = m * running + (1 - m) * batch', () => {
    const bn = new L.BatchNormalization1D({ momentum: 0.75 });
    bn._forward_pass(R.t([[1], [3]]));
    const s = new Map(bn.state_tensors());
    expect(s.get('running_mean')!._data[0]).toBeCloseTo(0.25 * 2, 6);
    expect(s.get('running_var')!._data[0]).toBeCloseTo(0.75 * 1 + 0.25 * 2, 6); // unbiased batch variance 2
    bn._forward_pass(R.t([[5], [7]]), false); // eval leaves the running stats alone
    expect(s.get('running_mean')!._data[0]).toBeCloseTo(0.5, 6);
  });
});

describe('get_config -> layerFromConfig round trip', () => {
  const makers: Array<[L.Layer, R.Tensor[]]> = [
    [new L.Conv2D(4, 6, [3, 2], { stride: [2, 1], padding: 'valid', dilation: 1, groups: 2, bias: false, padding_mode: 'reflect' }), [R.randn([2, 4, 7, 6])]],
    [new L.Conv2D(2, 3, 3, { padding: [1, 2], padding_mode: 'circular', input_shape: [2, 5, 5] }), [R.randn([2, 2, 5, 5])]],
    [new L.MaxPooling2D([3, 2], { stride: 2, padding: 1, dilation: 1, ceil_mode: true, return_indices: true }), [R.randn([2, 3, 7, 7])]],
    [new L.BatchNormalization1D({ momentum: 0.9, epsilon: 1e-3, affine: false }), [R.randn([4, 3, 5])]],
    [new L.BatchNormalization2D(3, { momentum: 0.8 }), [R.randn([2, 3, 4, 4])]],
    [new L.LayerNormalization([3, 4], { epsilon: 1e-3 }), [R.randn([2, 3, 4])]],
    [new L.LayerNormalization(), [R.randn([2, 3, 4])]],
    [new L.Embedding(6, 3), [R.t([[0, 5, 2]], { dtype: 'int32' })]],
    [new L.Concat({ axis: 1 }), [R.randn([2, 3]), R.randn([2, 2])]],
    [new L.Add(), [R.randn([2, 3]), R.randn([2, 3])]],
    [new L.Subtract(), [R.randn([2, 3]), R.randn([2, 3])]],
    [new L.Multiply(), [R.randn([2, 3]), R.randn([2, 3])]],
    [new L.Division(), [R.randn([2, 3]), R.add(R.rand([2, 3]), 1)]],
    [new L.Dot(), [R.randn([2, 3, 4]), R.randn([2, 4, 2])]],
    [new L.Power({ power: 3 }), [R.randn([2, 3])]],
    [new L.Power(), [R.add(R.rand([2, 3]), 1), R.randn([2, 3])]],
    [new L.Reshape([2, -1]), [R.randn([2, 3, 4])]],
    [new L.Transpose([2, 0, 1]), [R.randn([2, 3, 4])]],
    [new L.Transpose(-1, 1), [R.randn([2, 3, 4])]],
    [new L.Dense(3, { use_bias: false }), [R.randn([2, 4])]],
    [new L.Dense(2, { input_shape: [4] }), [R.randn([2, 4])]],
    [new L.Dropout(0.3), [R.randn([2, 4])]],
    [new L.Flatten({ start_dim: 2 }), [R.randn([2, 3, 4, 2])]],
    [new L.Activation('leaky_relu', { negative_slope: 0.3 }), [R.randn([2, 3])]],
    [new L.Conv1D(4, 6, 3, { stride: 2, padding: 'valid', dilation: 1, groups: 2, bias: false, padding_mode: 'reflect' }), [R.randn([2, 4, 9])]],
    [new L.Conv1D(2, 3, 2, { padding: 'same', input_shape: [2, 7] }), [R.randn([2, 2, 7])]],
    [new L.AveragePooling2D([3, 2], { stride: 2, padding: 1, ceil_mode: true, count_include_pad: false, divisor_override: 5 }), [R.randn([2, 3, 7, 7])]],
    [new L.GlobalAveragePooling2D({ keepdims: true }), [R.randn([2, 3, 4, 5])]],
  ];
  for (const [layer, xs] of makers) {
    it(`${layer.layer_name()} ${JSON.stringify(layer.get_config())}`, () => {
      forward(layer, xs, false); // builds it
      // Move the state away from any default init (running_var stays positive) so load_state shows.
      for (const [, v] of layer.state_tensors()) v._data.forEach((d, i, a) => (a[i] = d * 1.5 + 0.1));
      const y = forward(layer, xs, false);
      const config = JSON.parse(JSON.stringify(layer.get_config()));
      const copy = L.layerFromConfig(layer.layer_name(), config);
      expect(copy.constructor).toBe(layer.constructor);
      const y0 = forward(copy, xs, false); // builds it
      expect(copy.get_config()).toEqual(config);
      copy.load_state(new Map(layer.state_tensors()));
      const y2 = forward(copy, xs, false);
      expect(y2.shape).toEqual(y.shape);
      expectClose(y2._data, y._data, { atol: 0, rtol: 0, label: 'output after load_state' });
      if (layer.state_tensors().length) expect(Array.from(y0._data)).not.toEqual(Array.from(y._data)); // before load_state it differs
    });
  }
});

describe('built layers take other sample shapes where their parameters fit', () => {
  it('Embedding and Dense over sequences of different lengths', () => {
    const emb = new L.Embedding(10, 4);
    const dense = new L.Dense(2);
    expect(dense._forward_pass(emb._forward_pass(R.t(Int32Array.from([1, 2, 3, 4, 5, 6]), { shape: [2, 3] }))).shape).toEqual([2, 3, 2]);
    expect(dense._forward_pass(emb._forward_pass(R.t(Int32Array.from([1, 2, 3, 4]), { shape: [2, 2] }))).shape).toEqual([2, 2, 2]);
    expect(() => dense._forward_pass(R.zeros([2, 5]))).toThrow(/^Dense: matmul: /);
  });
});

describe('layer options go through the ops\' schema mechanism', () => {
  // Every layer class with a typo'd option, a misspelled flag and a mistyped value: all AttrErrors.
  const ctors: Array<[string, (o: any) => L.Layer]> = [
    ['Dense', (o) => new L.Dense(3, o)],
    ['Embedding', (o) => new L.Embedding(5, 2, o)],
    ['Conv2D', (o) => new L.Conv2D(3, 4, 3, o)],
    ['Conv1D', (o) => new L.Conv1D(3, 4, 3, o)],
    ['MaxPooling2D', (o) => new L.MaxPooling2D(2, o)],
    ['AveragePooling2D', (o) => new L.AveragePooling2D(2, o)],
    ['GlobalAveragePooling2D', (o) => new L.GlobalAveragePooling2D(o)],
    ['BatchNormalization1D', (o) => new L.BatchNormalization1D(o)],
    ['BatchNormalization2D', (o) => new L.BatchNormalization2D(3, o)],
    ['LayerNormalization', (o) => new L.LayerNormalization(null, o)],
    ['Dropout', (o) => new L.Dropout(0.5, o)],
    ['Flatten', (o) => new L.Flatten(o)],
    ['Activation', (o) => new L.Activation('relu', o)],
    ['Concat', (o) => new L.Concat(o)],
    ['Add', (o) => new L.Add(o)],
    ['Subtract', (o) => new L.Subtract(o)],
    ['Multiply', (o) => new L.Multiply(o)],
    ['Division', (o) => new L.Division(o)],
    ['Dot', (o) => new L.Dot(o)],
    ['Power', (o) => new L.Power(o)],
    ['Reshape', (o) => new L.Reshape([-1], o)],
    ['Transpose', (o) => new L.Transpose([0, 1], o)],
  ];
  it('covers every registered layer class', () => {
    const registered = /known: ([^;]*);/.exec((() => { try { L.layerFromConfig('?', {}); } catch (e) { return (e as Error).message; } return ''; })())![1]!.split(', ');
    expect(new Set(ctors.map(([n]) => n))).toEqual(new Set(registered));
  });
  for (const [name, make] of ctors) {
    it(`${name}: unknown options, a non-object and a mistyped input_shape are refused`, () => {
      expectCode(() => make({ bias_typo: false }), 'ERR_ATTR', new RegExp(`^${name}[^:]*: unknown option 'bias_typo' \\(valid options: input_shape`));
      expectCode(() => make(5), 'ERR_ATTR', new RegExp(`^${name}[^:]*: options must be an object, got 5`));
      expectCode(() => make({ input_shape: [2, 0] }), 'ERR_SHAPE', /input_shape must be positive integers, got \[2, 0\]/);
      expect(make({ input_shape: undefined }).input_shape).toBeNull(); // undefined counts as not given
    });
  }
  it('the case of the issue: new Dense(3, { bias: false }) no longer keeps its bias silently', () => {
    expectCode(() => new L.Dense(3, { bias: false } as never), 'ERR_ATTR', /Dense: unknown option 'bias' \(valid options: input_shape, initial_W, initial_w0, use_bias\)/);
    expectCode(() => new L.Dense(3, { use_bias: 'no' } as never), 'ERR_ATTR', /Dense: option 'use_bias' must be true or false, got "no"/);
    expectCode(() => new L.Embedding(5, 2, { padding_idx: 0 } as never), 'ERR_ATTR', /Embedding: unknown option 'padding_idx'/);
  });
  it('Activation options are those of its op, checked under the activation\'s name', () => {
    expectCode(() => new L.Activation('elu', { beta: 2 } as never), 'ERR_ATTR', /^Activation\('elu'\): unknown option 'beta' \(valid options: input_shape, alpha\)/);
    expectCode(() => new L.Activation('relu', { alpha: 2 } as never), 'ERR_ATTR', /^Activation\('relu'\): unknown option 'alpha' \(valid options: input_shape\)/);
    expectCode(() => new L.Activation('leaky_relu', { negative_slope: 'x' } as never), 'ERR_ATTR', /Activation\('leaky_relu'\): option 'negative_slope' must be a number, got "x"/);
    expectCode(() => new L.Activation('threshold', { threshold: 0.5 } as never), 'ERR_ATTR', /Activation\('threshold'\): option 'value' is required/);
    expectCode(() => new L.Activation('softmax', { axis: 0.5 }), 'ERR_ATTR', /Activation\('softmax'\): option 'axis' must be an integer/);
    expect(L.ACTIVATION_NAMES.length).toBe(16);
  });
  it('new layers reject what torch rejects', () => {
    expectCode(() => new L.Conv1D(3, 4, 0), 'ERR_ATTR', /Conv1D: kernel_size must be a positive integer, got 0/);
    expectCode(() => new L.Conv1D(3, 4, 3, { groups: 2 }), 'ERR_ATTR', /Conv1D: in_channels \(3\) and out_channels \(4\) must both be divisible by groups \(2\)/);
    expectCode(() => new L.Conv1D(3, 4, 3, { padding: 'same', stride: 2 }), 'ERR_ATTR', /padding='same' needs stride 1/);
    expectCode(() => new L.Conv1D(3, 4, 3)._forward_pass(R.randn([2, 3, 4, 4])), 'ERR_SHAPE', /Conv1D: input must be \(N, C, L\)/);
    expectCode(() => new L.Conv1D(3, 4, 3)._forward_pass(R.randn([2, 2, 8])), 'ERR_SHAPE', /Conv1D: in_channels is 3 but the input has 2 channels/);
    expectCode(() => new L.AveragePooling2D(2, { padding: 2 }), 'ERR_ATTR', /AveragePooling2D: padding 2 must be at most half of kernel_size 2/);
    expectCode(() => new L.AveragePooling2D(2, { divisor_override: 0 }), 'ERR_ATTR', /AveragePooling2D: option 'divisor_override'/);
    expectCode(() => new L.AveragePooling2D(2)._forward_pass(R.randn([2, 3, 4])), 'ERR_SHAPE', /AveragePooling2D: input must be \(N, C, H, W\)/);
    expectCode(() => new L.GlobalAveragePooling2D()._forward_pass(R.randn([2, 3, 4])), 'ERR_SHAPE', /GlobalAveragePooling2D: input must be \(N, C, H, W\)/);
  });
  it('Conv1D initializes like torch: U(±1/sqrt(in/groups * k))', () => {
    const l = new L.Conv1D(4, 64, 3, { groups: 2 });
    l.build([4, 10]);
    const W = new Map(l.parameters()).get('W')!;
    expect(W.shape).toEqual([64, 2, 3]);
    const b = 1 / Math.sqrt(2 * 3);
    const d = Array.from(W._data);
    expect(Math.min(...d)).toBeGreaterThanOrEqual(-b);
    expect(Math.max(...d)).toBeLessThanOrEqual(b);
    expect(Math.max(...d.map(Math.abs))).toBeGreaterThan(0.95 * b);
  });
});

describe('default layer names', () => {
  it('snake case of the class name, a dimension suffix joined to a short word', () => {
    const names: Array<[L.Layer, string]> = [
      [new L.Dense(2), 'dense'],
      [new L.Conv2D(1, 1, 1), 'conv2d'],
      [new L.Conv1D(1, 1, 1), 'conv1d'],
      [new L.MaxPooling2D(2), 'max_pooling_2d'],
      [new L.AveragePooling2D(2), 'average_pooling_2d'],
      [new L.GlobalAveragePooling2D(), 'global_average_pooling_2d'],
      [new L.BatchNormalization1D(), 'batch_normalization_1d'],
      [new L.BatchNormalization2D(2), 'batch_normalization_2d'],
      [new L.LayerNormalization(), 'layer_normalization'],
      [new L.Activation('relu'), 'activation'],
    ];
    for (const [l, want] of names) expect(l.defaultName(), l.layer_name()).toBe(want);
    expect(L.snakeCase('HTTPEncoderBlock12')).toBe('http_encoder_block_12');
  });
});
