// softmax, log_softmax and softmin along one axis, each with a backward op taking the forward output y.
import { type GraphValue, type Tensor, withTapeAccess } from '../tensor/tensor.js';
import { no_grad } from '../autograd/mode.js';
import { type TensorLike, toTensor } from '../tensor/create.js';
import { type AttrSchema, int, parseAttrs } from './attrs.js';
import { type OpDef, defineOp, dispatch } from './define.js';
import { expectShape } from './nn-common.js';
import { normAxis } from './axes.js';

type Kernel = 'softmax' | 'log_softmax' | 'softmin';
interface AxisAttrs {
  axis: number;
}
const schema: AttrSchema<AxisAttrs> = { axis: { check: int(), default: -1 } };

// Each op (and its backward op) runs its native kernel, registered under the op's name.
function softmaxOp(name: Kernel, doc: string): OpDef<AxisAttrs> {
  const backward = defineOp<AxisAttrs>({
    name: `${name}_backward`,
    doc: `gradient of ${name} from its output: (y, gy) -> gx`,
    inputs: [{ name: 'y' }, { name: 'gy' }],
    attrs: schema,
    gradientOf: name,
    infer: ([y, gy], a) => {
      normAxis(`${name}_backward`, a.axis, y!.ndim, { scalar: true });
      expectShape(`${name}_backward`, 'gy', gy!.shape, y!.shape, 'y');
      return [{ shape: y!.shape, dtype: 'float32' }];
    },
  });
  return defineOp<AxisAttrs>({
    name,
    doc,
    inputs: [{ name: 'x' }],
    attrs: schema,
    infer: ([x], a) => {
      normAxis(name, a.axis, x!.ndim, { scalar: true });
      return [{ shape: x!.shape, dtype: 'float32' }];
    },
    grad: ({ outputs: [y], grads: [gy], attrs }) => [dispatch(backward, [y!, gy!], attrs)[0]!],
  });
}

const ops = {
  softmax: softmaxOp('softmax', 'exp(x) / sum(exp(x)) along axis'),
  log_softmax: softmaxOp('log_softmax', 'log(softmax(x)) along axis, computed stably'),
  softmin: softmaxOp('softmin', 'softmax(-x) along axis'),
};
const call = (name: Kernel) => (x: TensorLike, axis = -1): Tensor =>
  dispatch(ops[name], [toTensor(x, name)], parseAttrs(name, schema, { axis }))[0]!;

// softmax output -> its logits, so cross_entropy_loss can compute from the logits instead of
// applying softmax a second time (the seed's models end in Activation('softmax')).
const softmaxInputs = new WeakMap<Tensor, { logits: Tensor; axis: number; gv: GraphValue | null }>();

/**
 * Softmax along axis (default the last), like torch.softmax(x, dim).
 *
 * Catalog op `softmax`: exp(x) / sum(exp(x)) along axis.
 */
export function softmax(x: TensorLike, axis = -1): Tensor {
  const input = toTensor(x, 'softmax');
  const y = dispatch(ops.softmax, [input], parseAttrs('softmax', schema, { axis }))[0]!;
  softmaxInputs.set(y, { logits: input, axis: normAxis('softmax', axis, input.ndim, { scalar: true }), gv: input._gv });
  return y;
}

/**
 * The logits and (non-negative) axis that y was computed from by softmax(), if they still hold
 * exactly what y came from: their data was not released (a tape may hold logits their owner
 * disposed) and softmax of them, recomputed, is bitwise y (so they were not updated in place).
 * Read the logits under withTapeAccess.
 */
export function softmaxSource(y: Tensor): { logits: Tensor; axis: number } | undefined {
  const src = softmaxInputs.get(y);
  if (!src || src.logits._storage === null || y.isDisposed) return undefined;
  // Graph values never change; a variable rebound since stands for another value.
  if (y.isSymbolic) return src.logits._gv === src.gv ? src : undefined;
  const same = withTapeAccess(() =>
    no_grad(() => {
      const again = dispatch(ops.softmax, [src.logits], { axis: src.axis })[0]!;
      // On a device: compared on the host (a transfer; comparing there needs ops this check avoids).
      const a = again._host();
      const b = y._host();
      let equal = a.length === b.length;
      for (let i = 0; equal && i < a.length; i++) equal = Object.is(a[i], b[i]);
      again.dispose();
      return equal;
    }),
  );
  return same ? src : undefined;
}
/** The axis y was computed along by softmax(), or undefined if y is not a softmax output. */
export function softmaxAxis(y: Tensor): number | undefined {
  return softmaxInputs.get(y)?.axis;
}
/** log(softmax(x)) along axis, computed stably. */
export const log_softmax = call('log_softmax');
/** softmax(-x) along axis. */
export const softmin = call('softmin');
