// Small classic datasets read from files installed on the machine (never downloaded, never in
// the repository):
//   iris.csv, digits.csv.gz  scikit-learn's copies, either copied out of Debian's python3-sklearn
//                            package file by scripts/install-datasets.sh (2 MB fetched, into
//                            /usr/local/share/ravdl/datasets) or from python3-sklearn installed
//                            (which pulls 535 MB of dependencies)
//   Fashion-MNIST IDX files  Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist)
// options.data_dir, or else the RAVDL_DATA_DIR environment variable, replaces the system
// folders: <dir>/iris.csv, <dir>/digits.csv.gz, <dir>/fashion-mnist/<idx files>.
// Each loader returns a Promise (reading and inflating off the main thread, converting in
// slices with pauses) and has a synchronous form, load_*_sync; both are one piece of work (lib/io/drive.ts).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ArgError, AttrError, ShapeError } from '../../errors.js';
import { Tensor } from '../../tensor/tensor.js';
import { type Io, type Work, io, pause, runAsync, runSync } from '../../io/drive.js';
import { packageRoot } from '../../native/load.js';
import { parse_csv } from './csv.js';
import { parse_idx } from './idx.js';
import { readMaybeGzip, readMaybeGzipAsync } from './file.js';

/** Where scripts/install-datasets.sh puts iris and digits by default. */
export const RAVDL_DATASETS_DIR = '/usr/local/share/ravdl/datasets';
const SKLEARN_DIR = '/usr/lib/python3/dist-packages/sklearn/datasets/data';
const FASHION_DIR = '/usr/share/datasets/fashion-mnist';

const SKLEARN_INSTALL = () =>
  `sudo sh ${join(packageRoot, 'scripts', 'install-datasets.sh')}   (about 2 MB: the two files out of Debian's python3-sklearn package, without its dependencies; or: sudo apt-get install -y python3-sklearn)`;
const FASHION_INSTALL = () => 'sudo apt-get install -y dataset-fashion-mnist';

