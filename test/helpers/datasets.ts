// Whether an optional dataset is installed on this machine; when not, tests that need it are
// skipped and the command that installs it is printed once (npm test never fails for a missing
// dataset). Use it for every test that reads a dataset: describe.runIf(haveDataset('iris')).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DatasetNotFoundError, RAVDL_DATASETS_DIR, load_digits_sync, load_fashion_mnist_sync, load_iris_sync } from '../../lib/v2/utils/index.js';

const loaders = { iris: () => load_iris_sync(), digits: () => load_digits_sync(), 'fashion-mnist': () => load_fashion_mnist_sync({ split: 'test', limit: 1 }) };
type Name = keyof typeof loaders;
const known = new Map<string, boolean>();

export function haveDataset(name: Name): boolean {
  let ok = known.get(name);
  if (ok === undefined) {
    try {
      loaders[name]();
      ok = true;
    } catch (e) {
      if (!(e instanceof DatasetNotFoundError)) throw e;
      console.warn(`skipping tests that need the ${name} dataset; install it with: ${e.install}`);
      ok = false;
    }
    known.set(name, ok);
  }
  return ok;
}

/** The system file load_iris / load_digits read (without RAVDL_DATA_DIR), or null. */
export function systemDatasetFile(file: 'iris.csv' | 'digits.csv.gz'): string | null {
  const dirs = [RAVDL_DATASETS_DIR, '/usr/lib/python3/dist-packages/sklearn/datasets/data'];
  return dirs.map((d) => join(d, file)).find((p) => existsSync(p)) ?? null;
}
