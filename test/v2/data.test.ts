import { mkdtempSync, copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import * as R from '../../lib/index.js';
import { DatasetNotFoundError, load_digits, load_digits_sync, load_fashion_mnist, load_fashion_mnist_sync, load_iris, load_iris_sync, parse_csv, parse_idx, read_csv, read_idx } from '../../lib/v2/utils/index.js';
import { haveDataset, systemDatasetFile } from '../helpers/datasets.js';

const tmp = mkdtempSync(join(tmpdir(), 'ravdl-data-'));

const counts = (t: R.Tensor, k: number) => {
  const c = new Array(k).fill(0);
  for (const v of t._data) c[v]++;
  return c;
};

describe('read_csv', () => {
  it('parses numbers, a header, other delimiters, CRLF and nan/inf', () => {
    const t = parse_csv('a;"b c"\r\n1;2.5\r\n\r\n-3e2;nan\n.5;-inf\n', { header: true, delimiter: ';' });
    expect(t.columns).toEqual(['a', 'b c']);
    expect(t.shape).toEqual([3, 2]);
    expect(Array.from(t.data)).toEqual([1, 2.5, -300, NaN, 0.5, -Infinity]);
    expect(parse_csv('x,y\n', { header: true }).shape).toEqual([0, 2]);
  });

  it('names the line and column of a bad cell, and ragged lines', () => {
    expect(() => parse_csv('1,2\n\n3,abc\n', {}, 'f.csv')).toThrow(R.ArgError);
    expect(() => parse_csv('1,2\n\n3,abc\n', {}, 'f.csv')).toThrow(/read_csv: f\.csv line 3, column 2: "abc" is not a number/);
    expect(() => parse_csv('1,2\n3,\n')).toThrow(/line 2, column 2: "" is not a number/);
    expect(() => parse_csv('1,2\n0x10,2\n')).toThrow(/line 2, column 1/);
    expect(() => parse_csv('1,2\n3\n')).toThrow(R.ShapeError);
    expect(() => parse_csv('1,2\n3\n')).toThrow(/line 2 has 1 cells, expected 2/);
    expect(() => parse_csv('1', { delimiter: '::' })).toThrow(R.AttrError);
  });

  it('reads plain and gzip-compressed files', () => {
    writeFileSync(join(tmp, 'm.csv'), '1,2\n3,4\n');
    writeFileSync(join(tmp, 'm.csv.gz'), gzipSync('1,2\n3,4\n'));
    for (const f of ['m.csv', 'm.csv.gz']) {
      const t = read_csv(join(tmp, f));
      expect(t.shape).toEqual([2, 2]);
      expect(Array.from(t.data)).toEqual([1, 2, 3, 4]);
    }
    expect(() => read_csv(join(tmp, 'missing.csv'))).toThrow(/read_csv: cannot read .*missing\.csv \(ENOENT\)/);
    writeFileSync(join(tmp, 'bad.gz'), Buffer.from([0x1f, 0x8b, 1, 2, 3]));
    expect(() => read_csv(join(tmp, 'bad.gz'))).toThrow(/does not decompress/);
  });
});

function idx(type: number, shape: number[], body: Buffer): Buffer {
  const head = Buffer.alloc(4 + 4 * shape.length);
  head[2] = type;
  head[3] = shape.length;
  shape.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([head, body]);
}

describe('read_idx', () => {
  it('decodes ubyte, big-endian int and float files', () => {
    const u = parse_idx(idx(0x08, [2, 3], Buffer.from([0, 1, 2, 253, 254, 255])));
    expect(u.shape).toEqual([2, 3]);
    expect(u.data).toEqual(Uint8Array.from([0, 1, 2, 253, 254, 255]));
    const ib = Buffer.alloc(8);
    ib.writeInt32BE(-2, 0);
    ib.writeInt32BE(70000, 4);
    expect(parse_idx(idx(0x0c, [2], ib)).data).toEqual(Int32Array.from([-2, 70000]));
    const fb = Buffer.alloc(8);
    fb.writeFloatBE(1.5, 0);
    fb.writeFloatBE(-0.25, 4);
    const f = parse_idx(idx(0x0d, [1, 2], fb));
    expect(f.data).toEqual(Float32Array.from([1.5, -0.25]));
    expect(parse_idx(idx(0x09, [1], Buffer.from([0xff]))).data).toEqual(Int8Array.from([-1]));
  });

  it('reads gzip files and rejects malformed ones with typed errors', () => {
    writeFileSync(join(tmp, 'a-idx1-ubyte.gz'), gzipSync(idx(0x08, [3], Buffer.from([7, 8, 9]))));
    expect(read_idx(join(tmp, 'a-idx1-ubyte.gz'))).toEqual({ data: Uint8Array.from([7, 8, 9]), shape: [3] });
    expect(() => parse_idx(Buffer.from([0, 0]))).toThrow(R.ShapeError);
    expect(() => parse_idx(Buffer.from([1, 0, 8, 1, 0, 0, 0, 0]))).toThrow(/not an IDX file/);
    expect(() => parse_idx(idx(0x0a, [1], Buffer.from([1])))).toThrow(R.DtypeError);
    expect(() => parse_idx(idx(0x08, [2, 2], Buffer.from([1, 2, 3])))).toThrow(/has 3 data bytes but shape \[2, 2\] of ubyte needs 4 \(truncated\)/);
    expect(() => parse_idx(idx(0x08, [2, 2], Buffer.alloc(8)).subarray(0, 9))).toThrow(/truncated: 2 dimensions need a 12-byte header/);
  });
});

describe('datasets', () => {
  afterEach(() => {
    delete process.env.RAVDL_DATA_DIR;
  });

  it.runIf(haveDataset('iris'))('load_iris: 150 × 4 float32, int32 labels, names from the file', async () => {
    const { X, y, feature_names, target_names } = await load_iris();
    expect(load_iris_sync().X.toArray()).toEqual(X.toArray());
    expect([X.shape, X.dtype, y.shape, y.dtype]).toEqual([[150, 4], 'float32', [150], 'int32']);
    expect(X.toArray()).toContainEqual([5.1, 3.5, 1.4, 0.2].map(Math.fround));
    expect(counts(y, 3)).toEqual([50, 50, 50]);
    expect(target_names).toEqual(['setosa', 'versicolor', 'virginica']);
    expect(feature_names).toHaveLength(4);
  });

  it.runIf(haveDataset('digits'))('load_digits: 1797 samples as [N, 64] or [N, 1, 8, 8]', async () => {
    const flat = await load_digits();
    expect(flat.X.shape).toEqual([1797, 64]);
    expect(Array.from(flat.X._data.subarray(0, 8))).toEqual([0, 0, 5, 13, 9, 1, 0, 0]);
    expect(counts(flat.y, 10)).toEqual([178, 182, 177, 183, 181, 182, 181, 179, 174, 180]);
    const img = load_digits_sync({ flatten: false });
    expect(img.X.shape).toEqual([1797, 1, 8, 8]);
    expect(img.X._data).toEqual(flat.X._data);
    expect(flat.feature_names![9]).toBe('pixel_1_1');
  });

  it.runIf(haveDataset('fashion-mnist'))('load_fashion_mnist: train and test splits scaled to [0, 1]', async () => {
    const test = await load_fashion_mnist({ split: 'test' });
    expect(Array.from(load_fashion_mnist_sync({ split: 'test', limit: 50 }).X._data)).toEqual(Array.from(test.X._data.subarray(0, 50 * 784)));
    expect([test.X.shape, test.y.shape, test.y.dtype]).toEqual([[10000, 1, 28, 28], [10000], 'int32']);
    expect(counts(test.y, 10)).toEqual(new Array(10).fill(1000));
    const train = load_fashion_mnist_sync({ limit: 10, flatten: true });
    expect(train.X.shape).toEqual([10, 784]);
    expect(Array.from(train.y._data)).toEqual([9, 0, 0, 3, 0, 2, 7, 2, 5, 5]);
    const first = train.X._data.subarray(0, 784);
    expect(Array.from(first).reduce((a, b) => a + b, 0) * 255).toBeCloseTo(76247, 1);
    expect(Math.max(...first)).toBeLessThanOrEqual(1);
    expect(train.target_names[9]).toBe('Ankle boot');
    await expect(load_fashion_mnist({ split: 'val' as 'test' })).rejects.toThrow(R.AttrError);
  });

  it('a missing dataset names the install command; RAVDL_DATA_DIR and data_dir override the folder', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'ravdl-empty-'));
    await expect(load_iris({ data_dir: empty })).rejects.toThrow(DatasetNotFoundError);
    const err = (() => {
      try {
        load_iris_sync({ data_dir: empty });
      } catch (e) {
        return e as DatasetNotFoundError;
      }
    })()!;
    expect(err.message).toMatch(/Install it with: sudo sh \/.*\/scripts\/install-datasets\.sh .*or: sudo apt-get install -y python3-sklearn/);
    expect(err.install).toMatch(/scripts\/install-datasets\.sh/);
    process.env.RAVDL_DATA_DIR = empty;
    expect(() => load_fashion_mnist_sync()).toThrow(/fashion-mnist\/train-images-idx3-ubyte\.gz.*apt-get install -y dataset-fashion-mnist/);
    const own = mkdtempSync(join(tmpdir(), 'ravdl-own-'));
    writeFileSync(join(own, 'iris.csv'), '2,1,a,b\n0.5,1\n1.5,0\n');
    process.env.RAVDL_DATA_DIR = own;
    const iris = await load_iris();
    expect(iris.X.toArray()).toEqual([[0.5], [1.5]]);
    expect(iris.y.toArray()).toEqual([1, 0]);
    expect(iris.target_names).toEqual(['a', 'b']);
    mkdirSync(join(own, 'fashion-mnist'));
    writeFileSync(join(own, 'fashion-mnist', 't10k-images-idx3-ubyte'), idx(0x08, [1, 28, 28], Buffer.alloc(784, 255)));
    writeFileSync(join(own, 'fashion-mnist', 't10k-labels-idx1-ubyte'), idx(0x08, [1], Buffer.from([12])));
    await expect(load_fashion_mnist({ split: 'test', data_dir: own })).rejects.toThrow(/label 12 at sample 0 is not a class in \[0, 10\)/);
    const digits = systemDatasetFile('digits.csv.gz');
    if (digits) {
      copyFileSync(digits, join(own, 'digits.csv.gz'));
      expect((await load_digits({ data_dir: own })).X.shape).toEqual([1797, 64]);
    }
  });

  it('the async loaders read and inflate off the main thread and keep the same limits', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ravdl-gz-'));
    mkdirSync(join(dir, 'fashion-mnist'));
    const images = idx(0x08, [3, 28, 28], Buffer.from(Array.from({ length: 3 * 784 }, (_, i) => i % 256)));
    writeFileSync(join(dir, 'fashion-mnist', 't10k-images-idx3-ubyte.gz'), gzipSync(images));
    writeFileSync(join(dir, 'fashion-mnist', 't10k-labels-idx1-ubyte'), idx(0x08, [3], Buffer.from([1, 2, 3])));
    const got = await load_fashion_mnist({ split: 'test', data_dir: dir });
    expect(Array.from(got.X._data)).toEqual(Array.from(load_fashion_mnist_sync({ split: 'test', data_dir: dir }).X._data));
    expect(got.X._data[300]).toBeCloseTo((300 % 256) / 255, 6);
    // The gzip file inflates past max_bytes: refused in both forms.
    await expect(load_fashion_mnist({ split: 'test', data_dir: dir, max_bytes: 1000 })).rejects.toThrow(/inflates to more than the limit of 1000 bytes/);
    expect(() => load_fashion_mnist_sync({ split: 'test', data_dir: dir, max_bytes: 1000 })).toThrow(/inflates to more than the limit of 1000 bytes/);
  });
});
