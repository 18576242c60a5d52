// Child process of memory.bench.ts: the Fashion-MNIST example's job (train the example's CNN with
// Adam at batch 64, then predict the test set in batches of 256) on the first `--limit` training
// images for `--epochs` epochs. Prints one JSON line: peak RSS, RSS after each epoch, accuracy.
//   node --conditions=ravdl-source --import tsx benchmarks/fashion-rss.ts --epochs 3 --limit 20000 --threads 2
import * as R from '../lib/index.js';
import { fashionCnn } from '../examples/fashion_mnist_cnn.js';
import { accuracy_score, load_fashion_mnist } from '../lib/v2/utils/index.js';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const epochs = arg('--epochs', 3);
const limit = arg('--limit', 20000);
R.setNumThreads(arg('--threads', 0));
const mb = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;

R.manual_seed(42);
const train = await load_fashion_mnist({ split: 'train', limit });
const test = await load_fashion_mnist({ split: 'test' });
const model = fashionCnn();
const epochRss: number[] = [];
const started = performance.now();
await model.fit(train.X, train.y, {
  n_epochs: epochs,
  batch_size: 64,
  verbose: false,
  callbacks: [{ on_epoch_end: () => void epochRss.push(mb(process.memoryUsage().rss)) }],
});
const trainSeconds = (performance.now() - started) / 1000;
const accuracy = accuracy_score(test.y, await model.predict_async(test.X));
console.log(JSON.stringify({ peakMB: mb(process.resourceUsage().maxRSS * 1024), epochRssMB: epochRss, accuracy, trainSeconds }));
