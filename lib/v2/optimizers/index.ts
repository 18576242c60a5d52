// ravdl/v2/optimizers: RMSprop, Adam, AdamW and SGD over named params (the ravdl.v2.optimizers
// of the Python RavDL), updating params in place through the native fused kernels; and the
// learning-rate schedulers StepLR, CosineAnnealingLR, ReduceLROnPlateau (also fit callbacks).
//   const opt = new Adam({ lr: 0.01 });  loss.backward();  opt.step(params);  opt.zero_grad(params);
import { ArgError } from '../../errors.js';
import { Adam, AdamW } from './adam.js';
import type { Optimizer } from './optimizer.js';
import { RMSprop } from './rmsprop.js';
import { SGD } from './sgd.js';

export { Optimizer } from './optimizer.js';
export type { NamedParams, OptimizerStateDict } from './optimizer.js';
export { Adam, AdamW } from './adam.js';
export type { AdamOptions } from './adam.js';
export { RMSprop } from './rmsprop.js';
export type { RMSpropOptions } from './rmsprop.js';
export { SGD } from './sgd.js';
export type { SGDOptions } from './sgd.js';
export { LRScheduler, StepLR, CosineAnnealingLR, ReduceLROnPlateau } from './lr_scheduler.js';
export type { LRSchedulerStateDict } from './lr_scheduler.js';
export type { StepLROptions, CosineAnnealingLROptions, ReduceLROnPlateauOptions } from './lr_scheduler.js';

const classes: Record<string, new (options?: any) => Optimizer> = { Adam, AdamW, RMSprop, SGD };

/** Rebuilds an optimizer from get_config()'s { name, config } (the options are validated again). */
export function optimizer_from_config(c: { name: string; config: Record<string, unknown> }): Optimizer {
  if (c === null || typeof c !== 'object') throw new ArgError(`optimizer_from_config: expected { name, config }, got ${String(c)}`);
  const Ctor = Object.hasOwn(classes, c.name) ? classes[c.name] : undefined;
  if (!Ctor) throw new ArgError(`optimizer_from_config: unknown optimizer '${String(c.name)}'; known: ${Object.keys(classes).join(', ')}`);
  return new Ctor(c.config ?? {});
}
