// model.to(device): moves a model's parameters and buffers (in place: layers keep their tensor
// objects, so references held elsewhere follow) and its optimizer's state.
import { type DeviceLike, resolveDevice } from '../../tensor/device.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { Optimizer } from '../optimizers/optimizer.js';

interface Movable {
  state_tensors(): (readonly [string, Tensor])[];
  optimizer: Optimizer | null;
}

/** Moves every state tensor of `model` built so far, and the optimizer state, to `device`. */
export function moveModel(where: string, model: Movable, device: DeviceLike): void {
  const dev = resolveDevice(where, device); // a DeviceError before anything moves
  for (const [, t] of model.state_tensors()) t._moveTo(dev);
  model.optimizer?._moveTo(dev);
}
