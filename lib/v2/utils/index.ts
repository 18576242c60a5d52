// ravdl/v2/utils: batching, shuffling, splitting, preprocessing and metrics (the ravdl.v2.utils
// of the Python RavDL), plus the data loaders and safetensors I/O.
//   for (const [xb, yb] of batch_iterator(X, y, 25)) { ... }
import { AttrError } from '../../errors.js';
import { type Rows, checkSameLength, nrows, sliceRows, takeRows } from './rows.js';
import { permutation, resolveSeed } from './rng.js';

export type { Rows, ShapedArray, NumericArray } from './rows.js';
export type { ArrayInput } from './numeric.js';
export { normalize, standardize, to_categorical, accuracy_score } from './preprocess.js';
export { read_csv, parse_csv } from '../data/csv.js';
export type { CsvOptions, CsvTable } from '../data/csv.js';
export { read_idx, parse_idx } from '../data/idx.js';
export type { IdxArray } from '../data/idx.js';
export { load_iris, load_digits, load_fashion_mnist, load_iris_sync, load_digits_sync, load_fashion_mnist_sync, DatasetNotFoundError, RAVDL_DATASETS_DIR } from '../data/datasets.js';
export type { Dataset, DatasetOptions, DigitsOptions, FashionMnistOptions } from '../data/datasets.js';
export { save_safetensors, load_safetensors, encode_safetensors, decode_safetensors } from '../../io/safetensors.js';
export type { SafetensorsContent, LoadSafetensorsOptions } from '../../io/safetensors.js';
export { FileLimitError, MAX_DATA_BYTES, MAX_MODEL_FILE_BYTES } from '../../io/files.js';
export type { ReadLimitOptions } from '../data/file.js';

function checkBatchSize(where: string, batch_size: number): void {
  if (!Number.isSafeInteger(batch_size) || batch_size <= 0) throw new AttrError(`${where}: batch_size must be a positive integer, got ${String(batch_size)}`);
}

/**
 * Yields consecutive batches of `batch_size` samples along the first axis (the last one may be
 * smaller): [X_batch, y_batch] when y is given, else X_batch. Batches are new values of the
 * same kind as the input (Tensor, nested array, typed array or { data, shape }).
 */
export function batch_iterator<X extends Rows>(X: X, y?: null, batch_size?: number): Generator<X, void, undefined>;
export function batch_iterator<X extends Rows, Y extends Rows>(X: X, y: Y, batch_size?: number): Generator<[X, Y], void, undefined>;
export function* batch_iterator<X extends Rows, Y extends Rows>(X: X, y?: Y | null, batch_size = 64): Generator<X | [X, Y], void, undefined> {
  const where = 'batch_iterator';
  checkBatchSize(where, batch_size);
  const n = y == null ? nrows(where, 'X', X) : checkSameLength(where, X, y);
  for (let begin = 0; begin < n; begin += batch_size) {
    const end = Math.min(begin + batch_size, n);
    yield y == null ? sliceRows(X, begin, end) : [sliceRows(X, begin, end), sliceRows(y, begin, end)];
  }
}

/** X and y with their samples in the same random order (seeded: the same seed gives the same order). */
export function shuffle_data<X extends Rows, Y extends Rows>(X: X, y: Y, seed?: number): [X, Y] {
  const where = 'shuffle_data';
  const n = checkSameLength(where, X, y);
  const p = permutation(n, resolveSeed(where, seed));
  return [takeRows(X, p), takeRows(y, p)];
}

export interface SplitOptions {
  /** Fraction of samples in the test set (0 < f < 1), or a number of samples (integer >= 1). Default 0.5. */
  test_size?: number;
  /** Shuffle before splitting (default true). */
  shuffle?: boolean;
  seed?: number;
}

/** Splits into [X_train, X_test, y_train, y_test]; the test set is the last `test_size` of the (shuffled) samples. */
export function train_test_split<X extends Rows, Y extends Rows>(X: X, y: Y, options: SplitOptions = {}): [X, X, Y, Y] {
  const where = 'train_test_split';
  const { test_size = 0.5, shuffle = true, seed } = options;
  const n = checkSameLength(where, X, y);
  let nTest: number;
  if (typeof test_size === 'number' && test_size > 0 && test_size < 1) nTest = Math.floor(n * test_size + 1e-9);
  else if (Number.isSafeInteger(test_size) && test_size >= 1) nTest = test_size;
  else throw new AttrError(`${where}: test_size must be a fraction in (0, 1) or a whole number of samples, got ${String(test_size)}`);
  if (nTest > n) throw new AttrError(`${where}: test_size ${test_size} asks for more samples than the ${n} there are`);
  const split = n - nTest;
  if (shuffle) [X, y] = shuffle_data(X, y, seed);
  else if (seed !== undefined) resolveSeed(where, seed);
  return [sliceRows(X, 0, split), sliceRows(X, split, n), sliceRows(y, 0, split), sliceRows(y, split, n)];
}
