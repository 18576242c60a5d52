// Bad inputs to the joining, slicing, padding and indexing ops: each raises a typed error whose
// message names the op and the offending shapes or values, before or instead of computing.
import { describe, expect, it } from 'vitest';
import * as R from '../../lib/index.js';
import { expectError } from '../helpers/fixtures.js';


const x23 = () => R.t([[1, 2, 3], [4, 5, 6]]);

describe('concat / stack / split', () => {
  it('concat of mismatched shapes names both shapes', () => {
    expectError(() => R.concat([x23(), R.zeros([3, 2])], 1), R.ShapeError, 'concat', '[3, 2]', '[2, 3]');
  });
  it('concat of mixed dtypes, an empty list, a bad axis', () => {
    expectError(() => R.concat([x23(), R.zeros([2, 3], { dtype: 'int32' })]), R.DtypeError, 'concat', 'int32', 'float32');
    expectError(() => R.concat([]), R.ArgError, 'concat', 'empty');
    expectError(() => R.concat([x23(), x23()], 2), R.RangeIndexError, 'concat', 'axis 2');
  });
  it('stack of unequal shapes', () => {
    expectError(() => R.stack([x23(), R.zeros([3, 2])]), R.ShapeError, 'stack', '[3, 2]', '[2, 3]');
  });
  it('split sizes that do not sum to the dim, sections that do not divide it', () => {
    expectError(() => R.split(x23(), [1, 1], 1), R.ShapeError, 'split', '[1, 1]', 'sum to 2', 'size 3');
    expectError(() => R.split(x23(), 2, 1), R.ShapeError, 'split', '2 sections', 'size 3');
    expectError(() => R.split(x23(), [2, -1], 1), R.AttrError, 'split', '[2,-1]');
  });
  it('the catalog op validates raw attrs too (graph executor path)', () => {
    expectError(() => R.callOp('split', [x23()], { sizes: [4], axis: 0 }), R.ShapeError, 'split', '[4]', '[2, 3]');
    expectError(() => R.callOp('concat', [x23()], { axis: 0, dim: 1 }), R.AttrError, 'concat', "unknown option 'dim'");
  });
});

describe('slice / pad', () => {
  it('slice rejects negative steps, mismatched lists and too many dims', () => {
    expectError(() => R.slice(x23(), [0], [null], { steps: [-1] }), R.AttrError, 'slice', 'steps', '[-1]');
    expectError(() => R.slice(x23(), [0, 1], [1]), R.AttrError, 'slice', 'same length');
    expectError(() => R.slice(x23(), [0, 0, 0], [1, 1, 1]), R.AttrError, 'slice', 'rank 2');
    expectError(() => R.slice(x23(), [0], [1], { axes: [5] }), R.RangeIndexError, 'slice', 'axis 5');
  });
  it('a bad pad mode names the mode', () => {
    expectError(() => R.pad(x23(), [[1, 1]], { mode: 'wrap' as never }), R.AttrError, 'pad', '"wrap"', "'reflect'");
  });
  it('a flat (torch-style) pad list is rejected with the convention explained', () => {
    expectError(() => R.pad(x23(), [1, 2] as never), R.AttrError, 'pad', '[before, after] pairs', '[1,2]');
  });
  it('reflect padding not smaller than the dim, more pairs than dims, crops beyond the dim', () => {
    expectError(() => R.pad(x23(), [[3, 0]], { mode: 'reflect' }), R.AttrError, 'pad', 'reflect', '[2, 3]', 'pads [3, 0]');
    expectError(() => R.pad(x23(), [[1, 1], [1, 1], [1, 1]]), R.ShapeError, 'pad', '[2, 3]');
    expectError(() => R.pad(x23(), [[-2, -2]]), R.AttrError, 'pad', 'crop more than dim 1', 'size 3');
    expectError(() => R.pad(x23(), [[-4, 1]], { mode: 'reflect' }), R.AttrError, 'pad', 'crop more than dim 1');
    // circular wraps at most once around what cropping leaves
    expectError(() => R.pad(x23(), [[3, -1]], { mode: 'circular' }), R.AttrError, 'pad', 'circular', 'after cropping', 'size 2');
    expectError(() => R.pad(x23(), [[0.5, 1]]), R.AttrError, 'pad', '[[0.5,1]]');
  });
});

describe('tile / repeat', () => {
  it('negative reps, per-element counts of the wrong length', () => {
    expectError(() => R.tile(x23(), [2, -1]), R.AttrError, 'tile', 'reps', '[2,-1]');
    expectError(() => R.repeat(x23(), [1, 2], 1), R.ShapeError, 'repeat', '2 counts', '[2, 3]', '3 elements');
  });
});

describe('gather / one_hot_encoding', () => {
  it('an out-of-range index names the op, the index and the axis (rows path and permuted path)', () => {
    expectError(() => R.gather(x23(), [0, 2], 0), R.RangeIndexError, 'gather', 'index 2', 'position 1', 'axis 0', '[2, 3]');
    expectError(() => R.gather(R.zeros([2, 3, 4]), [1, 2, -1], 1), R.RangeIndexError, 'gather', 'index -1', 'position 2', 'axis 1', '[2, 3, 4]');
  });
  it('a failing gather leaks no tensors (outputs and scratch buffers are released)', () => {
    const x = R.zeros([2, 3, 4]);
    const idx = R.t([0, 7], { dtype: 'int32' });
    const before = R.memory().tensors;
    expect(() => R.gather(x, idx, 1)).toThrow(R.RangeIndexError);
    expect(R.memory().tensors).toBe(before);
  });
  it('a permuted-path gather and its backward keep only their results (scratch buffers released)', () => {
    const x = R.randn([2, 3, 4]).requires_grad_();
    const idx = R.t([2, 0, 2], { dtype: 'int32' });
    const before = R.memory().tensors;
    const y = R.gather(x, idx, 1);
    expect(R.memory().tensors).toBe(before + 1);
    const g = R.ones(y.shape);
    y.backward(g);
    const plane = [[1, 1, 1, 1], [0, 0, 0, 0], [2, 2, 2, 2]]; // index 2 twice, 1 never
    expect(x.grad!.toArray()).toEqual([plane, plane]);
  });
  it('float indices are a dtype error', () => {
    expectError(() => R.gather(x23(), R.t([0, 1]), 1), R.DtypeError, 'gather', 'indices', 'int32');
  });
  it('one_hot_encoding errors on out-of-range indices instead of writing zeros', () => {
    expectError(() => R.one_hot_encoding([0, 4], 4), R.RangeIndexError, 'one_hot_encoding', 'index 4', '[0, 4)');
    expectError(() => R.one_hot_encoding([-1], 3), R.RangeIndexError, 'one_hot_encoding', 'index -1');
    expectError(() => R.one_hot_encoding([0], 0), R.AttrError, 'one_hot_encoding', 'depth');
  });
});
