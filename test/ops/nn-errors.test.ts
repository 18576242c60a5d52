// Bad inputs to the neural-network ops: typed errors naming the op and the shapes or values;
// plus the purity of batch_norm (its running-stat inputs are never written).
import { describe, expect, it } from 'vitest';
import * as R from '../../lib/index.js';
import { expectError } from '../helpers/fixtures.js';

const ints = (...v: number[]) => R.t(Int32Array.from(v));

describe('conv2d / max_pool2d errors', () => {
  it('channel mismatch, bad bias, bad rank name the op and the shapes', () => {
    expectError(() => R.conv2d(R.randn([1, 3, 5, 5]), R.randn([2, 4, 3, 3])), R.ShapeError, 'conv2d', '[1, 3, 5, 5]', '[2, 4, 3, 3]');
    expectError(() => R.conv2d(R.randn([1, 3, 5, 5]), R.randn([2, 3, 3, 3]), R.randn([3])), R.ShapeError, 'conv2d', 'bias', '[3]', '[2]');
    expectError(() => R.conv2d(R.randn([3, 5]), R.randn([2, 3, 3, 3])), R.ShapeError, 'conv2d', '[3, 5]');
    expectError(() => R.conv2d(R.randn([1, 3, 2, 2]), R.randn([2, 3, 3, 3])), R.ShapeError, 'conv2d', '[1, 3, 2, 2]');
  });
  it('bad options are AttrErrors', () => {
    const x = R.randn([1, 3, 5, 5]);
    const w = R.randn([2, 3, 3, 3]);
    expectError(() => R.conv2d(x, w, null, { padding: 'full' as never }), R.AttrError, 'conv2d', 'padding', '"full"');
    expectError(() => R.conv2d(x, w, null, { padding: 'same', stride: 2 }), R.AttrError, 'conv2d', 'same');
    expectError(() => R.conv2d(x, w, null, { stride: 0 }), R.AttrError, 'conv2d', 'stride');
    expectError(() => R.conv2d(x, w, null, { groups: 2 }), R.AttrError, 'conv2d', 'groups');
    expectError(() => R.conv2d(x, w, null, { padding_mode: 'mirror' as never }), R.AttrError, 'conv2d', 'padding_mode');
    expectError(() => R.conv2d(x, w, null, { strides: 2 } as never), R.AttrError, 'conv2d', "'strides'");
    expectError(() => R.max_pool2d(x, {} as never), R.AttrError, 'max_pool2d', 'kernel_size');
    expectError(() => R.max_pool2d(x, { kernel_size: 2, padding: 2 }), R.AttrError, 'max_pool2d', 'padding');
    expectError(() => R.max_pool2d(R.randn([4, 4]), { kernel_size: 2 }), R.ShapeError, 'max_pool2d', '[4, 4]');
  });
});

describe('normalization errors', () => {
  it('batch_norm', () => {
    expectError(() => R.batch_norm(R.randn([4, 3]), null, null), R.ArgError, 'batch_norm', 'running_mean');
    expectError(() => R.batch_norm(R.randn([4, 3]), R.zeros([3]), null, null, null, { training: true }), R.ArgError, 'batch_norm', 'together');
    expectError(() => R.batch_norm(R.randn([4, 3]), null, null, R.randn([4]), null, { training: true }), R.ShapeError, 'batch_norm', 'weight', '[4]', '[3]');
    expectError(() => R.batch_norm(R.randn([1, 3]), null, null, null, null, { training: true }), R.ShapeError, 'batch_norm', '[1, 3]');
    expectError(() => R.batch_norm(R.randn([1, 3, 2, 2, 2]), null, null, null, null, { training: true }), R.ShapeError, 'batch_norm', '[1, 3, 2, 2, 2]');
    expectError(() => R.batch_norm(R.randn([4, 3]), R.zeros([3]), R.ones([3]), null, null, { momentum: 2 }), R.AttrError, 'batch_norm', 'momentum');
    expectError(() => R.batch_norm(R.randn([4, 3]), R.zeros([3]), R.ones([3]), null, null, { eps: 0 }), R.AttrError, 'batch_norm', 'eps');
  });
  it('batch_norm is pure: running stats come back as new tensors, the inputs are unchanged', () => {
    const rm = R.zeros([2]);
    const rv = R.ones([2]);
    const x = R.t([[1, 2], [3, 6]]);
    const out = R.batch_norm_with_stats(x, rm, rv, null, null, { training: true, momentum: 0.5 });
    expect(Array.from(rm._data)).toEqual([0, 0]);
    expect(Array.from(rv._data)).toEqual([1, 1]);
    expect(Array.from(out.running_mean!._data)).toEqual([1, 2]); // 0.5 * 0 + 0.5 * batch mean [2, 4]
    expect(Array.from(out.running_var!._data)).toEqual([1.5, 4.5]); // 0.5 * 1 + 0.5 * unbiased var [2, 8]
    const ev = R.batch_norm_with_stats(x, rm, rv);
    expect(Array.from(ev.running_mean!._data)).toEqual([0, 0]); // eval passes the stats through
    expect(ev.running_mean).not.toBe(rm);
  });
  it('layer_norm', () => {
    expectError(() => R.layer_norm(R.randn([4, 3]), [4]), R.ShapeError, 'layer_norm', '[4]', '[4, 3]');
    expectError(() => R.layer_norm(R.randn([4, 3]), [3], R.randn([4])), R.ShapeError, 'layer_norm', 'weight', '[4]', '[3]');
    expectError(() => R.layer_norm(R.randn([4, 3]), []), R.AttrError, 'layer_norm', 'normalized_shape');
  });
  it('softmax axis out of range', () => {
    expectError(() => R.softmax(R.randn([4, 3]), 2), R.RangeIndexError, 'softmax', 'axis 2');
    expectError(() => R.log_softmax(R.randn([4, 3]), -3), R.RangeIndexError, 'log_softmax', 'axis -3');
  });
});

