import { describe, expect, it } from 'vitest';
import { kernels } from '../helpers/kernels.js';
import { native } from '../../lib/index.js';
import { expectClose, expectCode, loadFixtures } from '../helpers/fixtures.js';

const tol = { atol: 1e-5, rtol: 1e-4 };

describe('cross_entropy matches PyTorch', () => {
  for (const c of loadFixtures('nn', 'cross_entropy')) {
    it(c.name, () => {
      const z = c.inputs.logits!;
      const t = c.inputs.target!.data;
      const w = (c.inputs.weight?.data as Float32Array | undefined) ?? null;
      const attrs = { reduction: c.attrs.reduction, ignore_index: c.attrs.ignore_index, label_smoothing: c.attrs.label_smoothing };
      const shape = kernels().cross_entropy_shape(z.shape, attrs.reduction);
      expect(shape.reduce((a: number, b: number) => a * b, 1)).toBe(c.outputs.loss!.data.length);
      if (attrs.reduction === 'none') expect(shape).toEqual(c.outputs.loss!.shape);
      const out = new Float32Array(c.outputs.loss!.data.length);
      kernels().cross_entropy(z.data as Float32Array, z.shape, t, w, out, attrs);
      expectClose(out, c.outputs.loss!.data, { ...tol, label: 'loss' });
      const gz = new Float32Array(z.data.length);
      kernels().cross_entropy_backward(z.data as Float32Array, z.shape, t, w, c.inputs.grad_loss!.data as Float32Array, gz, attrs);
      expectClose(gz, c.outputs.grad_logits!.data, { atol: 1e-6, rtol: 1e-4, label: 'grad_logits' });
    });
  }

  it('uses mean, ignore_index -100 and no smoothing by default', () => {
    const c = loadFixtures('nn', 'cross_entropy').find((k) => k.name === 'cross_entropy index ignore mean')!;
    const out = new Float32Array(1);
    kernels().cross_entropy(c.inputs.logits!.data as Float32Array, c.inputs.logits!.shape, c.inputs.target!.data, null, out);
    expectClose(out, c.outputs.loss!.data, { ...tol, label: 'defaults' });
  });

  it('rejects bad labels, shapes and attributes', () => {
    const n = kernels();
    const z = new Float32Array(12);
    const out = new Float32Array(1);
    expectCode(() => n.cross_entropy(z, [4, 3], new Int32Array([0, 1, 3, 2]), null, out), 'ERR_INDEX', /target 3 at position 2 is out of range \[0, 3\)/);
    expectCode(() => n.cross_entropy(z, [4, 3], new Int32Array([0, -1, 0, 0]), null, out), 'ERR_INDEX', /target -1 at position 1/);
    expectCode(() => n.cross_entropy_backward(z, [4, 3], new Int32Array([0, 1, 2, 7]), null, out, new Float32Array(12)), 'ERR_INDEX', /target 7/);
    expectCode(() => n.cross_entropy(z, [4, 3], new Int32Array([0, 1, -100, 5]), null, out, { ignore_index: 5 }), 'ERR_INDEX', /target -100/);
    expectCode(() => n.cross_entropy(z, [4, 3], new Int32Array(3), null, out), 'ERR_SHAPE', /cross_entropy: input 1 has 3 elements/);
    expectCode(() => n.cross_entropy(z, [4, 3], new Float32Array(11), null, out), 'ERR_SHAPE', /cross_entropy: input 1 has 11 elements/);
    expectCode(() => n.cross_entropy(z, [4, 3], new Int32Array(4), new Float32Array(4), out), 'ERR_SHAPE', /cross_entropy: input 2 has 4 elements/);
    expectCode(() => n.cross_entropy(z, [4, 3], new Int32Array(4), null, new Float32Array(4)), 'ERR_SHAPE', /cross_entropy: output 0 has 4 elements/);
    expectCode(() => n.cross_entropy(z, [4, 3], new Int32Array(4), null, new Float32Array(1), { reduction: 'none' }), 'ERR_SHAPE', /cross_entropy: output 0 has 1 elements but shape \[4\]/);
    expectCode(() => n.cross_entropy(z, [4, 3], new Int32Array(4), null, out, { reduction: 'avg' as any }), 'ERR_ATTR', /reduction must be .* got 'avg'/);
    expectCode(() => n.cross_entropy(z, [4, 3], new Int32Array(4), null, out, { label_smoothing: 1.5 }), 'ERR_ATTR', /label_smoothing/);
    expectCode(() => n.cross_entropy(z, [12], new Int32Array(12), null, out), 'ERR_SHAPE', /logits must be/);
    expectCode(() => n.cross_entropy(z, [4, 3], new Uint8Array(4) as any, null, out), 'ERR_DTYPE', /cross_entropy: input 1 must be a Float32Array or an Int32Array/);
    expectCode(() => n.cross_entropy(z, [4, 3], [0, 1, 2, 0] as any, null, out), 'ERR_ARG', /cross_entropy: input 1 must be a Float32Array or an Int32Array/);
    expectCode(() => n.cross_entropy_backward(z, [4, 3], new Int32Array(4), null, new Float32Array(2), new Float32Array(12)), 'ERR_SHAPE', /cross_entropy_backward: input 3 has 2 elements/);
    expectCode(() => n.cross_entropy_backward(z, [4, 3], new Int32Array(4), null, out, z), 'ERR_ARG', /must not share memory/);
  });
});

