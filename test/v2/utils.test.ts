import { describe, expect, it } from 'vitest';
import * as R from '../../lib/index.js';
import {
  accuracy_score,
  batch_iterator,
  normalize,
  shuffle_data,
  standardize,
  to_categorical,
  train_test_split,
} from '../../lib/v2/utils/index.js';

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

describe('batch_iterator', () => {
  it('slices Tensors into new tensors along the first axis, last batch smaller', () => {
    const X = R.t(Float32Array.from(range(10)), { shape: [5, 2] });
    const y = R.t([0, 1, 2, 1, 0], { dtype: 'int32' });
    const batches = [...batch_iterator(X, y, 2)];
    expect(batches.map(([xb, yb]) => [xb.shape, yb.shape])).toEqual([
      [[2, 2], [2]],
      [[2, 2], [2]],
      [[1, 2], [1]],
    ]);
    expect(batches[1]![0].toArray()).toEqual([[4, 5], [6, 7]]);
    expect(batches[2]![1].dtype).toBe('int32');
    expect(batches[2]![1].toArray()).toEqual([0]);
    batches[0]![0]._data[0] = 99; // a batch owns its data
    expect(X.toArray()).toEqual([[0, 1], [2, 3], [4, 5], [6, 7], [8, 9]]);
  });

  it('keeps the kind of each input: nested arrays, typed arrays, { data, shape }', () => {
    const X = [[1, 2], [3, 4], [5, 6]];
    const y = Int32Array.from([7, 8, 9]);
    expect([...batch_iterator(X, y, 2)]).toEqual([
      [[[1, 2], [3, 4]], Int32Array.from([7, 8])],
      [[[5, 6]], Int32Array.from([9])],
    ]);
    const img = { data: Uint8Array.from(range(12)), shape: [3, 2, 2] };
    const out = [...batch_iterator(img, null, 2)];
    expect(out[0]).toEqual({ data: Uint8Array.from(range(8)), shape: [2, 2, 2] });
    expect(out[1]).toEqual({ data: Uint8Array.from([8, 9, 10, 11]), shape: [1, 2, 2] });
  });

  it('yields X alone without y and uses batches of 64 by default', () => {
    const sizes = [...batch_iterator(R.t(new Float32Array(130), { shape: [130, 1] }))].map((b) => b.shape[0]);
    expect(sizes).toEqual([64, 64, 2]);
    expect([...batch_iterator([] as number[], [] as number[], 3)]).toEqual([]);
  });

  it('rejects X and y of different lengths and bad batch sizes', () => {
    expect(() => [...batch_iterator([1, 2, 3], [1, 2], 2)]).toThrow(R.ShapeError);
    expect(() => [...batch_iterator([1, 2, 3], [1, 2], 2)]).toThrow(/batch_iterator: X has 3 samples but y has 2/);
    expect(() => [...batch_iterator([1, 2], [1, 2], 0)]).toThrow(R.AttrError);
    expect(() => [...batch_iterator([1, 2], [1, 2], 1.5)]).toThrow(/batch_size must be a positive integer, got 1.5/);
    expect(() => [...batch_iterator(R.t(1))]).toThrow(R.ShapeError);
    expect(() => [...batch_iterator({ data: new Float32Array(5), shape: [2, 2] })]).toThrow(R.ShapeError);
  });
});

