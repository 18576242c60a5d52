import { describe, expect, it } from 'vitest';
import { kernels } from '../helpers/kernels.js';
import { native } from '../../lib/index.js';
import { expectClose, expectCode, loadFixtures, type FixtureCase } from '../helpers/fixtures.js';

const f32 = (c: FixtureCase, k: string) => (c.inputs[k] ? Float32Array.from(c.inputs[k]!.data as Float32Array) : null);
const tol = { atol: 2e-5, rtol: 1e-4 };

describe('batch_norm matches PyTorch', () => {
  for (const c of loadFixtures('nn', 'batch_norm')) {
    it(c.name, () => {
      const x = c.inputs.x!;
      const C = x.shape[1]!;
      const rm = f32(c, 'running_mean');
      const rv = f32(c, 'running_var');
      const y = new Float32Array(x.data.length);
      const sm = new Float32Array(C);
      const si = new Float32Array(C);
      const attrs = { training: c.attrs.training, momentum: c.attrs.momentum, eps: c.attrs.eps };
      kernels().batch_norm(x.data as Float32Array, x.shape, f32(c, 'gamma'), f32(c, 'beta'), rm, rv, y, sm, si, attrs);
      expectClose(y, c.outputs.y!.data, { ...tol, label: 'y' });
      expectClose(sm, c.outputs.save_mean!.data, { ...tol, label: 'save_mean' });
      expectClose(si, c.outputs.save_invstd!.data, { ...tol, label: 'save_invstd' });
      if (rm) {
        expectClose(rm, c.outputs.running_mean!.data, { ...tol, label: 'running_mean' });
        expectClose(rv!, c.outputs.running_var!.data, { ...tol, label: 'running_var' });
      }
      const gx = new Float32Array(x.data.length);
      const affine = !!c.inputs.gamma;
      const gg = affine ? new Float32Array(C) : null;
      const gb = affine ? new Float32Array(C) : null;
      kernels().batch_norm_backward(c.inputs.grad_out!.data as Float32Array, x.data as Float32Array, x.shape,
        f32(c, 'gamma'), sm, si, gx, gg, gb, { training: c.attrs.training });
      expectClose(gx, c.outputs.grad_x!.data, { atol: 5e-5, rtol: 1e-4, label: 'grad_x' });
      if (affine) {
        expectClose(gg!, c.outputs.grad_gamma!.data, { atol: 5e-5, rtol: 1e-4, label: 'grad_gamma' });
        expectClose(gb!, c.outputs.grad_beta!.data, { atol: 5e-5, rtol: 1e-4, label: 'grad_beta' });
      }
    });
  }

  it('runs in place (out === x) and leaves running stats alone when not given', () => {
    const c = loadFixtures('nn', 'batch_norm').find((k) => k.name.includes('train_affine_norunning'))!;
    const x = Float32Array.from(c.inputs.x!.data as Float32Array);
    kernels().batch_norm(x, c.inputs.x!.shape, f32(c, 'gamma'), f32(c, 'beta'), null, null, x, null, null, { momentum: 0.1, eps: c.attrs.eps });
    expectClose(x, c.outputs.y!.data, { ...tol, label: 'in place' });
  });

  it('rejects bad shapes and attributes', () => {
    const n = kernels();
    const x = new Float32Array(24);
    const out = new Float32Array(24);
    const c3 = () => new Float32Array(3);
    expectCode(() => n.batch_norm(x, [2, 3, 4], new Float32Array(4), null, null, null, out, null, null), 'ERR_SHAPE', /gamma has 4 elements .* 3 channels/);
    expectCode(() => n.batch_norm(x, [2, 3, 4], null, null, c3(), new Float32Array(2), out, null, null), 'ERR_SHAPE', /running_var/);
    expectCode(() => n.batch_norm(x, [2, 3, 4], null, null, null, null, out, null, null, { eps: 0 }), 'ERR_ATTR', /eps must be > 0, got 0/);
    expectCode(() => n.batch_norm(x, [2, 3, 4], null, null, null, null, out, null, null, { eps: -1 }), 'ERR_ATTR', /eps/);
    expectCode(() => n.batch_norm(x, [2, 3, 4], null, null, null, null, out, null, null, { momentum: 1.5 }), 'ERR_ATTR', /momentum must be in \[0, 1\], got 1.5/);
    expectCode(() => n.batch_norm(x, [2, 3, 4], null, null, null, null, out, null, null, { momentum: -0.1 }), 'ERR_ATTR', /momentum/);
    expectCode(() => n.batch_norm(x, [2, 3, 4], null, null, null, null, out, null, null, { training: false }), 'ERR_ARG', /running_mean/);
    expectCode(() => n.batch_norm(x, [24], null, null, null, null, out, null, null), 'ERR_SHAPE', /\(N, C\)/);
    expectCode(() => n.batch_norm(x, [2, 3, 4], null, null, null, null, new Float32Array(23), null, null), 'ERR_SHAPE', /out/);
    expectCode(() => n.batch_norm(x, [2, 3, 5], null, null, null, null, out, null, null), 'ERR_SHAPE', /x has 24/);
    expectCode(() => n.batch_norm(new Float32Array(3), [1, 3], null, null, null, null, new Float32Array(3), null, null), 'ERR_SHAPE', /more than 1 value/);
    expectCode(() => n.batch_norm(new Float64Array(24) as any, [2, 3, 4], null, null, null, null, out, null, null), 'ERR_DTYPE', /Float32Array/);
    expectCode(() => n.batch_norm(x, [2, 3, 4], null, null, null, null, out.subarray(1), null, null), 'ERR_SHAPE', /out/);
    expectCode(() => n.batch_norm_backward(x, x, [2, 3, 4], null, c3(), new Float32Array(2), out, null, null), 'ERR_SHAPE', /save_invstd|invstd/);
  });
});

