// Small classic datasets read from Debian packages (no downloads):
//   python3-sklearn        -> iris.csv, digits.csv.gz  (sklearn/datasets/data)
//   dataset-fashion-mnist  -> Fashion-MNIST IDX files (/usr/share/datasets/fashion-mnist)
// options.data_dir, or else the RAVDL_DATA_DIR environment variable, replaces the system
// folders: <dir>/iris.csv, <dir>/digits.csv.gz, <dir>/fashion-mnist/<idx files>.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ArgError, AttrError, ShapeError } from '../../errors.js';
import { Tensor } from '../../tensor/tensor.js';
import { read_csv } from './csv.js';
import { read_idx } from './idx.js';

const SKLEARN_DIR = '/usr/lib/python3/dist-packages/sklearn/datasets/data';
const FASHION_DIR = '/usr/share/datasets/fashion-mnist';

/** A dataset file is missing; the message gives the apt-get command that installs it. */
export class DatasetNotFoundError extends ArgError {
  constructor(
    message: string,
    readonly apt_package: string,
  ) {
    super(message);
  }
}

export interface Dataset {
  /** float32 features. */
  X: Tensor;
  /** int32 class labels, shape [N]. */
  y: Tensor;
  feature_names?: string[];
  target_names: string[];
}

export interface DatasetOptions {
  /** Folder holding the files instead of the Debian package's (default: $RAVDL_DATA_DIR). */
  data_dir?: string;
  /** Most bytes read from a file, after gunzip (default 64 MiB; see read_csv). */
  max_bytes?: number;
}

function findFile(where: string, names: string[], systemDir: string, sub: string, pkg: string, options: DatasetOptions): string {
  if (options.data_dir !== undefined && (typeof options.data_dir !== 'string' || options.data_dir === '')) {
    throw new AttrError(`${where}: data_dir must be a non-empty string, got ${JSON.stringify(options.data_dir)}`);
  }
  const custom = options.data_dir ?? (process.env.RAVDL_DATA_DIR || undefined);
  const dir = custom !== undefined ? join(custom, sub) : systemDir;
  const tried = names.flatMap((n) => [join(dir, n), join(dir, n + '.gz')]);
  const found = tried.find((p) => existsSync(p));
  if (found) return found;
  const hint = custom !== undefined ? ` (data folder ${custom} from ${options.data_dir !== undefined ? 'options.data_dir' : 'RAVDL_DATA_DIR'})` : '';
  throw new DatasetNotFoundError(
    `${where}: dataset file not found; looked for ${tried.join(', ')}${hint}. Install it with: sudo apt-get install -y ${pkg}`,
    pkg,
  );
}

function labels(where: string, data: ArrayLike<number>, nClasses: number): Int32Array {
  const y = Int32Array.from(data);
  for (let i = 0; i < y.length; i++) {
    if (y[i] !== data[i] || y[i]! < 0 || y[i]! >= nClasses) throw new ShapeError(`${where}: label ${data[i]} at sample ${i} is not a class in [0, ${nClasses})`);
  }
  return y;
}

const IRIS_FEATURES = ['sepal length (cm)', 'sepal width (cm)', 'petal length (cm)', 'petal width (cm)'];

/** Iris: X float32 [150, 4], y int32 [150] (setosa, versicolor, virginica). */
export function load_iris(options: DatasetOptions = {}): Dataset {
  const where = 'load_iris';
  const path = findFile(where, ['iris.csv'], SKLEARN_DIR, '', 'python3-sklearn', options);
  // The header line is "n_samples,n_features,target names...".
  const { columns = [], data, shape } = read_csv(path, { header: true, max_bytes: options.max_bytes });
  const n = Number(columns[0]);
  const f = Number(columns[1]);
  if (!(n === shape[0] && shape[1] === f + 1)) throw new ShapeError(`${where}: ${path} header says ${columns[0]} samples × ${columns[1]} features, the file holds ${shape[0]} rows × ${shape[1]} columns`);
  const target_names = columns.slice(2);
  const X = new Float32Array(n * f);
  const y = new Float32Array(n);
  for (let r = 0; r < n; r++) {
    X.set(data.subarray(r * (f + 1), r * (f + 1) + f), r * f);
    y[r] = data[r * (f + 1) + f]!;
  }
  return { X: Tensor._fromData([n, f], X), y: Tensor._fromData([n], labels(where, y, target_names.length)), feature_names: f === 4 ? IRIS_FEATURES.slice() : undefined, target_names };
}

