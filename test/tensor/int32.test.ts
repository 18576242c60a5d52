// int32 conversion never truncates a fraction or wraps an out-of-range value silently.
import { describe, expect, it } from 'vitest';
import * as R from '../../lib/index.js';

const INT32_MAX = 2 ** 31 - 1;
const INT32_MIN = -(2 ** 31);

describe('int32 conversion is exact or a DtypeError', () => {
  it('t() from typed arrays, nested arrays and tensors', () => {
    expect(() => R.t(new Float32Array([1.5]), { dtype: 'int32' })).toThrow(R.DtypeError);
    expect(() => R.t(new Float64Array([3e9]), { dtype: 'int32' })).toThrow(/3000000000 at flat index 0/);
    expect(() => R.t(new Float64Array([NaN]), { dtype: 'int32' })).toThrow(R.DtypeError);
    expect(() => R.t(new Uint32Array([2 ** 31]), { dtype: 'int32' })).toThrow(R.DtypeError);
    expect(() => R.t([[1], [2 ** 31]], { dtype: 'int32' })).toThrow(R.DtypeError);
    expect(() => R.t([-Infinity], { dtype: 'int32' })).toThrow(R.DtypeError);
    expect(() => R.t(R.t([0.25]), { dtype: 'int32' })).toThrow(R.DtypeError);
    expect(R.t(new Float64Array([INT32_MIN, INT32_MAX, -0]), { dtype: 'int32' }).toArray()).toEqual([INT32_MIN, INT32_MAX, 0]);
    expect(R.t([[INT32_MAX]], { dtype: 'int32' }).toArray()).toEqual([[INT32_MAX]]);
  });

  it('full() checks its fill value', () => {
    expect(() => R.full([2], 1e10, { dtype: 'int32' })).toThrow(/1e\+?10|10000000000/);
    expect(() => R.full([2], 0.5, { dtype: 'int32' })).toThrow(R.DtypeError);
    expect(() => R.full([2], NaN, { dtype: 'int32' })).toThrow(R.DtypeError);
    expect(R.full([2], NaN).toArray()).toEqual([NaN, NaN]); // float32 takes any number, as torch.full does
    expect(R.full([2], INT32_MIN, { dtype: 'int32' }).toArray()).toEqual([INT32_MIN, INT32_MIN]);
  });

  it('arange() checks its first and last values', () => {
    expect(() => R.arange(INT32_MAX - 1, INT32_MAX + 3)).toThrow(/last value/);
    expect(() => R.arange(0, 3, 0.5, { dtype: 'int32' })).toThrow(R.DtypeError);
    expect(() => R.arange(0.5, 3, 1, { dtype: 'int32' })).toThrow(R.DtypeError);
    expect(R.arange(INT32_MAX - 2, INT32_MAX).toArray()).toEqual([INT32_MAX - 2, INT32_MAX - 1]);
    expect(R.arange(INT32_MAX - 1, INT32_MAX + 3, 1, { dtype: 'float32' }).size).toBe(4);
    expect(R.arange(5, 5, 1, { dtype: 'int32' }).size).toBe(0);
  });

  it('astype truncates toward zero but refuses NaN, infinities and values outside int32', () => {
    expect(R.t([-1.7, 2.9, -0.2]).astype('int32').toArray()).toEqual([-1, 2, 0]);
    expect(() => R.t([1, NaN]).astype('int32')).toThrow(/NaN at flat index 1/);
    expect(() => R.t([1e10]).astype('int32')).toThrow(R.DtypeError);
    expect(() => R.t([-Infinity]).astype('int32')).toThrow(R.DtypeError);
    expect(() => R.t([2 ** 31]).astype('int32')).toThrow(R.DtypeError);
    expect(R.t([-(2 ** 31)]).astype('int32').toArray()).toEqual([INT32_MIN]);
  });
});

describe('empty tensors with large other axes stay small', () => {
  it('toString() of [2^27, 0] summarises its rows', () => {
    const text = String(R.zeros([2 ** 27, 0]));
    expect(text.length).toBeLessThan(200);
    expect(text).toContain('...');
  });
  it('toArray() of [2^27, 0] is an error instead of 2^27 empty arrays; small empty shapes still convert', () => {
    expect(() => R.zeros([2 ** 27, 0]).toArray()).toThrow(R.ArgError);
    expect(R.zeros([3, 0]).toArray()).toEqual([[], [], []]);
    expect(R.zeros([2, 0, 3]).toArray()).toEqual([[], []]);
    expect(R.zeros([2, 3]).toArray()).toEqual([[0, 0, 0], [0, 0, 0]]);
  });
});
