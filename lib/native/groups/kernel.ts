// The generic kernel entry (bindings/kernel.cpp): every catalog op's native kernel, found by
// (op, device) in the registry. lib/native/kernels.ts is its one TypeScript caller.
import type { DeviceBuffer } from './device.js';

export interface KernelBinding {
  /**
   * Runs op's kernel on device ('cpu', 'cuda', 'cuda:N', or -1 for the CPU and N for cuda:N).
   * op: a catalog op name or a handle
   * from kernelHandle. meta describes the call: [used length, nInputs, nOutputs, then per input
   * and output its ndim (-1: an absent input) and dims, then the op's declared attributes
   * (kernelAttrs) in order, each as its count then its values (count 0: default); a string
   * attribute is -(1 + its index in the declared choices)]. data: one Float32Array (float32) or
   * Int32Array (int32) per input (null when absent) and per output, of exactly numel(shape)
   * elements (for a call on cuda:N, device buffers of cuda:N instead); outputs are written (an output may be exactly an input where the kernel allows it
   * in place; any other overlap is ERR_ARG). See bindings/kernel.cpp.
   * Errors: ERR_DEVICE (no kernel on that device), ERR_ARG (unknown op, bad arguments),
   * ERR_DTYPE, ERR_SHAPE, ERR_ATTR, ERR_INDEX as the kernel finds them.
   */
  runKernel(op: string | number, device: string | number, meta: Float64Array, ...data: (Float32Array | Int32Array | DeviceBuffer | null)[]): void;
  /** A handle for (op, device), to skip the name lookup on every call; ERR_DEVICE when no kernel is there. */
  kernelHandle(op: string, device: string): number;
  /** The ops with a kernel registered on device, sorted (CUDA ones only where CUDA is available). */
  kernelOps(device: string): string[];
  /** The attributes op's kernels read, in the order runKernel takes them, with each string attribute's choices. */
  kernelAttrs(op: string): [name: string, choices: string[]][];
  /** The ops the CUDA library has kernels for, read without a device (reason: why none). */
  cudaLibraryOps(): { ops: string[]; reason?: string };
}
