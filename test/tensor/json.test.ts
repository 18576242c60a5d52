// Tensor.toJSON (what JSON.stringify writes) and toArray(rank), typed by the rank it checks.
import { afterEach, describe, expect, it } from 'vitest';
import * as R from '../../lib/index.js';
import { expectError } from '../helpers/fixtures.js';

afterEach(() => R.flush());

describe('JSON.stringify(tensor)', () => {
  it('writes shape, dtype and values, nothing internal', () => {
    const x = R.t([[1, 2.5], [3, -4]], { requires_grad: true });
    const y = R.mul(x, 2);
    expect(JSON.parse(JSON.stringify(y))).toEqual({ shape: [2, 2], dtype: 'float32', values: [[2, 5], [6, -8]] });
    expect(JSON.stringify(R.t(7, { dtype: 'int32' }))).toBe('{"shape":[],"dtype":"int32","values":7}');
    expect(JSON.parse(JSON.stringify({ w: R.zeros([0, 3]) }))).toEqual({ w: { shape: [0, 3], dtype: 'float32', values: [] } });
    // JSON has no NaN or infinities: JSON.stringify's own rule (null) applies to the values.
    expect(JSON.parse(JSON.stringify(R.t([NaN, Infinity, 1])))).toEqual({ shape: [3], dtype: 'float32', values: [null, null, 1] });
  });

  it('a round trip through R.t gives the same tensor', () => {
    const x = R.randn([2, 3, 2]);
    const j = JSON.parse(JSON.stringify(x));
    expect(Array.from(R.t(j.values, { shape: j.shape, dtype: j.dtype })._data)).toEqual(Array.from(x._data));
  });

  it('a disposed tensor says so instead of throwing', () => {
    const x = R.ones([2]);
    x.dispose();
    expect(JSON.parse(JSON.stringify(x))).toEqual({ shape: [2], dtype: 'float32', disposed: true });
  });

  it('a value of a graph being defined: shape, dtype and what it is, no values', () => {
    new R.Graph({ name: 'g', algorithm: 'test', approach: 'distributed' });
    const y = R.add(R.t([1, 2]), 1);
    const j = JSON.parse(JSON.stringify(y));
    expect(j.shape).toEqual([2]);
    expect(j.dtype).toBe('float32');
    expect(j).not.toHaveProperty('values');
    expect(typeof j.graph).toBe('string');
    expect(j.graph).toContain('add'); // the description names the op that makes it
  });
});

describe('toArray(rank)', () => {
  it('returns the nested values typed by the rank it is given, and checks it', () => {
    const m: number[][] = R.t([[1, 2], [3, 4]]).toArray(2);
    expect(m).toEqual([[1, 2], [3, 4]]);
    const v: number[] = R.arange(3).toArray(1);
    expect(v).toEqual([0, 1, 2]);
    const s: number = R.t(5).toArray(0);
    expect(s).toBe(5);
    expectError(() => R.t([[1, 2]]).toArray(1), R.ShapeError, 'toArray(1)', 'rank 2', '[1, 2]');
    expect(R.t([[1, 2]]).toArray()).toEqual([[1, 2]]);
  });
});
