// pad and pad_backward against PyTorch's F.pad (fixtures in test/fixtures/conv.json), plus errors.
import { describe, expect, it } from 'vitest';
import { kernels } from '../helpers/kernels.js';
import { native } from '../../lib/index.js';
import { expectClose, expectCode, loadFixtures } from '../helpers/fixtures.js';

const cases = loadFixtures('conv', 'pad');

describe('pad matches torch F.pad (pads listed in dim order)', () => {
  it('has fixtures for every mode', () => {
    expect(new Set(cases.map((c) => c.attrs.mode)).size).toBe(4);
  });
  for (const c of cases) {
    it(c.name, () => {
      const n = kernels();
      const { x, gy } = c.inputs;
      const { y, gx } = c.outputs;
      const { pads, mode, value } = c.attrs;
      expect(n.pad_shape(x.shape, pads, mode)).toEqual(y.shape);
      const out = new Float32Array(y.data.length);
      n.pad(x.data as Float32Array, x.shape, pads, mode, value, out);
      expectClose(out, y.data, { atol: 0, rtol: 0, label: 'y' });
      const g = new Float32Array(gx.data.length).fill(9);
      n.pad_backward(gy.data as Float32Array, gy.shape, pads, mode, g);
      expectClose(g, gx.data, { atol: 1e-5, rtol: 1e-5, label: 'gx' });
    });
  }
});

describe('pad errors', () => {
  const n = kernels();
  const x = new Float32Array(12);
  it('follows torch validity rules with ERR_ATTR', () => {
    expectCode(() => n.pad_shape([1, 3, 4], [0, 4], 'reflect'), 'ERR_ATTR', /reflect.*pad 4.*size 4/);
    expectCode(() => n.pad_shape([1, 3, 4], [5, 0], 'circular'), 'ERR_ATTR', /circular.*pad 5/);
    // Negative pads crop, at most the whole dim; circular wraps around what cropping leaves.
    expect(n.pad_shape([1, 3, 4], [-1, 2], 'reflect')).toEqual([1, 3, 5]);
    expect(n.pad_shape([1, 3, 4], [-3, -1], 'constant')).toEqual([1, 3, 0]);
    expectCode(() => n.pad_shape([1, 3, 4], [-3, -2], 'constant'), 'ERR_ATTR', /crop more than dim 2 of size 4/);
    expectCode(() => n.pad_shape([1, 3, 4], [3, -2], 'circular'), 'ERR_ATTR', /circular.*after cropping.*pad 3.*size 2/);
    expectCode(() => n.pad_shape([1, 3, 4], [-(2 ** 32), 0], 'constant'), 'ERR_ATTR', /too large/);
    expectCode(() => n.pad_shape([1, 3, 4], [1, 0, 2], 'constant'), 'ERR_ATTR', /pairs/);
    expectCode(() => n.pad_shape([2, 0], [1, 0], 'replicate'), 'ERR_ATTR', /replicate/);
    expectCode(() => n.pad(x, [3, 4], [1, 1], 'edge' as any, 0, new Float32Array(18)), 'ERR_ATTR', /'edge'/);
  });
  it('checks buffers', () => {
    expectCode(() => n.pad(x, [3, 4], [1, 1], 'constant', 0, new Float32Array(17)), 'ERR_SHAPE', /pad: output 0 has 17 elements/);
    expectCode(() => n.pad(x, [3, 4], [0, 0], 'constant', 0, x), 'ERR_ARG', /share memory/);
    expectCode(() => n.pad_backward(x, [3, 4], [2, 2, 0, 0], 'constant', new Float32Array(0)), 'ERR_SHAPE', /smaller than the pads/);
    expectCode(() => n.pad_backward(x, [3, 4], [1, 1], 'constant', new Float32Array(11)), 'ERR_SHAPE', /pad_backward: output 0 has 11 elements/);
  });
});
