// The shape of an op test case. One list of cases per op group (test/ops/cases/*.ts) drives
// both the PyTorch fixture generator (test/fixtures/gen/gen_ops.py, through dump-cases.ts) and
// the conformance test (test/ops/conformance.test.ts).
import type * as RT from '../../lib/index.js';

export type R = typeof RT;
export type Tensor = RT.Tensor;

export interface InputSpec {
  shape: number[];
  /** Default float32. int32 inputs are drawn from [low, high) (default [0, 4)). */
  dtype?: 'float32' | 'int32';
  /**
   * How the generator draws values: 'randn' (default), 'uniform' in [low, high) (default
   * [-1, 1)), 'positive' (uniform [0.5, 2)), 'onehot' (rows of a one-hot matrix: last dim = classes),
   * 'probs' (rows summing to 1 along the last dim), 'binary' (0 or 1).
   */
  init?: 'randn' | 'uniform' | 'positive' | 'onehot' | 'probs' | 'binary';
  low?: number;
  high?: number;
  /** Whether this input gets a gradient (default: float32 inputs do). */
  grad?: boolean;
}

export interface OpCase {
  /** The catalog op (or public composite) this case covers. */
  op: string;
  /** Distinguishes several cases of one op; the fixture key is `${op}/${id}`. */
  id: string;
  inputs: InputSpec[];
  /**
   * The PyTorch expression computing the same thing, with the inputs bound to a, b, c, d, e
   * (float64 tensors, or int64 for int32 inputs), `torch` and `F` (torch.nn.functional).
   * It may return a tensor or a tuple/list of tensors. null: no PyTorch oracle (random ops):
   * `check` must test the outputs instead.
   */
  torch: string | null;
  /** Calls ravdl with the inputs (as Tensors, in order); returns one tensor or several. */
  call: (R: R, inputs: Tensor[]) => Tensor | Tensor[];
  /** Whether to check gradients (default true when some input needs one and an output is float32). */
  grad?: boolean;
  /** Finite-difference check: false to skip (non-smooth points), or its step/tolerance. */
  fd?: false | { eps?: number; tol?: number };
  /** Tolerances of the comparison with PyTorch (defaults: rtol 1e-5, atol 1e-5; gradients 1e-4). */
  tol?: { rtol?: number; atol?: number };
  /** Extra checks on the outputs (always run; the only check when torch is null). */
  check?: (R: R, outputs: Tensor[], inputs: Tensor[]) => void;
}
