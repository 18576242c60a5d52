// ravdl/v2/optimizers against torch.optim (fixtures from test/fixtures/gen/gen_optim_v2.py), plus
// state_dict round trips, option validation and step() argument checks.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as R from '../../lib/index.js';
import {
  Adam,
  AdamW,
  type NamedParams,
  type Optimizer,
  RMSprop,
  SGD,
  optimizer_from_config,
} from '../../lib/v2/optimizers/index.js';
import { expectClose, expectCode } from '../helpers/fixtures.js';

interface OptimCase {
  name: string;
  optimizer: 'Adam' | 'AdamW' | 'RMSprop' | 'SGD';
  options: Record<string, unknown>;
  W: number[][];
  b: number[][];
}
const fixture = JSON.parse(
  readFileSync(join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'v2', 'optim.json'), 'utf8'),
) as { steps: number; problem: { W0: number[]; b0: number[]; A: number[]; T: number[][]; y: number[][] }; cases: OptimCase[] };
const P = fixture.problem;
const classes = { Adam, AdamW, RMSprop, SGD };

function freshParams(): { W: R.Tensor; b: R.Tensor; params: NamedParams } {
  const W = R.t(Float32Array.from(P.W0), { shape: [3, 4], requires_grad: true });
  const b = R.t(Float32Array.from(P.b0), { shape: [4], requires_grad: true });
  return { W, b, params: [['dense_1.W', W], ['dense_1.b', b]] };
}

/** The fixture's loss at step t: 0.5 * sum(A * (W - T_t)^2) + 0.5 * sum((W @ b - y_t)^2); backward fills the grads. */
function backwardAt(t: number, W: R.Tensor, b: R.Tensor): void {
  R.tidy(() => {
    const A = R.t(Float32Array.from(P.A), { shape: [3, 4] });
    const T = R.t(Float32Array.from(P.T[t]!), { shape: [3, 4] });
    const y = R.t(Float32Array.from(P.y[t]!));
    const fit = R.sum(R.mul(A, R.square(R.sub(W, T))));
    const res = R.sum(R.square(R.sub(R.matmul(W, b), y)));
    R.mul(R.add(fit, res), 0.5).backward();
  });
}

/** Runs steps [from, to) of the fixture problem with opt. */
function train(opt: Optimizer, p: ReturnType<typeof freshParams>, from: number, to: number, each?: (t: number) => void): void {
  for (let t = from; t < to; t++) {
    opt.zero_grad(p.params);
    backwardAt(t, p.W, p.b);
    opt.step(p.params);
    each?.(t);
  }
}

describe('optimizers vs torch.optim (20 steps, two params)', () => {
  it('has every fixture case', () => {
    expect(fixture.cases.map((c) => c.name)).toHaveLength(15);
    expect(new Set(fixture.cases.map((c) => c.optimizer))).toEqual(new Set(['Adam', 'AdamW', 'RMSprop', 'SGD']));
  });
  for (const c of fixture.cases) {
    it(`${c.name}: ${c.optimizer}(${JSON.stringify(c.options)})`, () => {
      const opt = new classes[c.optimizer](c.options as never);
      const p = freshParams();
      train(opt, p, 0, fixture.steps, (t) => {
        expectClose(p.W._data, c.W[t]!, { atol: 1e-5, rtol: 1e-5, label: `${c.name} W after step ${t + 1}` });
        expectClose(p.b._data, c.b[t]!, { atol: 1e-5, rtol: 1e-5, label: `${c.name} b after step ${t + 1}` });
      });
      expect(opt.state_dict().meta).toEqual({ 'step/dense_1.W': 20, 'step/dense_1.b': 20 });
    });
  }
});

describe('defaults and get_config', () => {
  it('uses the seed / torch defaults', () => {
    expect(new Adam().get_config()).toEqual({ name: 'Adam', config: { lr: 0.001, betas: [0.9, 0.999], eps: 1e-8, weight_decay: 0, amsgrad: false } });
    expect(new AdamW().get_config()).toEqual({ name: 'AdamW', config: { lr: 0.001, betas: [0.9, 0.999], eps: 1e-8, weight_decay: 0.01, amsgrad: false } });
    expect(new RMSprop().get_config()).toEqual({
      name: 'RMSprop',
      config: { lr: 0.01, alpha: 0.99, eps: 1e-8, weight_decay: 0, momentum: 0, centered: false },
    });
    expect(new SGD().get_config()).toEqual({ name: 'SGD', config: { lr: 0.01, momentum: 0, dampening: 0, weight_decay: 0, nesterov: false } });
  });

  it('optimizer_from_config rebuilds the same class and options through JSON', () => {
    for (const opt of [
      new Adam({ lr: 0.02, betas: [0.8, 0.9], amsgrad: true }),
      new AdamW({ weight_decay: 0.3 }),
      new RMSprop({ momentum: 0.5, centered: true }),
      new SGD({ lr: 0.1, momentum: 0.9, nesterov: true }),
    ]) {
      const c = JSON.parse(JSON.stringify(opt.get_config()));
      const back = optimizer_from_config(c);
      expect(back.constructor).toBe(opt.constructor);
      expect(back.get_config()).toEqual(opt.get_config());
    }
  });
});

