import { afterEach, describe, expect, it } from 'vitest';
import { native, setNumThreads } from '../../lib/index.js';
import { expectClose, expectCode, loadFixtures } from '../helpers/fixtures.js';
import { kernels } from '../helpers/kernels.js';

const nat = kernels();
afterEach(() => setNumThreads(0));

describe('embedding (PyTorch fixtures)', () => {
  const cases = loadFixtures('misc', 'embedding');
  it('has fixtures', () => expect(cases.length).toBeGreaterThanOrEqual(3));
  for (const c of cases) {
    it(`${c.name}: forward gathers rows, backward scatter-adds (repeats, padding_idx)`, () => {
      const { weight, ids, gy } = c.inputs;
      const [V, D] = weight!.shape as [number, number];
      const out = new Float32Array(ids!.data.length * D);
      nat.embedding(weight!.data as Float32Array, weight!.shape, ids!.data as Int32Array, out);
      expectClose(out, c.outputs.out!.data, { atol: 0, rtol: 0, label: `${c.name} out` });
      for (const threads of [1, 2]) {
        setNumThreads(threads);
        const gw = new Float32Array(V * D).fill(7); // overwritten
        nat.embedding_backward(gy!.data as Float32Array, ids!.data as Int32Array, V, D, c.attrs.padding_idx, gw);
        expectClose(gw, c.outputs.gw!.data, { atol: 1e-6, rtol: 1e-6, label: `${c.name} gw` });
      }
    });
  }
});

describe('embedding errors', () => {
  const w = new Float32Array(12);
  const ids = Int32Array.from([0, 2, 1]);
  it('names an out-of-range id and its position', () => {
    const out = new Float32Array(12);
    expectCode(() => nat.embedding(w, [3, 4], Int32Array.from([0, 3, 1]), out), 'ERR_INDEX', /embedding: id 3 at position 1 is out of range \[0, 3\)/);
    expectCode(() => nat.embedding(w, [3, 4], Int32Array.from([0, 1, -2]), out), 'ERR_INDEX', /id -2 at position 2/);
    expectCode(() => nat.embedding_backward(new Float32Array(12), Int32Array.from([5, 0, 0]), 3, 4, null, w), 'ERR_INDEX', /id 5 at position 0/);
  });
  it('checks shapes, types and padding_idx', () => {
    expectCode(() => nat.embedding(w, [3, 4], ids, new Float32Array(11)), 'ERR_SHAPE', /embedding: output 0 has 11 elements/);
    expectCode(() => nat.embedding(w, [3, 5], ids, new Float32Array(15)), 'ERR_SHAPE', /embedding: input 1 has 12 elements/);
    expectCode(() => nat.embedding(w, [12], ids, new Float32Array(12)), 'ERR_SHAPE', /embedding: output 0 has 12 elements/);
    expectCode(() => nat.embedding(w, [3, 4], Float32Array.from([0, 1, 2]) as any, new Float32Array(12)), 'ERR_DTYPE', /embedding: input 0 must be int32/);
    expectCode(() => nat.embedding(w, [3, 4], ids, w), 'ERR_ARG', /share memory/);
    expectCode(() => nat.embedding_backward(new Float32Array(12), ids, 3, 4, 3, new Float32Array(12)), 'ERR_INDEX', /padding_idx 3/);
    expectCode(() => nat.embedding_backward(new Float32Array(12), ids, 3, 4, -4, new Float32Array(12)), 'ERR_INDEX', /padding_idx -4/);
    expectCode(() => nat.embedding_backward(new Float32Array(11), ids, 3, 4, null, new Float32Array(12)), 'ERR_SHAPE', /embedding_backward: input 0 has 11 elements/);
    expectCode(() => nat.embedding_backward(new Float32Array(12), ids, 3, 4, null, new Float32Array(13)), 'ERR_SHAPE', /embedding_backward: output 0 has 13 elements/);
  });
});
