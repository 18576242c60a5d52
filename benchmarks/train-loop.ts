// A small MLP training step (forward, backward, SGD update) written only with R ops, shared by
// the flat-memory test (test/tensor/memory.test.ts) and the RSS benchmark (benchmarks/memory-rss.ts).
import * as R from '../lib/index.js';

export interface Mlp {
  params: R.Tensor[];
  step(useTidy: boolean): number;
}

/** 8 -> 16 -> 4 MLP with ReLU, mean squared error, plain SGD; data fixed, weights seeded. */
export function makeMlp(seed = 1): Mlp {
  R.manual_seed(seed);
  const keepGrad = (t: R.Tensor) => R.keep(t.requires_grad_(true));
  const w1 = keepGrad(R.mul(R.randn([8, 16]), 0.3));
  const b1 = keepGrad(R.zeros([16]));
  const w2 = keepGrad(R.mul(R.randn([16, 4]), 0.3));
  const b2 = keepGrad(R.zeros([4]));
  const x = R.keep(R.randn([32, 8]));
  const y = R.keep(R.randn([32, 4]));
  const params = [w1, b1, w2, b2];
  const lr = 0.01;

  function body(): number {
    const h = R.relu(R.add(R.matmul(x, w1), b1));
    const out = R.add(R.matmul(h, w2), b2);
    const loss = R.mean(R.square(R.sub(out, y)));
    loss.backward();
    R.no_grad(() => {
      for (const p of params) {
        // In-place update through the data view: the optimizer's job, kept minimal here.
        const d = p._data as Float32Array;
        const g = p.grad!._data as Float32Array;
        for (let i = 0; i < d.length; i++) d[i]! -= lr * g[i]!;
        p.grad!.dispose();
        p.grad = null;
      }
    });
    return loss.item();
  }
  return { params, step: (useTidy) => (useTidy ? R.tidy(body) : body()) };
}