/** A dataset file is missing; the message (and `install`) gives the command that installs it. */
export class DatasetNotFoundError extends ArgError {
  constructor(
    message: string,
    /** The Debian package that holds the files. */
    readonly apt_package: string,
    /** The shell command that installs them. */
    readonly install: string,
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
  /** Folder holding the files instead of the system folders (default: $RAVDL_DATA_DIR). */
  data_dir?: string;
  /** Most bytes read from a file, after gunzip (default 64 MiB; see read_csv). */
  max_bytes?: number;
}

function findFile(where: string, names: string[], systemDirs: string[], sub: string, pkg: string, install: string, options: DatasetOptions): string {
  if (options === null || typeof options !== 'object') throw new AttrError(`${where}: options must be an object, got ${String(options)}`);
  if (options.data_dir !== undefined && (typeof options.data_dir !== 'string' || options.data_dir === '')) {
    throw new AttrError(`${where}: data_dir must be a non-empty string, got ${JSON.stringify(options.data_dir)}`);
  }
  const custom = options.data_dir ?? (process.env.RAVDL_DATA_DIR || undefined);
  const dirs = custom !== undefined ? [join(custom, sub)] : systemDirs;
  const tried = dirs.flatMap((dir) => names.flatMap((n) => [join(dir, n), join(dir, n + '.gz')]));
  const found = tried.find((p) => existsSync(p));
  if (found) return found;
  const hint = custom !== undefined ? ` (data folder ${custom} from ${options.data_dir !== undefined ? 'options.data_dir' : 'RAVDL_DATA_DIR'})` : '';
  throw new DatasetNotFoundError(`${where}: dataset file not found; looked for ${tried.join(', ')}${hint}. Install it with: ${install}`, pkg, install);
}

/** A data file's bytes (gunzipped): read and inflated on the thread pool in the async form. */
function read(where: string, path: string, options: DatasetOptions): Io<Buffer> {
  const o = { max_bytes: options.max_bytes };
  return { sync: () => readMaybeGzip(where, path, o), async: () => readMaybeGzipAsync(where, path, o) };
}

/** Elements converted between two pauses (a few milliseconds of work). */
const SLICE = 2 ** 19;

function labels(where: string, data: ArrayLike<number>, nClasses: number): Int32Array {
  const y = Int32Array.from(data);
  for (let i = 0; i < y.length; i++) {
    if (y[i] !== data[i] || y[i]! < 0 || y[i]! >= nClasses) throw new ShapeError(`${where}: label ${data[i]} at sample ${i} is not a class in [0, ${nClasses})`);
  }
  return y;
}

const IRIS_FEATURES = ['sepal length (cm)', 'sepal width (cm)', 'petal length (cm)', 'petal width (cm)'];

/** Iris: X float32 [150, 4], y int32 [150] (setosa, versicolor, virginica). */
export function load_iris(options: DatasetOptions = {}): Promise<Dataset> {
  return runAsync(irisWork(options));
}

/** load_iris, synchronously. */
export function load_iris_sync(options: DatasetOptions = {}): Dataset {
  return runSync(irisWork(options));
}

function* irisWork(options: DatasetOptions): Work<Dataset> {
  const where = 'load_iris';
  const path = findFile(where, ['iris.csv'], [RAVDL_DATASETS_DIR, SKLEARN_DIR], '', 'python3-sklearn', SKLEARN_INSTALL(), options);
  // The header line is "n_samples,n_features,target names...".
  const { columns = [], data, shape } = parse_csv((yield* io(read('read_csv', path, options))).toString('utf8'), { header: true }, path);
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
export function load_digits(options: DigitsOptions = {}): Promise<Dataset> {
  return runAsync(digitsWork(options));
}

/** load_digits, synchronously. */
export function load_digits_sync(options: DigitsOptions = {}): Dataset {
  return runSync(digitsWork(options));
}

function* digitsWork(options: DigitsOptions): Work<Dataset> {
  const where = 'load_digits';
  const path = findFile(where, ['digits.csv'], [RAVDL_DATASETS_DIR, SKLEARN_DIR], '', 'python3-sklearn', SKLEARN_INSTALL(), options);
  const { flatten = true } = options;
  const { data, shape } = parse_csv((yield* io(read('read_csv', path, options))).toString('utf8'), {}, path);
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
export function load_fashion_mnist(options: FashionMnistOptions = {}): Promise<Dataset> {
  return runAsync(fashionWork(options));
}

/** load_fashion_mnist, synchronously. */
export function load_fashion_mnist_sync(options: FashionMnistOptions = {}): Dataset {
  return runSync(fashionWork(options));
}

function* fashionWork(options: FashionMnistOptions): Work<Dataset> {
  const where = 'load_fashion_mnist';
  const { split = 'train', flatten = false, limit } = options ?? {};
  if (split !== 'train' && split !== 'test') throw new AttrError(`${where}: split must be 'train' or 'test', got ${JSON.stringify(split)}`);
  if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 0)) throw new AttrError(`${where}: limit must be a non-negative integer, got ${String(limit)}`);
  const prefix = split === 'train' ? 'train' : 't10k';
  const imgPath = findFile(where, [`${prefix}-images-idx3-ubyte`], [FASHION_DIR], 'fashion-mnist', 'dataset-fashion-mnist', FASHION_INSTALL(), options);
  const lblPath = findFile(where, [`${prefix}-labels-idx1-ubyte`], [FASHION_DIR], 'fashion-mnist', 'dataset-fashion-mnist', FASHION_INSTALL(), options);
  // Views of the inflated bytes (no 47 MB copy in one piece), converted below in slices.
  const img = parse_idx(yield* io(read('read_idx', imgPath, options)), imgPath, { copy: false });
  const lbl = parse_idx(yield* io(read('read_idx', lblPath, options)), lblPath, { copy: false });
  if (img.shape.length !== 3 || img.shape[1] !== 28 || img.shape[2] !== 28 || !(img.data instanceof Uint8Array)) {
    throw new ShapeError(`${where}: ${imgPath} should hold ubyte images [N, 28, 28], got shape [${img.shape.join(', ')}]`);
  }
  if (lbl.shape.length !== 1 || lbl.shape[0] !== img.shape[0]) throw new ShapeError(`${where}: ${lblPath} has shape [${lbl.shape.join(', ')}], expected [${img.shape[0]}] labels`);
  const n = Math.min(img.shape[0]!, limit ?? Infinity);
  const X = new Float32Array(n * 784);
  for (let start = 0; start < X.length; start += SLICE) {
    yield* pause();
    const end = Math.min(X.length, start + SLICE);
    for (let i = start; i < end; i++) X[i] = img.data[i]! / 255;
  }
  return {
    X: Tensor._fromData(flatten ? [n, 784] : [n, 1, 28, 28], X),
    y: Tensor._fromData([n], labels(where, lbl.data.subarray(0, n), 10)), // labels() copies
    target_names: FASHION_CLASSES.slice(),
  };
}