describe('state_dict / load_state_dict', () => {
  const makers: [string, () => Optimizer][] = [
    ['Adam amsgrad', () => new Adam({ lr: 0.05, amsgrad: true, weight_decay: 0.1 })],
    ['AdamW', () => new AdamW({ lr: 0.05 })],
    ['RMSprop centered+momentum', () => new RMSprop({ momentum: 0.5, centered: true })],
    ['SGD momentum', () => new SGD({ lr: 0.05, momentum: 0.9 })],
  ];
  for (const [label, make] of makers) {
    it(`${label}: 10 steps, save, load into a new optimizer, 10 more == 20 uninterrupted`, () => {
      const ref = freshParams();
      train(make(), ref, 0, 20);

      const p = freshParams();
      const first = make();
      train(first, p, 0, 10);
      const sd = first.state_dict();
      const second = optimizer_from_config(first.get_config());
      second.load_state_dict(sd);
      // load copies: the saved dict may be disposed
      for (const t of Object.values(sd.tensors)) t.dispose();
      train(second, p, 10, 20);

      expect(p.W.data()).toEqual(ref.W.data());
      expect(p.b.data()).toEqual(ref.b.data());
    });
  }

  it('keys state as `${state}/${param}` with step counts in meta, as copies', () => {
    const p = freshParams();
    const opt = new Adam({ amsgrad: true });
    train(opt, p, 0, 3);
    const sd = opt.state_dict();
    expect(Object.keys(sd.tensors).sort()).toEqual(
      ['exp_avg', 'exp_avg_sq', 'max_exp_avg_sq'].flatMap((k) => [`${k}/dense_1.W`, `${k}/dense_1.b`]).sort(),
    );
    expect(sd.tensors['exp_avg/dense_1.W']!.shape).toEqual([3, 4]);
    expect(sd.meta).toEqual({ 'step/dense_1.W': 3, 'step/dense_1.b': 3 });
    sd.tensors['exp_avg/dense_1.W']!._data.fill(123);
    expect(opt.state_dict().tensors['exp_avg/dense_1.W']!.data()).not.toContain(123);
  });

  it('rejects state that does not fit the optimizer', () => {
    const opt = new Adam();
    const z = () => R.zeros([4]);
    expectCode(() => opt.load_state_dict({ tensors: { 'exp_avg/b': z() }, meta: { 'step/b': 1 } }), 'ERR_ARG', /lacks state 'exp_avg_sq\/b'/);
    expectCode(() => opt.load_state_dict({ tensors: { 'momentum_buffer/b': z() }, meta: { 'step/b': 1 } }), 'ERR_ARG', /unknown state 'momentum_buffer\/b'/);
    expectCode(() => opt.load_state_dict({ tensors: { 'exp_avg/b': z(), 'exp_avg_sq/b': z() }, meta: {} }), 'ERR_ARG', /no step count/);
    expectCode(() => opt.load_state_dict({ tensors: {}, meta: { 'step/b': -1 } }), 'ERR_ARG', /non-negative integer/);
    expectCode(() => opt.load_state_dict({ tensors: { 'exp_avg/b': z(), 'exp_avg_sq/b': R.zeros([5]) }, meta: { 'step/b': 1 } }), 'ERR_SHAPE');
    // loaded state of the wrong shape for the param is caught at step(), naming both
    opt.load_state_dict({ tensors: { 'exp_avg/w': R.zeros([2]), 'exp_avg_sq/w': R.zeros([2]) }, meta: { 'step/w': 1 } });
    const w = R.t([1, 2, 3], { requires_grad: true });
    w.grad = R.t([1, 1, 1]);
    expectCode(() => opt.step([['w', w]]), 'ERR_SHAPE', /state 'exp_avg\/w' has shape \[2\]/);
  });
});

