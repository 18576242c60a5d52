// Fused optimizer steps against torch.optim (1.13, foreach=False) over 20 steps per case.
import { describe, expect, it } from 'vitest';
import { kernels } from '../helpers/kernels.js';
import { native } from '../../lib/index.js';
import { expectClose, expectCode, loadFixtures, type FixtureCase } from '../helpers/fixtures.js';

const nat = kernels();
const tol = { atol: 1e-6, rtol: 5e-6 };

/** Runs `step(t, param, grad)` for every fixture gradient, t = 1..20. */
function run(c: FixtureCase, step: (t: number, param: Float32Array, grad: Float32Array) => void): Float32Array {
  const param = Float32Array.from(c.inputs.param!.data);
  const [steps, n] = c.inputs.grads!.shape as [number, number];
  for (let t = 0; t < steps; t++) {
    step(t + 1, param, c.inputs.grads!.data.subarray(t * n, (t + 1) * n) as Float32Array);
  }
  return param;
}

describe('adam_step (Adam / AdamW / AMSGrad vs torch)', () => {
  const cases = loadFixtures('misc', 'adam_step');
  it('has fixtures for every option', () => expect(cases.length).toBe(8));
  for (const c of cases) {
    it(`${c.name}: ${JSON.stringify(c.attrs)}`, () => {
      const n = c.inputs.param!.data.length;
      const m = new Float32Array(n);
      const v = new Float32Array(n);
      const vmax = c.attrs.amsgrad ? new Float32Array(n) : null;
      const param = run(c, (t, p, g) => nat.adam_step(p, g, m, v, vmax, t, c.attrs));
      expectClose(param, c.outputs.param!.data, { ...tol, label: `${c.name} param` });
      expectClose(m, c.outputs.exp_avg!.data, { ...tol, label: `${c.name} exp_avg` });
      expectClose(v, c.outputs.exp_avg_sq!.data, { ...tol, label: `${c.name} exp_avg_sq` });
      if (vmax) expectClose(vmax, c.outputs.max_exp_avg_sq!.data, { ...tol, label: `${c.name} max_exp_avg_sq` });
    });
  }
});

describe('rmsprop_step vs torch', () => {
  const cases = loadFixtures('misc', 'rmsprop_step');
  it('has fixtures for every option', () => expect(cases.length).toBe(8));
  for (const c of cases) {
    it(`${c.name}: ${JSON.stringify(c.attrs)}`, () => {
      const n = c.inputs.param!.data.length;
      const sq = new Float32Array(n);
      const buf = c.attrs.momentum > 0 ? new Float32Array(n) : null;
      const ga = c.attrs.centered ? new Float32Array(n) : null;
      const param = run(c, (_t, p, g) => nat.rmsprop_step(p, g, sq, buf, ga, c.attrs));
      expectClose(param, c.outputs.param!.data, { ...tol, label: `${c.name} param` });
      expectClose(sq, c.outputs.square_avg!.data, { ...tol, label: `${c.name} square_avg` });
      if (buf) expectClose(buf, c.outputs.momentum_buffer!.data, { ...tol, label: `${c.name} momentum_buffer` });
      if (ga) expectClose(ga, c.outputs.grad_avg!.data, { ...tol, label: `${c.name} grad_avg` });
    });
  }
});

describe('sgd_step vs torch', () => {
  const cases = loadFixtures('misc', 'sgd_step');
  it('has fixtures for every option', () => expect(cases.length).toBe(8));
  for (const c of cases) {
    it(`${c.name}: ${JSON.stringify(c.attrs)}`, () => {
      const n = c.inputs.param!.data.length;
      const buf = c.attrs.momentum !== 0 ? new Float32Array(n).fill(123) : null; // step 1 overwrites it
      const param = run(c, (t, p, g) => nat.sgd_step(p, g, buf, t, c.attrs));
      expectClose(param, c.outputs.param!.data, { ...tol, label: `${c.name} param` });
      if (buf) expectClose(buf, c.outputs.momentum_buffer!.data, { ...tol, label: `${c.name} momentum_buffer` });
    });
  }
});

describe('optimizer errors', () => {
  const p = new Float32Array(4);
  const g = new Float32Array(4);
  const a = new Float32Array(4);
  const b = new Float32Array(4);
  it('validates hyper-parameters', () => {
    expectCode(() => nat.adam_step(p, g, a, b, null, 1, { beta1: 1 }), 'ERR_ATTR', /adam_step: beta1 must be in \[0, 1\), got 1/);
    expectCode(() => nat.adam_step(p, g, a, b, null, 1, { beta2: -0.1 }), 'ERR_ATTR', /beta2/);
    expectCode(() => nat.adam_step(p, g, a, b, null, 1, { lr: -1 }), 'ERR_ATTR', /lr/);
    expectCode(() => nat.adam_step(p, g, a, b, null, 1, { eps: NaN }), 'ERR_ATTR', /eps/);
    expectCode(() => nat.adam_step(p, g, a, b, null, 0, {}), 'ERR_ATTR', /step must be >= 1/);
    expectCode(() => nat.adam_step(p, g, a, b, null, 1, { betas: [0.9, 0.99] } as any), 'ERR_ATTR', /unknown attribute 'betas'/);
    expectCode(() => nat.rmsprop_step(p, g, a, null, null, { alpha: -1 }), 'ERR_ATTR', /rmsprop_step: alpha/);
    expectCode(() => nat.rmsprop_step(p, g, a, null, null, { momentum: -0.5 }), 'ERR_ATTR', /momentum/);
    expectCode(() => nat.sgd_step(p, g, null, 1, { nesterov: true }), 'ERR_ATTR', /nesterov needs momentum > 0/);
    expectCode(() => nat.sgd_step(p, g, a, 1, { nesterov: true, momentum: 0.9, dampening: 0.1 }), 'ERR_ATTR', /dampening 0/);
    expectCode(() => nat.sgd_step(p, g, null, 1, { weight_decay: -1 }), 'ERR_ATTR', /weight_decay/);
  });
  it('requires the state buffers an option needs, with equal lengths and no overlap', () => {
    expectCode(() => nat.adam_step(p, g, a, b, null, 1, { amsgrad: true }), 'ERR_ARG', /max_exp_avg_sq is required/);
    expectCode(() => nat.rmsprop_step(p, g, a, null, null, { momentum: 0.9 }), 'ERR_ARG', /momentum_buf is required/);
    expectCode(() => nat.rmsprop_step(p, g, a, null, null, { centered: true }), 'ERR_ARG', /grad_avg is required/);
    expectCode(() => nat.sgd_step(p, g, null, 1, { momentum: 0.9 }), 'ERR_ARG', /momentum_buf is required/);
    expectCode(() => nat.adam_step(p, g, a, new Float32Array(5), null, 1), 'ERR_SHAPE', /exp_avg_sq has 5 elements but grad has 4/);
    expectCode(() => nat.sgd_step(new Float32Array(3), g, null, 1), 'ERR_SHAPE', /param has 3/);
    expectCode(() => nat.adam_step(p, g, p, b, null, 1), 'ERR_ARG', /adam_update: outputs 0 and 1 share memory/);
    expectCode(() => nat.adam_step(p, g, a, b, new Float64Array(4) as any, 1, { amsgrad: true }), 'ERR_DTYPE', /adam_update: input 4 must be a Float32Array/);
  });
});
