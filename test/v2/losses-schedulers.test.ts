// The losses and learning-rate schedulers beyond the seed, against PyTorch
// (fixtures: test/fixtures/gen/gen_losses_schedulers_v2.py): scheduler lr sequences step by step,
// and NeuralNetwork.fit curves with each new loss name and with each scheduler as a fit callback.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import * as R from '../../lib/index.js';
import { type Callback, type LossName, NeuralNetwork } from '../../lib/v2/index.js';
import { Activation, Dense } from '../../lib/v2/layers/index.js';
import { Adam, CosineAnnealingLR, type LRScheduler, type Optimizer, RMSprop, ReduceLROnPlateau, SGD, StepLR } from '../../lib/v2/optimizers/index.js';
import { expectError } from '../helpers/fixtures.js';

interface Schedule {
  scheduler: 'StepLR' | 'CosineAnnealingLR' | 'ReduceLROnPlateau';
  lr: number;
  options: Record<string, unknown>;
  metrics: number[] | null;
  lrs: number[];
}
interface Run {
  loss: LossName;
  optimizer: 'adam' | 'rmsprop' | 'sgd' | 'sgd_momentum';
  head: 'sigmoid' | 'none';
  epochs: number;
  batch_size: number;
  scheduler: { name: Schedule['scheduler']; options: Record<string, unknown> } | null;
  X: number[];
  Y: number[];
  W1: number[];
  b1: number[];
  W2: number[];
  b2: number[];
  losses: number[];
  lrs: number[];
}
const fixture = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'fixtures', 'v2', 'losses_schedulers.json'), 'utf8')) as {
  schedules: Record<string, Schedule>;
  runs: Record<string, Run>;
};

const SCHEDULERS = { StepLR, CosineAnnealingLR, ReduceLROnPlateau } as const;
const make = (name: Schedule['scheduler'], opt: Optimizer, options: Record<string, unknown>): LRScheduler => new SCHEDULERS[name](opt, options as never);
const relClose = (got: number[], want: number[]) => {
  expect(got.length).toBe(want.length);
  got.forEach((g, i) => expect(Math.abs(g - want[i]!), `step ${i + 1}: ${g} vs ${want[i]}`).toBeLessThanOrEqual(1e-12 * Math.abs(want[i]!) + 1e-300));
};