describe('layer_norm matches PyTorch', () => {
  for (const c of loadFixtures('nn', 'layer_norm')) {
    it(c.name, () => {
      const x = c.inputs.x!;
      const ns = c.attrs.normalized_shape as number[];
      const rows = c.outputs.mean!.data.length;
      const y = new Float32Array(x.data.length);
      const mean = new Float32Array(rows);
      const rstd = new Float32Array(rows);
      kernels().layer_norm(x.data as Float32Array, x.shape, ns, f32(c, 'weight'), f32(c, 'bias'), y, mean, rstd, c.attrs.eps);
      expectClose(y, c.outputs.y!.data, { ...tol, label: 'y' });
      expectClose(mean, c.outputs.mean!.data, { ...tol, label: 'mean' });
      expectClose(rstd, c.outputs.rstd!.data, { ...tol, label: 'rstd' });
      const D = ns.reduce((a, b) => a * b, 1);
      const gx = new Float32Array(x.data.length);
      const gw = new Float32Array(D);
      const gb = new Float32Array(D);
      kernels().layer_norm_backward(c.inputs.grad_out!.data as Float32Array, x.data as Float32Array, x.shape, ns, mean, rstd, f32(c, 'weight'), gx, gw, gb);
      expectClose(gx, c.outputs.grad_x!.data, { atol: 5e-5, rtol: 1e-4, label: 'grad_x' });
      if (c.outputs.grad_weight) expectClose(gw, c.outputs.grad_weight.data, { atol: 5e-5, rtol: 1e-4, label: 'grad_weight' });
      if (c.outputs.grad_bias) expectClose(gb, c.outputs.grad_bias.data, { atol: 5e-5, rtol: 1e-4, label: 'grad_bias' });
    });
  }

  it('rejects bad shapes and attributes', () => {
    const n = kernels();
    const x = new Float32Array(12);
    const out = new Float32Array(12);
    expectCode(() => n.layer_norm(x, [3, 4], [3], null, null, out, null, null), 'ERR_SHAPE', /normalized_shape \[3\] must match/);
    expectCode(() => n.layer_norm(x, [3, 4], [2, 3, 4], null, null, out, null, null), 'ERR_SHAPE', /normalized_shape/);
    expectCode(() => n.layer_norm(x, [3, 4], [4], new Float32Array(3), null, out, null, null), 'ERR_SHAPE', /weight has 3/);
    expectCode(() => n.layer_norm(x, [3, 4], [4], null, null, out, new Float32Array(4), null), 'ERR_SHAPE', /mean has 4/);
    expectCode(() => n.layer_norm(x, [3, 4], [4], null, null, out, null, null, 0), 'ERR_ATTR', /eps must be > 0, got 0/);
    expectCode(() => n.layer_norm(x, [3, 4], [4], null, null, out, null, null, NaN), 'ERR_ATTR', /eps/);
    expectCode(() => n.layer_norm_backward(x, x, [3, 4], [4], new Float32Array(2), new Float32Array(3), null, out, null, null), 'ERR_SHAPE', /mean/);
  });

  it('runs in place and agrees with the defaults', () => {
    const x = Float32Array.from({ length: 20 }, (_, i) => Math.sin(i) * 3);
    const y = new Float32Array(20);
    kernels().layer_norm(x, [4, 5], [5], null, null, y, null, null);
    kernels().layer_norm(x, [4, 5], [5], null, null, x, null, null);
    expect(Array.from(x)).toEqual(Array.from(y));
  });
});
