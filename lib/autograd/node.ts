// A tape node: one op application, holding what its gradient needs.
import type { OpDef } from '../ops/define.js';
import type { Tensor } from '../tensor/tensor.js';

export interface TapeNode {
  readonly op: OpDef<any>;
  /** The op's inputs (null for an absent optional input); emptied when the graph is freed. */
  inputs: (Tensor | null)[];
  /** The op's outputs (the gradient may use them, e.g. sigmoid's y). */
  outputs: Tensor[];
  readonly attrs: any;
  /** Set once backward() has run through it without retain_graph. */
  freed: boolean;
}
