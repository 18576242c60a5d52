// embedding: rows of a weight table picked by int32 ids, with a scatter-add backward op.
import { RangeIndexError, ShapeError } from '../errors.js';
import { type Tensor, shapeStr } from '../tensor/tensor.js';
import { type TensorLike, toTensor } from '../tensor/create.js';
import { int, nullable, parseAttrs, required } from './attrs.js';
import { defineOp, dispatch } from './define.js';
import { expectShape } from './nn-common.js';

interface EmbeddingAttrs {
  /** Row whose gradient stays zero (negative counts from the end), like torch's padding_idx. */
  padding_idx: number | null;
}
interface EmbeddingBackwardAttrs extends EmbeddingAttrs {
  num_weights: number;
}
const paddingIdx = { check: nullable(int()), default: null };

function checkPadding(op: string, padding_idx: number | null, v: number): void {
  if (padding_idx !== null && (padding_idx < -v || padding_idx >= v)) {
    throw new RangeIndexError(`${op}: padding_idx ${padding_idx} is out of range [${-v}, ${v}) for ${v} embeddings`);
  }
}

const embeddingBackward = defineOp<EmbeddingBackwardAttrs>({
  name: 'embedding_backward',
  doc: 'gradient of embedding w.r.t. the weight: (gy, ids) -> gw [num_weights, D], gy rows summed into rows ids',
  inputs: [{ name: 'gy' }, { name: 'ids', dtype: 'int32' }],
  attrs: { padding_idx: paddingIdx, num_weights: { check: int({ min: 0 }), default: required } },
  gradientOf: 'embedding',
  infer: ([gy, ids], a) => {
    const d = gy!.shape[gy!.ndim - 1] ?? 0;
    expectShape('embedding_backward', 'gy', gy!.shape, [...ids!.shape, d], `ids ${shapeStr(ids!.shape)}`);
    checkPadding('embedding_backward', a.padding_idx, a.num_weights);
    return [{ shape: [a.num_weights, d], dtype: 'float32' }];
  },
});

const embeddingOp = defineOp<EmbeddingAttrs>({
  name: 'embedding',
  doc: 'rows of weight [V, D] picked by int32 ids: (ids, weight) -> [...ids.shape, D]; an id outside [0, V) is a RangeIndexError',
  inputs: [{ name: 'ids', dtype: 'int32' }, { name: 'weight' }],
  attrs: { padding_idx: paddingIdx },
  infer: ([ids, w], a) => {
    if (w!.ndim !== 2) throw new ShapeError(`embedding: weight must be [V, D], got ${shapeStr(w!.shape)}`);
    checkPadding('embedding', a.padding_idx, w!.shape[0]!);
    return [{ shape: [...ids!.shape, w!.shape[1]!], dtype: 'float32' }];
  },
  grad: ({ inputs: [ids, w], grads: [gy], attrs }) => [null, dispatch(embeddingBackward, [gy!, ids!], { ...attrs, num_weights: w!.shape[0]! })[0]!],
});

/**
 * Looks up rows of weight (V, D) for int32 ids, like torch.nn.functional.embedding(ids, weight).
 *
 * Catalog op `embedding`: rows of weight [V, D] picked by int32 ids: (ids, weight) -> [...ids.shape, D]; an id outside [0, V) is a RangeIndexError.
 */
export function embedding(ids: TensorLike, weight: TensorLike, options?: { padding_idx?: number | null }): Tensor {
  const attrs = parseAttrs('embedding', embeddingOp.attrs, options);
  return dispatch(embeddingOp, [toTensor(ids, 'embedding'), toTensor(weight, 'embedding')], attrs)[0]!;
}
