// Learning-rate schedulers with torch.optim.lr_scheduler's rules and defaults: StepLR,
// CosineAnnealingLR and ReduceLROnPlateau. Each sets optimizer.lr. Call step() once per epoch
// (after the epoch's updates, as in torch), or pass the scheduler in fit's callbacks: it then
// steps at the end of every epoch (ReduceLROnPlateau with the monitored value of the epoch logs).
//   const opt = new SGD({ lr: 0.1 });
//   model.fit(X, y, { n_epochs: 30, callbacks: [new StepLR(opt, { step_size: 10 })] });
import { ArgError, AttrError } from '../../errors.js';
import { type AttrSchema, int, num, oneOf, parseAttrs, required } from '../../ops/attrs.js';
import type { EpochLogs } from '../models/callbacks.js';
import { Optimizer } from './optimizer.js';

/**
 * A scheduler's progress (plain numbers, JSON-safe): what resumes the schedule where it was.
 * `lr` is the optimizer's lr at the time (the optimizer's own state_dict does not hold it).
 */
export interface LRSchedulerStateDict {
  scheduler: string;
  last_epoch: number;
  base_lr: number;
  lr: number;
  /** ReduceLROnPlateau: the best value seen, null before any. */
  best?: number | null;
  num_bad_epochs?: number;
  cooldown_counter?: number;
}

export abstract class LRScheduler {
  readonly optimizer: Optimizer;
  /** The optimizer's lr when the scheduler was made (torch's base_lrs[0]); load_state_dict restores it. */
  base_lr: number;
  /** Epochs stepped so far (torch's last_epoch: 0 after construction). */
  last_epoch = 0;

  protected constructor(where: string, optimizer: Optimizer) {
    if (!(optimizer instanceof Optimizer)) throw new ArgError(`${where}: expected an Optimizer (e.g. new SGD({ lr: 0.1 })), got ${Object.prototype.toString.call(optimizer)}`);
    this.optimizer = optimizer;
    this.base_lr = optimizer.lr;
  }

  /** The lr the last step set (the optimizer's lr unless something else changed it since). */
  get_last_lr(): number {
    return this.optimizer.lr;
  }

  /** Ends an epoch: the next epoch's learning rate goes into optimizer.lr. */
  step(): void {
    this.last_epoch++;
    this.optimizer.lr = this.next_lr(this.optimizer.lr);
  }

  /** fit() callback: steps after every epoch. */
  on_epoch_end(_epoch: number, _logs: EpochLogs): void {
    this.step();
  }

  /** torch's get_lr(), from the current lr (the rules are recursive, as torch's are) at last_epoch. */
  protected abstract next_lr(lr: number): number;

  /** The class name stored in state_dict (load_state_dict accepts only its own). */
  protected abstract readonly kind: string;

  /** Where the schedule is: restore it with load_state_dict on a scheduler of the same class. */
  state_dict(): LRSchedulerStateDict {
    return { scheduler: this.kind, last_epoch: this.last_epoch, base_lr: this.base_lr, lr: this.optimizer.lr };
  }

  /** Resumes the schedule of a state_dict (also sets the optimizer's lr); nothing changes unless all of it is valid. */
  load_state_dict(s: LRSchedulerStateDict): void {
    const where = `${this.kind}.load_state_dict`;
    if (s === null || typeof s !== 'object' || Array.isArray(s)) throw new ArgError(`${where}: expected a state_dict object, got ${String(s)}`);
    if (s.scheduler !== this.kind) throw new ArgError(`${where}: the state is of a ${String(s.scheduler)}, not a ${this.kind}`);
    const allowed = new Set(Object.keys(this.state_dict()));
    for (const k of Object.keys(s)) if (!allowed.has(k)) throw new ArgError(`${where}: unknown key '${k}' (a ${this.kind} state has ${[...allowed].join(', ')})`);
    if (!Number.isSafeInteger(s.last_epoch) || s.last_epoch < 0) throw new ArgError(`${where}: last_epoch must be a non-negative integer, got ${String(s.last_epoch)}`);
    for (const k of ['base_lr', 'lr'] as const) {
      if (typeof s[k] !== 'number' || !Number.isFinite(s[k]) || s[k] < 0) throw new ArgError(`${where}: ${k} must be a finite number >= 0, got ${String(s[k])}`);
    }
    this.checkExtra(where, s);
    this.last_epoch = s.last_epoch;
    this.base_lr = s.base_lr;
    this.optimizer.lr = s.lr;
    this.loadExtra(s);
  }