describe('shuffle_data', () => {
  const X = range(50).map((i) => [i, -i]);
  const y = R.t(range(50), { dtype: 'int32' });

  it('applies one permutation to X and y, deterministic for a seed', () => {
    const [Xs, ys] = shuffle_data(X, y, 42);
    const labels = ys.toArray() as number[];
    expect(Xs.map((r) => r[0])).toEqual(labels);
    expect([...labels].sort((a, b) => a - b)).toEqual(range(50));
    expect(labels).not.toEqual(range(50));
    expect(shuffle_data(X, y, 42)[1].toArray()).toEqual(labels);
    expect(shuffle_data(X, y, 43)[1].toArray()).not.toEqual(labels);
  });

  it('without a seed, follows R.manual_seed', () => {
    R.manual_seed(7);
    const a = shuffle_data(X, y)[1].toArray();
    const b = shuffle_data(X, y)[1].toArray();
    R.manual_seed(7);
    expect(shuffle_data(X, y)[1].toArray()).toEqual(a);
    expect(b).not.toEqual(a);
  });

  it('rejects bad seeds and mismatched lengths', () => {
    expect(() => shuffle_data(X, y, -1)).toThrow(R.AttrError);
    expect(() => shuffle_data(X, [1, 2], 0)).toThrow(/shuffle_data: X has 50 samples but y has 2/);
  });
});

describe('train_test_split', () => {
  const X = R.t(Float32Array.from(range(300)), { shape: [150, 2] });
  const y = R.t(range(150), { dtype: 'int32' });

  it('splits off the test fraction, seeded and covering every sample once', () => {
    const [Xtr, Xte, ytr, yte] = train_test_split(X, y, { test_size: 0.4, seed: 3 });
    expect([Xtr.shape, Xte.shape, ytr.shape, yte.shape]).toEqual([[90, 2], [60, 2], [90], [60]]);
    const all = [...(ytr.toArray() as number[]), ...(yte.toArray() as number[])];
    expect([...all].sort((a, b) => a - b)).toEqual(range(150));
    expect((Xte.toArray() as number[][]).map((r) => r[0]! / 2)).toEqual(yte.toArray());
    expect(train_test_split(X, y, { test_size: 0.4, seed: 3 })[3].toArray()).toEqual(yte.toArray());
  });

  it('keeps the order without shuffling; test_size may be a count', () => {
    const [, , ytr, yte] = train_test_split([1, 2, 3, 4, 5], [10, 20, 30, 40, 50], { shuffle: false, test_size: 2 });
    expect(ytr).toEqual([10, 20, 30]);
    expect(yte).toEqual([40, 50]);
    const [a, b] = train_test_split(range(10), range(10), { shuffle: false });
    expect([a.length, b.length]).toEqual([5, 5]);
    expect(train_test_split(range(100), range(100), { test_size: 0.7, shuffle: false })[1].length).toBe(70);
  });

  it('rejects bad test sizes and mismatched lengths', () => {
    expect(() => train_test_split([1, 2], [1, 2], { test_size: 1.5 })).toThrow(R.AttrError);
    expect(() => train_test_split([1, 2], [1, 2], { test_size: 3 })).toThrow(/more samples than the 2/);
    expect(() => train_test_split([1, 2], [1], {})).toThrow(R.ShapeError);
  });
});

describe('normalize', () => {
  it('scales rows to unit L2 norm and leaves zero rows alone', () => {
    const out = normalize([[3, 4], [0, 0], [1, 0]]);
    expect(out).toBeInstanceOf(R.Tensor);
    expect(out.toArray()).toEqual([[Math.fround(0.6), Math.fround(0.8)], [0, 0], [1, 0]]);
  });

  it('supports other axes and orders', () => {
    expect(normalize([[3, 1], [4, 1]], 0).toArray()).toEqual([[Math.fround(0.6), Math.fround(Math.SQRT1_2)], [Math.fround(0.8), Math.fround(Math.SQRT1_2)]]);
    expect(normalize([[1, -3]], -1, 1).toArray()).toEqual([[0.25, -0.75]]);
    expect(normalize(Float32Array.from([2, -4]), -1, Infinity).toArray()).toEqual([0.5, -1]);
    const x = R.t([[[1, 2], [2, 2]]]);
    const n = normalize(x, 1).toArray() as number[][][];
    expect(n[0]![0]![0]! ** 2 + n[0]![1]![0]! ** 2).toBeCloseTo(1, 6);
  });

  it('names NaN cells and bad arguments', () => {
    expect(() => normalize([[1, 2], [NaN, 3]])).toThrow(/normalize: X contains NaN at row 1, column 0/);
    expect(() => normalize([[1, 2]], 2)).toThrow(R.RangeIndexError);
    expect(() => normalize([[1, 2]], -1, 0)).toThrow(R.AttrError);
    expect(() => normalize([[1, 2], [3]] as number[][])).toThrow(/normalize: X: ragged/);
  });
});

