import { describe, expect, it } from 'vitest';
import { kernels } from '../helpers/kernels.js';
import { native } from '../../lib/index.js';
import { expectClose, expectCode, loadFixtures } from '../helpers/fixtures.js';

type Kind = 'softmax' | 'log_softmax' | 'softmin';
const KINDS: Kind[] = ['softmax', 'log_softmax', 'softmin'];
const fwd = (k: Kind) => kernels()[k].bind(kernels());
const bwd = (k: Kind) => kernels()[`${k}_backward`].bind(kernels());

describe('softmax family matches PyTorch', () => {
  for (const kind of KINDS) {
    for (const c of loadFixtures('nn', kind)) {
      it(c.name, () => {
        const x = c.inputs.x!;
        const axis = c.attrs.axis as number;
        const y = new Float32Array(x.data.length);
        fwd(kind)(x.data as Float32Array, x.shape, axis, y);
        expectClose(y, c.outputs.y!.data, { atol: 1e-6, rtol: 1e-5, label: 'y' });
        const gx = new Float32Array(x.data.length);
        bwd(kind)(y, c.inputs.grad_out!.data as Float32Array, x.shape, axis, gx);
        expectClose(gx, c.outputs.grad_x!.data, { atol: 1e-5, rtol: 1e-4, label: 'grad_x' });
      });
    }
  }

  it('runs in place for forward (out === x) and backward (grad_x === grad_out)', () => {
    for (const kind of KINDS) {
      for (const c of loadFixtures('nn', kind).filter((k) => k.name.includes('[3, 5, 6]') || k.name.includes('[5, 300]'))) {
        const x = Float32Array.from(c.inputs.x!.data as Float32Array);
        const axis = c.attrs.axis as number;
        fwd(kind)(x, c.inputs.x!.shape, axis, x);
        expectClose(x, c.outputs.y!.data, { atol: 1e-6, rtol: 1e-5, label: `${kind} in place` });
        const g = Float32Array.from(c.inputs.grad_out!.data as Float32Array);
        bwd(kind)(x, g, c.inputs.x!.shape, axis, g);
        expectClose(g, c.outputs.grad_x!.data, { atol: 1e-5, rtol: 1e-4, label: `${kind} backward in place` });
      }
    }
  });

  it('gives the same result on a large tensor at any thread count', () => {
    const shape = [64, 33, 40];
    const x = Float32Array.from({ length: 64 * 33 * 40 }, (_, i) => Math.sin(i * 0.37) * 8);
    for (const axis of [1, 2]) {
      const a = new Float32Array(x.length);
      const b = new Float32Array(x.length);
      kernels().setNumThreads(1);
      kernels().softmax(x, shape, axis, a);
      kernels().setNumThreads(2);
      kernels().softmax(x, shape, axis, b);
      kernels().setNumThreads(0);
      expect(Array.from(b)).toEqual(Array.from(a));
      // Each slice sums to 1.
      const inner = axis === 2 ? 1 : 40;
      let s = 0;
      for (let k = 0; k < 33; k++) s += a[5 * 33 * 40 + k * inner * (axis === 2 ? 1 : 1) + (axis === 2 ? 0 : 7)]!;
      if (axis === 1) expect(s).toBeCloseTo(1, 5);
    }
  });

  it('rejects a bad axis, shape, alias and dtype', () => {
    const n = kernels();
    const x = new Float32Array(6);
    const out = new Float32Array(6);
    expectCode(() => n.softmax(x, [2, 3], 2, out), 'ERR_INDEX', /softmax: axis 2 is out of range/);
    expectCode(() => n.log_softmax(x, [2, 3], -3, out), 'ERR_INDEX', /log_softmax: axis -3/);
    expectCode(() => n.softmin_backward(x, x, [2, 3], 5, out), 'ERR_INDEX', /softmin_backward: axis 5/);
    expectCode(() => n.softmax(x, [2, 4], 1, out), 'ERR_SHAPE', /softmax: input 0 has 6 elements/);
    expectCode(() => n.softmax(x, [2, 3], 1, new Float32Array(5)), 'ERR_SHAPE', /out/);
    expectCode(() => n.softmax_backward(x, new Float32Array(5), [2, 3], 1, out), 'ERR_SHAPE', /softmax_backward: input 1 has 5 elements/);
    const buf = new Float32Array(8);
    expectCode(() => n.softmax(buf.subarray(0, 6), [2, 3], 1, buf.subarray(2, 8)), 'ERR_ARG', /softmax: output 0 partially overlaps input 0/);
    expectCode(() => n.softmax(new Int32Array(6) as any, [2, 3], 1, out), 'ERR_DTYPE', /softmax: input 0 must be float32/);
    expectCode(() => n.softmax(x, [2, 3], 1.5, out), 'ERR_ATTR', /axis/);
  });
});
