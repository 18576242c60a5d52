// The examples on reduced runs: each must still reach a clear accuracy bar (the full runs'
// targets are in the README: iris >= 0.95, digits >= 0.97, Fashion-MNIST >= 0.90).
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { main as irisSequential } from '../../examples/iris_sequential.js';
import { main as irisFunctional } from '../../examples/iris_functional.js';
import { main as digits } from '../../examples/digits_cnn.js';
import { main as fashion } from '../../examples/fashion_mnist_cnn.js';
import { main as graphAnn } from '../../examples/graph_ann.js';
import { main as graphCnn } from '../../examples/graph_cnn.js';

const hasSklearn = existsSync('/usr/lib/python3/dist-packages/sklearn/datasets/data/iris.csv') || !!process.env.RAVDL_DATA_DIR;
const hasFashion = existsSync('/usr/share/datasets/fashion-mnist') || !!process.env.RAVDL_DATA_DIR;
if (!hasSklearn) console.warn('examples: iris/digits skipped (apt-get install -y python3-sklearn)');
if (!hasFashion) console.warn('examples: Fashion-MNIST skipped (apt-get install -y dataset-fashion-mnist)');

describe('examples', () => {
  it.skipIf(!hasSklearn)('iris, Sequential (the seed ANN), 100 epochs: >= 0.95', () => {
    expect(irisSequential({ verbose: false })).toBeGreaterThanOrEqual(0.95);
  });
  it.skipIf(!hasSklearn)('iris, Functional with custom layers, 100 epochs: >= 0.95', () => {
    expect(irisFunctional()).toBeGreaterThanOrEqual(0.95);
  });
  it.skipIf(!hasSklearn)('digits CNN (the seed CNN), 20 epochs: >= 0.95', () => {
    expect(digits({ n_epochs: 20, verbose: false })).toBeGreaterThanOrEqual(0.95);
  }, 120_000);
  it.skipIf(!hasSklearn)("graph mode: the seed's ann_sequential requester script, 100 epochs: >= 0.95", async () => {
    expect(await graphAnn({ verbose: false })).toBeGreaterThanOrEqual(0.95);
  });
  // The seed's CNN keeps batch-norm statistics with momentum 0.99, so its eval-mode accuracy
  // needs the full 50 epochs of 5 batches (the original's recorded result: 0.74).
  it.skipIf(!hasSklearn)("graph mode: the seed's cnn_sequential requester script, 50 epochs: >= 0.74", async () => {
    expect(await graphCnn({ verbose: false })).toBeGreaterThanOrEqual(0.74);
  }, 120_000);
  it.skipIf(!hasFashion)('Fashion-MNIST CNN on 6,000 images, 1 epoch: >= 0.70', () => {
    expect(fashion({ n_epochs: 1, train_limit: 6000, verbose: false })).toBeGreaterThanOrEqual(0.7);
  }, 180_000);
});