describe('loss errors', () => {
  it('mse_loss and square_loss name both shapes', () => {
    expectError(() => R.mse_loss(R.randn([4, 3]), R.randn([3, 4])), R.ShapeError, 'mse_loss', '[4, 3]', '[3, 4]');
    expectError(() => R.square_loss(R.randn([2]), R.randn([3])), R.ShapeError, 'mse_loss', '[2]', '[3]');
    expectError(() => R.mse_loss(R.randn([2]), R.randn([2]), { reduction: 'avg' as never }), R.AttrError, 'mse_loss', 'reduction');
  });
  it('cross_entropy: shapes, class range, options', () => {
    expectError(() => R.cross_entropy(R.randn([4, 3]), ints(0, 1, 2)), R.ShapeError, 'cross_entropy', '[4, 3]', '[3]');
    expectError(() => R.cross_entropy(R.randn([4, 3]), R.randn([4, 2])), R.ShapeError, 'cross_entropy', '[4, 3]', '[4, 2]');
    expectError(() => R.cross_entropy(R.randn([2, 3]), ints(0, 3)), R.RangeIndexError, 'cross_entropy', '3');
    expectError(() => R.cross_entropy(R.randn([2, 3]), ints(0, 1), { weight: R.ones([2]) }), R.ShapeError, 'cross_entropy', 'weight', '[2]');
    expectError(() => R.cross_entropy(R.randn([2, 3]), ints(0, 1), { label_smoothing: 2 }), R.AttrError, 'cross_entropy', 'label_smoothing');
  });
  it('cross_entropy_loss names itself and both shapes', () => {
    expectError(() => R.cross_entropy_loss(ints(0, 0, 0, 0, 0), R.randn([4, 3])), R.ShapeError, 'cross_entropy_loss', '[5]', '[4, 3]');
    expectError(() => R.cross_entropy_loss(ints(0, 0), R.randn([2, 3, 4]), { reshape_target: [5, 4] }), R.ShapeError, 'cross_entropy_loss', '[5, 4]');
  });
});

describe('embedding / dropout errors', () => {
  it('embedding: id out of range, float ids, bad weight', () => {
    expectError(() => R.embedding(ints(0, 7), R.randn([5, 2])), R.RangeIndexError, 'embedding', 'id 7');
    expectError(() => R.embedding(R.t([0, 1]), R.randn([5, 2])), R.DtypeError, 'embedding', 'int32');
    expectError(() => R.embedding(ints(0, 1), R.randn([5])), R.ShapeError, 'embedding', '[5]');
    expectError(() => R.embedding(ints(0, 1), R.randn([5, 2]), { padding_idx: 5 }), R.RangeIndexError, 'embedding', 'padding_idx 5');
  });
  it('dropout: p outside [0, 1], bad seed', () => {
    expectError(() => R.dropout(R.randn([5]), { p: -0.1 }), R.AttrError, 'dropout', '-0.1');
    expectError(() => R.dropout(R.randn([5]), { seed: -1 }), R.AttrError, 'dropout', 'seed');
  });
});
