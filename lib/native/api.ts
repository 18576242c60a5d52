// The typed surface of the native addon: one interface per kernel group (lib/native/groups/).
// Every function throws an Error with `.code` (ERR_SHAPE, ERR_DTYPE, ERR_INDEX, ERR_ATTR,
// ERR_ARG, ERR_BACKEND) naming the op and the offending value. Outputs are passed in
// (destination-passing): kernels write into caller-owned typed arrays.
import type { CoreBinding } from './groups/core.js';
import type { ElementwiseBinding } from './groups/elementwise.js';
import type { MatmulBinding } from './groups/matmul.js';
import type { ConvBinding } from './groups/conv.js';
import type { NnBinding } from './groups/nn.js';
import type { MiscBinding } from './groups/misc.js';
import type { KernelBinding } from './groups/kernel.js';
import type { DeviceBinding } from './groups/device.js';

export type NativeBinding = CoreBinding &
  ElementwiseBinding &
  MatmulBinding &
  ConvBinding &
  NnBinding &
  MiscBinding &
  KernelBinding &
  DeviceBinding;