describe('schedulers follow torch.optim.lr_scheduler', () => {
  for (const [name, s] of Object.entries(fixture.schedules)) {
    it(`${name}: ${s.scheduler}(${JSON.stringify(s.options)})`, () => {
      const opt = new SGD({ lr: s.lr });
      const sched = make(s.scheduler, opt, s.options);
      expect(opt.lr).toBe(s.lr); // construction leaves the lr as it was (torch's step 0)
      const lrs: number[] = [];
      for (let i = 0; i < s.lrs.length; i++) {
        if (s.metrics) (sched as ReduceLROnPlateau).step(s.metrics[i]);
        else sched.step();
        lrs.push(opt.lr);
      }
      relClose(lrs, s.lrs);
      expect(sched.last_epoch).toBe(s.lrs.length);
      expect(sched.get_last_lr()).toBe(lrs[lrs.length - 1]);
    });
  }

  for (const [name, s] of Object.entries(fixture.schedules)) {
    it(`${name}: state_dict taken half-way (through JSON) resumes the same schedule`, () => {
      const half = Math.floor(s.lrs.length / 2);
      const step = (sched: LRScheduler, i: number) => (s.metrics ? (sched as ReduceLROnPlateau).step(s.metrics[i]) : sched.step());
      const a = make(s.scheduler, new SGD({ lr: s.lr }), s.options);
      for (let i = 0; i < half; i++) step(a, i);
      const saved = JSON.parse(JSON.stringify(a.state_dict()));
      const resumedOpt = new SGD({ lr: 123 }); // a fresh run: load_state_dict also restores the lr
      const b = make(s.scheduler, resumedOpt, s.options);
      b.load_state_dict(saved);
      const lrs: number[] = [];
      for (let i = half; i < s.lrs.length; i++) {
        step(b, i);
        lrs.push(resumedOpt.lr);
      }
      relClose(lrs, s.lrs.slice(half));
      expect(b.state_dict()).toEqual(JSON.parse(JSON.stringify((() => {
        const c = make(s.scheduler, new SGD({ lr: s.lr }), s.options);
        for (let i = 0; i < s.lrs.length; i++) step(c, i);
        return c.state_dict();
      })())));
    });
  }

  it('load_state_dict refuses states of another scheduler, unknown keys and bad values, changing nothing', () => {
    const opt = new SGD({ lr: 0.5 });
    const plateau = new ReduceLROnPlateau(opt, { patience: 1 });
    plateau.step(1);
    const good = plateau.state_dict();
    expect(good).toEqual({ scheduler: 'ReduceLROnPlateau', last_epoch: 1, base_lr: 0.5, lr: 0.5, best: 1, num_bad_epochs: 0, cooldown_counter: 0 });
    expect(new ReduceLROnPlateau(new SGD()).state_dict().best).toBeNull(); // no value yet (JSON has no Infinity)
    const step = new StepLR(new SGD({ lr: 0.1 }), { step_size: 2 });
    expectError(() => step.load_state_dict(good), R.ArgError, 'StepLR.load_state_dict', 'ReduceLROnPlateau');
    expectError(() => plateau.load_state_dict({ ...good, extra: 1 } as never), R.ArgError, 'ReduceLROnPlateau.load_state_dict', "unknown key 'extra'");
    expectError(() => plateau.load_state_dict({ ...good, last_epoch: -1 }), R.ArgError, 'last_epoch', '-1');
    expectError(() => plateau.load_state_dict({ ...good, lr: Number.NaN }), R.ArgError, 'lr', 'NaN');
    expectError(() => plateau.load_state_dict({ ...good, best: '1' as never }), R.ArgError, 'best', '1');
    expectError(() => plateau.load_state_dict({ ...good, num_bad_epochs: 0.5 }), R.ArgError, 'num_bad_epochs', '0.5');
    expectError(() => plateau.load_state_dict(null as never), R.ArgError, 'ReduceLROnPlateau.load_state_dict', 'null');
    expect(plateau.state_dict()).toEqual(good); // unchanged by the refused loads
  });

  it('bad arguments are typed errors naming the scheduler and the option', () => {
    const opt = new SGD();
    expectError(() => new StepLR(opt, {} as never), R.AttrError, 'StepLR', "option 'step_size' is required");
    expectError(() => new StepLR(opt, { step_size: 0 }), R.AttrError, 'StepLR', 'step_size', '0');
    expectError(() => new StepLR(opt, { step_size: 2, gama: 0.5 } as never), R.AttrError, 'StepLR', "unknown option 'gama'");
    expectError(() => new CosineAnnealingLR(opt, { T_max: 1.5 }), R.AttrError, 'CosineAnnealingLR', 'T_max', '1.5');
    expectError(() => new CosineAnnealingLR(opt, { T_max: 3, eta_min: -1 }), R.AttrError, 'CosineAnnealingLR', 'eta_min');
    expectError(() => new ReduceLROnPlateau(opt, { factor: 1 }), R.AttrError, 'ReduceLROnPlateau', 'factor', '< 1');
    expectError(() => new ReduceLROnPlateau(opt, { mode: 'auto' as never }), R.AttrError, 'ReduceLROnPlateau', 'mode');
    expectError(() => new ReduceLROnPlateau(opt, { monitor: 'val_acc' as never }), R.AttrError, 'ReduceLROnPlateau', 'monitor');
    expectError(() => new ReduceLROnPlateau(opt).step(), R.ArgError, 'ReduceLROnPlateau.step', 'metric');
    expectError(() => new StepLR({ lr: 0.1 } as never, { step_size: 1 }), R.ArgError, 'StepLR', 'Optimizer');
    expectError(() => new ReduceLROnPlateau(opt, { monitor: 'val_accuracy' }).on_epoch_end(1, { loss: 1 }), R.AttrError, 'ReduceLROnPlateau', "'val_accuracy'", 'loss');
  });
});

