// Whether an optional dataset (a Debian package) is installed; when not, tests that need it are
// skipped and the command that installs it is printed once.
import { DatasetNotFoundError, load_digits, load_fashion_mnist, load_iris } from '../../lib/v2/utils/index.js';

const loaders = { iris: () => load_iris(), digits: () => load_digits(), 'fashion-mnist': () => load_fashion_mnist({ split: 'test', limit: 1 }) };
const known = new Map<string, boolean>();

export function haveDataset(name: keyof typeof loaders): boolean {
  let ok = known.get(name);
  if (ok === undefined) {
    try {
      loaders[name]();
      ok = true;
    } catch (e) {
      if (!(e instanceof DatasetNotFoundError)) throw e;
      console.warn(`skipping tests that need the ${name} dataset: ${e.message.split('Install it with: ')[1] ?? e.message}`);
      ok = false;
    }
    known.set(name, ok);
  }
  return ok;
}