  /** Subclasses with more state check it here (before anything changes) and take it in loadExtra. */
  protected checkExtra(_where: string, _s: LRSchedulerStateDict): void {}
  protected loadExtra(_s: LRSchedulerStateDict): void {}
}

export interface StepLROptions {
  /** Epochs between two decays (required). */
  step_size: number;
  /** Factor of each decay (default 0.1). */
  gamma?: number;
}
const stepSchema: AttrSchema<Required<StepLROptions>> = {
  step_size: { check: int({ min: 1 }), default: required },
  gamma: { check: num({ min: 0, finite: true }), default: 0.1 },
};

/** Multiplies the lr by gamma every step_size epochs (torch.optim.lr_scheduler.StepLR). */
export class StepLR extends LRScheduler {
  protected readonly kind = 'StepLR';
  readonly step_size: number;
  readonly gamma: number;

  constructor(optimizer: Optimizer, options: StepLROptions) {
    super('StepLR', optimizer);
    ({ step_size: this.step_size, gamma: this.gamma } = parseAttrs('StepLR', stepSchema, options));
  }

  protected next_lr(lr: number): number {
    return this.last_epoch % this.step_size === 0 ? lr * this.gamma : lr;
  }
}

export interface CosineAnnealingLROptions {
  /** Epochs of the half cosine from the base lr down to eta_min (required). */
  T_max: number;
  /** The lowest lr (default 0). */
  eta_min?: number;
}
const cosineSchema: AttrSchema<Required<CosineAnnealingLROptions>> = {
  T_max: { check: int({ min: 1 }), default: required },
  eta_min: { check: num({ min: 0, finite: true }), default: 0 },
};

/**
 * Anneals the lr from its base to eta_min along a half cosine over T_max epochs, then back up
 * (torch.optim.lr_scheduler.CosineAnnealingLR, with its recursive form: a change made to the lr
 * in between carries on).
 */
export class CosineAnnealingLR extends LRScheduler {
  protected readonly kind = 'CosineAnnealingLR';
  readonly T_max: number;
  readonly eta_min: number;

  constructor(optimizer: Optimizer, options: CosineAnnealingLROptions) {
    super('CosineAnnealingLR', optimizer);
    ({ T_max: this.T_max, eta_min: this.eta_min } = parseAttrs('CosineAnnealingLR', cosineSchema, options));
  }

  protected next_lr(lr: number): number {
    const { T_max: T, eta_min, last_epoch: e } = this;
    const period = 2 * T;
    if ((((e - 1 - T) % period) + period) % period === 0) return lr + ((this.base_lr - eta_min) * (1 - Math.cos(Math.PI / T))) / 2; // Python's modulo
    return ((1 + Math.cos((Math.PI * e) / T)) / (1 + Math.cos((Math.PI * (e - 1)) / T))) * (lr - eta_min) + eta_min;
  }
}

export interface ReduceLROnPlateauOptions {
  /** 'min' (default): the monitored value should fall (a loss); 'max': rise (an accuracy). */
  mode?: 'min' | 'max';
  /** lr *= factor on a plateau (default 0.1, < 1). */
  factor?: number;
  /** Epochs without improvement tolerated before reducing (default 10). */
  patience?: number;
  /** Smallest change that counts as an improvement (default 1e-4), relative or absolute. */
  threshold?: number;
  threshold_mode?: 'rel' | 'abs';
  /** Epochs after a reduction before counting bad epochs again (default 0). */
  cooldown?: number;
  /** The lr never goes below this (default 0). */
  min_lr?: number;
  /** A reduction smaller than this is skipped (default 1e-8). */
  eps?: number;
  /** As a fit callback: the epoch log to watch (default 'val_loss', or 'loss' without validation data). */
  monitor?: keyof EpochLogs;
}
const plateauSchema: AttrSchema<Required<ReduceLROnPlateauOptions>> = {
  mode: { check: oneOf('min', 'max'), default: 'min' },
  factor: { check: num({ min: 0, lt: 1 }), default: 0.1 },
  patience: { check: int({ min: 0 }), default: 10 },
  threshold: { check: num({ min: 0, finite: true }), default: 1e-4 },
  threshold_mode: { check: oneOf('rel', 'abs'), default: 'rel' },
  cooldown: { check: int({ min: 0 }), default: 0 },
  min_lr: { check: num({ min: 0, finite: true }), default: 0 },
  eps: { check: num({ min: 0, finite: true }), default: 1e-8 },
  monitor: { check: oneOf<keyof EpochLogs>('loss', 'accuracy', 'val_loss', 'val_accuracy'), default: 'val_loss' },
};

