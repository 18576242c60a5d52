// model.to(device): moves a model's parameters and buffers (in place: layers keep their tensor
// objects, so references held elsewhere follow) and its optimizer's state.
import { type Device, type DeviceLike, resolveDevice } from '../../tensor/device.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { Optimizer } from '../optimizers/optimizer.js';

interface Movable {
  state_tensors(): (readonly [string, Tensor])[];
  optimizer: Optimizer | null;
  /** Where model.to() put the model (undefined: never moved, the CPU). */
  _device?: Device;
}

/** Moves every state tensor of `model` built so far, and the optimizer state, to `device`; layers built later follow (placeModel). */
export function moveModel(where: string, model: Movable, device: DeviceLike): void {
  const dev = resolveDevice(where, device); // a DeviceError before anything moves
  model._device = dev;
  placeModel(model);
}

/** Puts state made since model.to() (layers built lazily, optimizer state) on the model's device; returns that device. */
export function placeModel(model: Movable): Device {
  const dev = model._device ?? 'cpu';
  for (const [, t] of model.state_tensors()) t._moveTo(dev);
  model.optimizer?._moveTo(dev);
  return dev;
}
