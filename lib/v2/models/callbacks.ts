// fit() callbacks: hooks per batch and per epoch (sync or async); a callback stops training by
// setting model.stop_training. EarlyStopping is the built-in one.
import { AttrError } from '../../errors.js';

export interface BatchLogs {
  loss: number;
  accuracy?: number;
}
export interface EpochLogs {
  /** Mean training loss of the epoch's batches. */
  loss: number;
  accuracy?: number;
  val_loss?: number;
  val_accuracy?: number;
}

/** What callbacks may touch on the model. */
export interface TrainingModel {
  stop_training: boolean;
  get_weights(): Map<string, Float32Array | Int32Array>;
  set_weights(w: Map<string, Float32Array | Int32Array>): void;
}

/** fit() hooks, returning nothing or a Promise: fit awaits a Promise before going on (fit_sync cannot, and says so). */
export interface Callback {
  on_train_begin?(model: TrainingModel): unknown;
  on_epoch_begin?(epoch: number, model: TrainingModel): unknown;
  /** batch and epoch are 1-based, as in the history names. */
  on_batch_end?(batch: number, logs: BatchLogs, model: TrainingModel, epoch: number): unknown;
  on_epoch_end?(epoch: number, logs: EpochLogs, model: TrainingModel): unknown;
  on_train_end?(model: TrainingModel): unknown;
}

export interface EarlyStoppingOptions {
  /** Default 'val_loss' (falls back to 'loss' without validation data). */
  monitor?: keyof EpochLogs;
  /** Improvements smaller than this do not count. */
  min_delta?: number;
  /** Epochs without improvement after which training stops (Keras' meaning: 0 and 1 both stop at the first). */
  patience?: number;
  /** 'min' for losses, 'max' for accuracies; 'auto' picks from the name. */
  mode?: 'min' | 'max' | 'auto';
  /** Put back the weights of the best epoch when stopping. */
  restore_best_weights?: boolean;
}

export class EarlyStopping implements Callback {
  readonly monitor: keyof EpochLogs;
  readonly min_delta: number;
  readonly patience: number;
  readonly mode: 'min' | 'max';
  readonly restore_best_weights: boolean;
  /** The epoch (1-based) training stopped after, or 0. */
  stopped_epoch = 0;
  best = NaN;
  private wait = 0;
  private bestWeights: Map<string, Float32Array | Int32Array> | null = null;

  constructor(options: EarlyStoppingOptions = {}) {
    this.monitor = options.monitor ?? 'val_loss';
    this.min_delta = Math.abs(options.min_delta ?? 0);
    this.patience = options.patience ?? 0;
    if (!Number.isSafeInteger(this.patience) || this.patience < 0) throw new AttrError(`EarlyStopping: patience must be a non-negative integer, got ${String(options.patience)}`);
    const mode = options.mode ?? 'auto';
    if (!['min', 'max', 'auto'].includes(mode)) throw new AttrError(`EarlyStopping: mode must be 'min', 'max' or 'auto', got '${String(mode)}'`);
    this.mode = mode === 'auto' ? (String(this.monitor).includes('acc') ? 'max' : 'min') : mode;
    this.restore_best_weights = options.restore_best_weights ?? false;
  }

  on_train_begin(): void {
    this.wait = 0;
    this.best = NaN;
    this.stopped_epoch = 0;
    this.bestWeights = null;
  }

  on_epoch_end(epoch: number, logs: EpochLogs, model: TrainingModel): void {
    const get = (k: string) => (Object.hasOwn(logs, k) ? logs[k as keyof EpochLogs] : undefined); // not Object's 'constructor'
    const key = get(this.monitor) === undefined && this.monitor === 'val_loss' ? 'loss' : this.monitor;
    const v = get(key);
    if (v === undefined) throw new AttrError(`EarlyStopping: monitored value '${String(this.monitor)}' is not in the epoch logs (${Object.keys(logs).join(', ')})`);
    const better = Number.isNaN(this.best) || (this.mode === 'min' ? v < this.best - this.min_delta : v > this.best + this.min_delta);
    if (better) {
      this.best = v;
      this.wait = 0;
      if (this.restore_best_weights) this.bestWeights = model.get_weights();
      return;
    }
    if (++this.wait >= this.patience) {
      this.stopped_epoch = epoch;
      model.stop_training = true;
      if (this.bestWeights) model.set_weights(this.bestWeights);
    }
  }
}
