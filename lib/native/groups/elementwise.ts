// Shape functions of the elementwise group (bindings/elementwise.cpp), which the op catalog
// infers shapes with. The kernels (unary and binary ops, where, broadcast_to, sum_to,
// reductions, argmax/argmin) run through runKernel (groups/kernel.ts).

/** Axes to reduce: one axis, a list (negative = from the end), or null / [] = all axes. */
export type Axes = number | number[] | null;

export interface ElementwiseBinding {
  /** NumPy broadcast of two shapes (ERR_SHAPE naming both when incompatible). */
  broadcast_shape(aShape: number[], bShape: number[]): number[];
  /** Shape of a reduction: reduced dims removed (or kept as 1 with keepdims). */
  reduce_shape(xShape: number[], axes?: Axes, keepdims?: boolean): number[];
  /** Shape of argmax/argmin: axis removed (1 with keepdims); axis null gives [] (all ones with keepdims). */
  argreduce_shape(xShape: number[], axis?: number | null, keepdims?: boolean): number[];
}