/** Reduces the lr by factor when a metric stops improving (torch.optim.lr_scheduler.ReduceLROnPlateau). */
export class ReduceLROnPlateau extends LRScheduler {
  protected readonly kind = 'ReduceLROnPlateau';
  readonly mode: 'min' | 'max';
  readonly factor: number;
  readonly patience: number;
  readonly threshold: number;
  readonly threshold_mode: 'rel' | 'abs';
  readonly cooldown: number;
  readonly min_lr: number;
  readonly eps: number;
  readonly monitor: keyof EpochLogs;
  /** The best value seen (Infinity / -Infinity before any). */
  best: number;
  num_bad_epochs = 0;
  cooldown_counter = 0;

  constructor(optimizer: Optimizer, options: ReduceLROnPlateauOptions = {}) {
    super('ReduceLROnPlateau', optimizer);
    const o = parseAttrs('ReduceLROnPlateau', plateauSchema, options);
    ({ mode: this.mode, factor: this.factor, patience: this.patience, threshold: this.threshold, threshold_mode: this.threshold_mode } = o);
    ({ cooldown: this.cooldown, min_lr: this.min_lr, eps: this.eps, monitor: this.monitor } = o);
    this.best = this.mode === 'min' ? Infinity : -Infinity;
  }

  /** Ends an epoch whose monitored value was `metric`. */
  override step(metric?: number): void {
    if (typeof metric !== 'number') throw new ArgError(`ReduceLROnPlateau.step: needs the epoch's metric (a number), got ${String(metric)}`);
    this.last_epoch++;
    if (this.isBetter(metric)) {
      this.best = metric;
      this.num_bad_epochs = 0;
    } else this.num_bad_epochs++;
    if (this.cooldown_counter > 0) {
      this.cooldown_counter--;
      this.num_bad_epochs = 0;
    }
    if (this.num_bad_epochs > this.patience) {
      const old = this.optimizer.lr;
      const lr = Math.max(old * this.factor, this.min_lr);
      if (old - lr > this.eps) this.optimizer.lr = lr;
      this.cooldown_counter = this.cooldown;
      this.num_bad_epochs = 0;
    }
  }

  override on_epoch_end(_epoch: number, logs: EpochLogs): void {
    const get = (k: string) => (Object.hasOwn(logs, k) ? logs[k as keyof EpochLogs] : undefined);
    const key = get(this.monitor) === undefined && this.monitor === 'val_loss' ? 'loss' : this.monitor;
    const v = get(key);
    if (v === undefined) throw new AttrError(`ReduceLROnPlateau: monitored value '${this.monitor}' is not in the epoch logs (${Object.keys(logs).join(', ')})`);
    this.step(v);
  }

  protected next_lr(lr: number): number {
    return lr; // step(metric) decides
  }

  override state_dict(): LRSchedulerStateDict {
    const best = Number.isFinite(this.best) ? this.best : null; // JSON has no Infinity
    return { ...super.state_dict(), best, num_bad_epochs: this.num_bad_epochs, cooldown_counter: this.cooldown_counter };
  }

  protected override checkExtra(where: string, s: LRSchedulerStateDict): void {
    if (s.best !== null && (typeof s.best !== 'number' || !Number.isFinite(s.best))) throw new ArgError(`${where}: best must be a finite number or null, got ${String(s.best)}`);
    for (const k of ['num_bad_epochs', 'cooldown_counter'] as const) {
      if (!Number.isSafeInteger(s[k]) || s[k]! < 0) throw new ArgError(`${where}: ${k} must be a non-negative integer, got ${String(s[k])}`);
    }
  }

  protected override loadExtra(s: LRSchedulerStateDict): void {
    this.best = s.best ?? (this.mode === 'min' ? Infinity : -Infinity);
    this.num_bad_epochs = s.num_bad_epochs!;
    this.cooldown_counter = s.cooldown_counter!;
  }

  private isBetter(a: number): boolean {
    const { best, threshold: t } = this;
    if (this.mode === 'min') return this.threshold_mode === 'rel' ? a < best * (1 - t) : a < best - t;
    return this.threshold_mode === 'rel' ? a > best * (t + 1) : a > best + t;
  }
}