describe('mse_loss matches PyTorch', () => {
  for (const c of loadFixtures('nn', 'mse_loss')) {
    it(c.name, () => {
      const p = c.inputs.pred!.data as Float32Array;
      const t = c.inputs.target!.data as Float32Array;
      const r = c.attrs.reduction;
      expect(kernels().mse_loss_shape(c.inputs.pred!.shape, r)).toEqual(r === 'none' ? c.inputs.pred!.shape : []);
      const out = new Float32Array(c.outputs.loss!.data.length);
      kernels().mse_loss(p, t, out, r);
      expectClose(out, c.outputs.loss!.data, { ...tol, label: 'loss' });
      const gp = new Float32Array(p.length);
      const gt = new Float32Array(p.length);
      kernels().mse_loss_backward(p, t, c.inputs.grad_loss!.data as Float32Array, gp, gt, r);
      expectClose(gp, c.outputs.grad_pred!.data, { ...tol, label: 'grad_pred' });
      expectClose(gt, c.outputs.grad_target!.data, { ...tol, label: 'grad_target' });
    });
  }

  it('sums a large input the same way at any thread count', () => {
    const p = Float32Array.from({ length: 300_001 }, (_, i) => Math.sin(i));
    const t = Float32Array.from({ length: 300_001 }, (_, i) => Math.cos(i * 0.5));
    let ref = 0;
    for (let i = 0; i < p.length; i++) ref += (p[i]! - t[i]!) ** 2;
    const a = new Float32Array(1);
    const b = new Float32Array(1);
    kernels().setNumThreads(1);
    kernels().mse_loss(p, t, a, 'mean');
    kernels().setNumThreads(2);
    kernels().mse_loss(p, t, b, 'mean');
    kernels().setNumThreads(0);
    expect(b[0]).toBe(a[0]);
    expect(a[0]).toBeCloseTo(ref / p.length, 5);
  });

  it('rejects bad lengths and reductions', () => {
    const n = kernels();
    const p = new Float32Array(6);
    expectCode(() => n.mse_loss(p, new Float32Array(5), new Float32Array(1)), 'ERR_SHAPE', /pred has 6 elements but target has 5/);
    expectCode(() => n.mse_loss(p, p, new Float32Array(2)), 'ERR_SHAPE', /out has 2/);
    expectCode(() => n.mse_loss(p, p, new Float32Array(1), 'max' as any), 'ERR_ATTR', /'max'/);
    expectCode(() => n.mse_loss_backward(p, p, new Float32Array(6), new Float32Array(6), null, 'mean'), 'ERR_SHAPE', /grad_loss has 6/);
    expectCode(() => n.mse_loss_backward(p, p, new Float32Array(1), new Float32Array(5), null), 'ERR_SHAPE', /grad_pred has 5/);
  });
});