export interface DigitsOptions extends DatasetOptions {
  /** X as [N, 64] (default true) or as images [N, 1, 8, 8]. Values are pixel intensities 0..16. */
  flatten?: boolean;
}

/** Digits (8×8 handwritten digits, 1797 samples): X float32 [N, 64] or [N, 1, 8, 8], y int32 [N]. */
export function load_digits(options: DigitsOptions = {}): Dataset {
  const where = 'load_digits';
  const { flatten = true } = options;
  const path = findFile(where, ['digits.csv'], SKLEARN_DIR, '', 'python3-sklearn', options);
  const { data, shape } = read_csv(path, { max_bytes: options.max_bytes });
  const [n, cols] = shape;
  if (cols !== 65) throw new ShapeError(`${where}: ${path} has ${cols} columns, expected 64 pixels + 1 label`);
  const X = new Float32Array(n * 64);
  const y = new Float32Array(n);
  for (let r = 0; r < n; r++) {
    X.set(data.subarray(r * 65, r * 65 + 64), r * 64);
    y[r] = data[r * 65 + 64]!;
  }
  const feature_names = Array.from({ length: 64 }, (_, i) => `pixel_${Math.floor(i / 8)}_${i % 8}`);
  return {
    X: Tensor._fromData(flatten ? [n, 64] : [n, 1, 8, 8], X),
    y: Tensor._fromData([n], labels(where, y, 10)),
    feature_names,
    target_names: Array.from({ length: 10 }, (_, i) => String(i)),
  };
}

export interface FashionMnistOptions extends DatasetOptions {
  split?: 'train' | 'test';
  /** X as [N, 784] instead of [N, 1, 28, 28] (default false). */
  flatten?: boolean;
  /** Keep only the first `limit` samples. */
  limit?: number;
}

const FASHION_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

/** Fashion-MNIST: X float32 [N, 1, 28, 28] scaled to [0, 1], y int32 [N]; N = 60000 (train) or 10000 (test). */
export function load_fashion_mnist(options: FashionMnistOptions = {}): Dataset {
  const where = 'load_fashion_mnist';
  const { split = 'train', flatten = false, limit } = options;
  if (split !== 'train' && split !== 'test') throw new AttrError(`${where}: split must be 'train' or 'test', got ${JSON.stringify(split)}`);
  if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 0)) throw new AttrError(`${where}: limit must be a non-negative integer, got ${String(limit)}`);
  const prefix = split === 'train' ? 'train' : 't10k';
  const imgPath = findFile(where, [`${prefix}-images-idx3-ubyte`], FASHION_DIR, 'fashion-mnist', 'dataset-fashion-mnist', options);
  const lblPath = findFile(where, [`${prefix}-labels-idx1-ubyte`], FASHION_DIR, 'fashion-mnist', 'dataset-fashion-mnist', options);
  const img = read_idx(imgPath, { max_bytes: options.max_bytes });
  const lbl = read_idx(lblPath, { max_bytes: options.max_bytes });
  if (img.shape.length !== 3 || img.shape[1] !== 28 || img.shape[2] !== 28 || !(img.data instanceof Uint8Array)) {
    throw new ShapeError(`${where}: ${imgPath} should hold ubyte images [N, 28, 28], got shape [${img.shape.join(', ')}]`);
  }
  if (lbl.shape.length !== 1 || lbl.shape[0] !== img.shape[0]) throw new ShapeError(`${where}: ${lblPath} has shape [${lbl.shape.join(', ')}], expected [${img.shape[0]}] labels`);
  const n = Math.min(img.shape[0]!, limit ?? Infinity);
  const X = new Float32Array(n * 784);
  for (let i = 0; i < X.length; i++) X[i] = img.data[i]! / 255;
  return {
    X: Tensor._fromData(flatten ? [n, 784] : [n, 1, 28, 28], X),
    y: Tensor._fromData([n], labels(where, lbl.data.subarray(0, n), 10)),
    target_names: FASHION_CLASSES.slice(),
  };
}