describe('standardize', () => {
  it('gives every column zero mean and unit (population) std', () => {
    const X = [[1, 10, 5], [2, 20, 5], [6, 60, 5]];
    const out = standardize(X).toArray() as number[][];
    for (const c of [0, 1]) {
      const col = out.map((r) => r[c]!);
      const mean = col.reduce((a, b) => a + b) / 3;
      const std = Math.sqrt(col.reduce((a, b) => a + (b - mean) ** 2, 0) / 3);
      expect(mean).toBeCloseTo(0, 6);
      expect(std).toBeCloseTo(1, 6);
    }
    expect(out.map((r) => r[2])).toEqual([0, 0, 0]);
    expect(out[0]![0]).toBeCloseTo((1 - 3) / Math.sqrt(14 / 3), 6);
  });

  it('rejects NaN and empty input', () => {
    expect(() => standardize([[1], [NaN]])).toThrow(/standardize: X contains NaN at row 1, column 0/);
    expect(() => standardize(R.t(new Float32Array(0), { shape: [0, 3] }))).toThrow(R.ShapeError);
  });
});

describe('to_categorical', () => {
  it('one-hot encodes labels of any input kind', () => {
    expect(to_categorical([0, 2, 1]).toArray()).toEqual([[1, 0, 0], [0, 0, 1], [0, 1, 0]]);
    const t = to_categorical(R.t([[1], [0]], { dtype: 'int32' }), 4);
    expect(t.shape).toEqual([2, 4]);
    expect(t.dtype).toBe('float32');
    expect(t.toArray()).toEqual([[0, 1, 0, 0], [1, 0, 0, 0]]);
    expect(to_categorical(Uint8Array.from([1])).toArray()).toEqual([[0, 1]]);
  });

  it('names labels outside [0, n_col) and non-integers', () => {
    expect(() => to_categorical([0, 3, 1], 3)).toThrow(R.RangeIndexError);
    expect(() => to_categorical([0, 3, 1], 3)).toThrow(/to_categorical: label 3 at index 1 is outside \[0, 3\)/);
    expect(() => to_categorical([0, -1])).toThrow(/label -1 at index 1/);
    expect(() => to_categorical([0, 1.5])).toThrow(/y\[1\] = 1.5 is not an integer/);
    expect(() => to_categorical([0, NaN])).toThrow(/NaN at index 1/);
    expect(() => to_categorical([[0, 1]])).toThrow(R.ShapeError);
    expect(() => to_categorical([0], 0)).toThrow(R.AttrError);
  });
});

describe('accuracy_score', () => {
  it('compares class indices, one-hot rows and probability rows', () => {
    expect(accuracy_score([0, 1, 2, 2], [0, 2, 2, 2])).toBe(0.75);
    expect(accuracy_score(to_categorical([0, 1, 2]), R.t([[0.8, 0.1, 0.1], [0.2, 0.3, 0.5], [0, 0, 1]]))).toBeCloseTo(2 / 3, 12);
    expect(accuracy_score(R.t([[1], [0]], { dtype: 'int32' }), [1, 1])).toBe(0.5);
  });

  it('rejects mismatched lengths, empty input and NaN', () => {
    expect(() => accuracy_score([0, 1], [0])).toThrow(/accuracy_score: y_true has 2 samples but y_pred has 1/);
    expect(() => accuracy_score([], [])).toThrow(R.ShapeError);
    expect(() => accuracy_score([0, 1], [[NaN, 1], [0, 1]])).toThrow(/y_pred contains NaN at row 0, column 0/);
  });
});