const rows = (flat: number[], cols: number) => Array.from({ length: flat.length / cols }, (_, i) => flat.slice(i * cols, (i + 1) * cols));
const optimizers: Record<Run['optimizer'], () => Optimizer> = {
  adam: () => new Adam({ lr: 0.01 }),
  rmsprop: () => new RMSprop({ lr: 0.01 }),
  sgd: () => new SGD({ lr: 0.1 }),
  sgd_momentum: () => new SGD({ lr: 0.1, momentum: 0.9 }),
};

function model(run: Run): NeuralNetwork {
  const m = new NeuralNetwork(optimizers[run.optimizer](), run.loss);
  m.add(new Dense(8, { input_shape: [4], initial_W: rows(run.W1, 4), initial_w0: run.b1 }));
  m.add(new Activation('relu'));
  m.add(new Dense(3, { initial_W: rows(run.W2, 8), initial_w0: run.b2 }));
  if (run.head === 'sigmoid') m.add(new Activation('sigmoid'));
  return m;
}

describe('fit with the new losses and with schedulers as callbacks follows PyTorch', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  for (const [name, run] of Object.entries(fixture.runs)) {
    it(`${name}: ${run.loss}${run.scheduler ? ` with ${run.scheduler.name}` : ''}, ${run.losses.length} steps within 1e-3`, async () => {
      const m = model(run);
      const X = R.t(Float32Array.from(run.X), { shape: [32, 4] });
      const Y = R.t(Float32Array.from(run.Y), { shape: [32, 3] });
      const lrs: number[] = [];
      const watch: Callback = { on_epoch_begin: () => void lrs.push(m.optimizer!.lr) };
      const callbacks: Callback[] = [watch];
      if (run.scheduler) callbacks.push(make(run.scheduler.name, m.optimizer!, run.scheduler.options));
      const history = await m.fit(X, Y, { n_epochs: run.epochs, batch_size: run.batch_size, shuffle: false, verbose: false, callbacks });
      const perEpoch = Math.ceil(32 / run.batch_size);
      const got: number[] = [];
      for (let e = 1; e <= run.epochs; e++) for (let b = 1; b <= perEpoch; b++) got.push(history[`training_loss_epoch_${e}_batch_${b}`]);
      let worst = 0;
      run.losses.forEach((want, i) => (worst = Math.max(worst, Math.abs(got[i]! - want) / Math.max(1, Math.abs(want)))));
      expect(worst, `largest loss difference over ${run.losses.length} steps`).toBeLessThan(1e-3);
      relClose(lrs, run.lrs);
      const mean = (e: number) => run.losses.slice(e * perEpoch, (e + 1) * perEpoch).reduce((a, b) => a + b, 0) / perEpoch;
      expect(mean(run.epochs - 1)).toBeLessThan(mean(0)); // the reference really trains

      if (run.scheduler) return;
      // The loss name is saved and comes back.
      const dir = mkdtempSync(join(tmpdir(), 'ravdl-losses-'));
      dirs.push(dir);
      await m.save(dir);
      const back = await NeuralNetwork.load(dir);
      expect(back.loss.name).toBe(run.loss);
    });
  }

  it('each loss name is its op on (y_pred, y_true)', () => {
    const p = R.rand([5, 3]);
    const t = R.rand([5, 3]);
    const ops: Array<[LossName, R.Tensor]> = [
      ['L1Loss', R.l1_loss(p, t)],
      ['HuberLoss', R.huber_loss(p, t)],
      ['BinaryCrossEntropy', R.binary_cross_entropy(p, t)],
      ['BinaryCrossEntropyWithLogits', R.binary_cross_entropy_with_logits(p, t)],
    ];
    for (const [name, want] of ops) {
      const m = new NeuralNetwork(new SGD(), name);
      expect(m.loss.classifier).toBe(false);
      expect(m.loss.fn(t, p).item()).toBe(want.item());
    }
  });
});