describe('step() behaviour', () => {
  it('takes a changed lr into effect at the next step', () => {
    const w = R.t([1, 2], { requires_grad: true });
    const opt = new SGD({ lr: 0.1 });
    w.grad = R.t([1, -2]);
    opt.step([['w', w]]);
    opt.lr = 0.5;
    opt.step([['w', w]]);
    expectClose(w._data, [1 - 0.6, 2 + 1.2], { atol: 1e-6, rtol: 1e-6 });
    expect(opt.get_config().config.lr).toBe(0.5);
    expectCode(() => (opt.lr = -1), 'ERR_ATTR', /SGD.*'lr'.*-1/);
  });

  it('skips params without grad (no state) and zero_grad disposes grads', () => {
    const { W, b, params } = freshParams();
    const opt = new Adam({ lr: 0.1 });
    W.grad = R.ones([3, 4]);
    const g = W.grad;
    opt.step(params);
    expect(b.data()).toEqual(Float32Array.from(P.b0));
    expect(W.data()).not.toEqual(Float32Array.from(P.W0));
    expect(Object.keys(opt.state_dict().meta)).toEqual(['step/dense_1.W']);
    opt.zero_grad(params);
    expect(W.grad).toBeNull();
    expect(g.isDisposed).toBe(true);
  });

  it('is not recorded on the tape, and its state survives tidy() scopes', () => {
    const w = R.t([1, 2], { requires_grad: true });
    const opt = new Adam({ lr: 0.1 });
    R.tidy(() => {
      R.sum(R.square(w)).backward();
      opt.step([['w', w]]);
    });
    expect(w.grad_fn).toBeNull();
    expect(w.requires_grad).toBe(true);
    expect(() => opt.step([['w', w]])).not.toThrow();
    expect(opt.state_dict().meta['step/w']).toBe(2);
  });

  it('validates params and grads before changing anything', () => {
    const a = R.t([1, 2], { requires_grad: true });
    const b = R.t([1, 2, 3], { requires_grad: true });
    a.grad = R.t([1, 1]);
    b.grad = R.t([1, 1]);
    const opt = new SGD({ lr: 1 });
    expectCode(() => opt.step([['a', a], ['layer.b', b]]), 'ERR_SHAPE', /'layer\.b'.*grad has shape \[2\].*\[3\]/);
    expect(a.data()).toEqual(Float32Array.from([1, 2]));
    b.grad = R.t([1, 1, 1], { dtype: 'int32' });
    expectCode(() => opt.step([['b', b]]), 'ERR_DTYPE', /'b'.*int32/);
    const i = R.t([1, 2], { dtype: 'int32' });
    i.grad = R.t([1, 1]);
    expectCode(() => opt.step([['i', i]]), 'ERR_DTYPE', /'i' is int32/);
    expectCode(() => opt.step([['a', a], ['a', b]]), 'ERR_ARG', /'a' appears twice/);
    expectCode(() => opt.step([['a', a], ['a2', a]]), 'ERR_ARG', /same tensor/);
    expectCode(() => opt.step([[a, 'a']] as never), 'ERR_ARG', /params\[0\]/);
    expectCode(() => opt.step(a as never), 'ERR_ARG', /array/);
    expectCode(() => opt.zero_grad({} as never), 'ERR_ARG');
  });
});

describe('option validation', () => {
  const bad: [string, () => unknown, RegExp][] = [
    ['unknown option', () => new Adam({ beta1: 0.9 } as never), /Adam: unknown option 'beta1' \(valid options: lr, betas, eps, weight_decay, amsgrad\)/],
    ['negative lr', () => new Adam({ lr: -0.1 }), /Adam: option 'lr' .* got -0\.1/],
    ['NaN lr', () => new SGD({ lr: NaN }), /SGD: option 'lr'.*NaN/],
    ['string lr', () => new RMSprop({ lr: '0.1' as never }), /RMSprop: option 'lr'.*"0\.1"/],
    ['beta = 1', () => new Adam({ betas: [1, 0.999] }), /Adam: option 'betas' must be a pair \[beta1, beta2\] of numbers >= 0 < 1, got \[1, 0\.999\]/],
    ['beta < 0', () => new AdamW({ betas: [0.9, -0.1] }), /AdamW: option 'betas'.*-0\.1/],
    ['betas not a pair', () => new Adam({ betas: [0.9] as never }), /Adam: option 'betas' must be a pair/],
    ['negative eps', () => new Adam({ eps: -1 }), /'eps'.*-1/],
    ['negative weight_decay', () => new AdamW({ weight_decay: -0.01 }), /AdamW: option 'weight_decay'/],
    ['amsgrad not boolean', () => new Adam({ amsgrad: 1 as never }), /Adam: option 'amsgrad' must be true or false, got 1/],
    ['alpha > 1', () => new RMSprop({ alpha: 1.5 }), /RMSprop: option 'alpha'.*1\.5/],
    ['negative momentum', () => new RMSprop({ momentum: -0.5 }), /RMSprop: option 'momentum'.*-0\.5/],
    ['centered not boolean', () => new RMSprop({ centered: 'yes' as never }), /'centered'.*"yes"/],
    ['nesterov without momentum', () => new SGD({ nesterov: true }), /SGD: option 'nesterov'.*momentum > 0.*momentum 0/],
    ['nesterov with dampening', () => new SGD({ nesterov: true, momentum: 0.9, dampening: 0.1 }), /dampening 0\.1/],
    ['negative SGD momentum', () => new SGD({ momentum: -1 }), /SGD: option 'momentum'/],
  ];
  for (const [label, fn, pattern] of bad) {
    it(`rejects ${label} with AttrError`, () => {
      expect(fn).toThrow(R.AttrError);
      expectCode(fn, 'ERR_ATTR', pattern);
    });
  }

  it('rejects non-object options (AttrError, as every op does) and unknown configs (ArgError)', () => {
    expectCode(() => new Adam(0.01 as never), 'ERR_ATTR', /Adam: options must be an object/);
    expectCode(() => optimizer_from_config({ name: 'Adagrad', config: {} }), 'ERR_ARG', /unknown optimizer 'Adagrad'/);
    expectCode(() => optimizer_from_config({ name: 'toString', config: {} }), 'ERR_ARG');
    expectCode(() => optimizer_from_config({ name: 'SGD', config: { lr: -1 } }), 'ERR_ATTR', /SGD: option 'lr'/);
  });
});
