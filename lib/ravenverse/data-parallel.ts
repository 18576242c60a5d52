// Data parallelism as a graph rewrite: each recorded training step whose batch can be traced is
// split along the batch into K shards that are independent work (each can go to another
// provider); the shards' gradients are summed by the catalog's `add`, and the optimizer update
// runs once on the sum. README "Partitioning" describes the algorithm; in short:
//
// 1. Steps: a training step is the run of nodes up to and including its optimizer updates (as in
//    the per-step plan); it must hold exactly one loss (mean or sum over the batch).
// 2. Batch tracing: the roots are the step's row slices of data (slice along axis 0 of N rows, N
//    the loss's batch). A tag is propagated through the step in order: `batch` (axis a carries the N
//    examples, each row computed from its own example only), `sum`/`mean` (a reduction over the
//    examples, e.g. a weight gradient: the shards' values combine into the full one exactly), or
//    replicated (no example in it). Every op has a rule that says how splitting its inputs along
//    the batch splits its outputs; an op without one, batch norm in training, a normalization,
//    maximum or variance over the batch, or a batch reduction flowing back into per-example work
//    (examples coupled) refuses the split, with the reason. Never a guess: when in doubt, no split.
// 3. Rewrite: replicated nodes the shards need first; then each shard's copy of the per-example
//    nodes (root slices take rows lo..lo+n; shape attributes such as reshape's or
//    conv2d_backward_input's x_shape get n; dropout's Philox offset moves to the shard's first
//    element, so the masks are the full batch's); then each reduction's shard values combined
//    (sum: added; mean: each weighted n_i/N, then added) and the rest of the step (the loss value
//    persisted, the optimizer updates) on the combined values. A per-example output whose op
//    divides by the batch size (a mean-reduced loss's gradient) is multiplied by n_i/N, so the
//    shard gradients add up to the full-batch gradient. Results equal the unsplit step's up to
//    float rounding (sums in another order), never more.
import { GraphError } from '../errors.js';
import { getOp, inferCall } from '../ops/define.js';
import { Tensor, numel, shapeStr } from '../tensor/tensor.js';
import type { GraphData, GraphNode, OpNode, OutputMeta, ValueRef } from '../graph/graph-data.js';
import { outputsOf } from '../graph/graph-data.js';

/** How a value relates to the step's batch of N examples. */
type Tag =
  | { k: 'rep'; coupled: number }
  /** replicated; `coupled` >= 0: derived from that node's reduction over the batch */
  | { k: 'batch'; axis: number }
  | { k: 'sum' }
  | { k: 'mean' };

/** How one op node splits: which input axis lines up with the batch, what each output becomes. */
interface Rule {
  /** Per input: its axis aligned with the batch (a replicated input with N there is sliced per shard), or null. */
  align: (number | null)[];
  out: Tag[];
  /** The shard's attributes for n rows starting at row lo (default: the node's). */
  attrs?: (n: number, lo: number) => Record<string, unknown>;
  /** The op divides by the batch size: its per-example outputs are multiplied by n/N. */
  rescale?: boolean;
  /** Shard starts must be multiples of this (dropout's Philox stream: 4 words per counter). */
  quantum?: number;
}
type RuleFn = (n: OpNode, tags: Tag[], shapes: number[][], N: number, g: GraphData) => Rule | string;

const REP: Tag = { k: 'rep', coupled: -1 };
const B = (axis: number): Tag => ({ k: 'batch', axis });
const isB = (t: Tag | undefined): t is { k: 'batch'; axis: number } => t?.k === 'batch';
const UPDATE_OPS = new Set(['adam_update', 'rmsprop_update', 'sgd_update']);
const LOSS_OPS = new Set(['cross_entropy', 'mse_loss', 'l1_loss', 'huber_loss', 'binary_cross_entropy', 'binary_cross_entropy_with_logits']);

// ---------------------------------------------------------------- rules

/** Elementwise ops with broadcasting (and same-shape backward ops): the batch axis lines up across inputs and output. */
function broadcastRule(n: OpNode, tags: Tag[], shapes: number[][]): Rule | string {
  const r = n.outputs[0]!.shape.length;
  let o: number | null = null;
  tags.forEach((t, j) => {
    if (!isB(t)) return;
    const oj = t.axis + r - shapes[j]!.length;
    if (o === null) o = oj;
    else if (o !== oj) o = -1;
  });
  if (o === null || o < 0) return `inputs carry the batch on different axes`;
  const out = o as number;
  const align = tags.map((t, j) => {
    if (isB(t)) return t.axis;
    const ax = out - (r - (shapes[j]?.length ?? 0));
    return ax >= 0 ? ax : null;
  });
  return { align, out: n.outputs.map(() => B(out)) };
}

const UNARY = [
  'exp', 'natlog', 'square_root', 'abs', 'sign', 'neg', 'logical_not', 'pow_scalar', 'clip', 'relu', 'sigmoid', 'tanh', 'selu',
  'softsign', 'tanhshrink', 'logsigmoid', 'leaky_relu', 'elu', 'softplus', 'hardshrink', 'softshrink', 'hardtanh', 'threshold',
];
const ELEMENTWISE = new Set([
  ...UNARY,
  ...UNARY.filter((u) => u !== 'sign' && u !== 'logical_not').map((u) => `${u}_backward`),
  'add', 'sub', 'mul', 'div', 'pow', 'greater', 'less', 'equal', 'maximum', 'minimum', 'greater_equal', 'less_equal', 'not_equal',
  'logical_and', 'logical_or', 'logical_xor', 'where', 'pos', 'astype',
]);

const normAxis = (a: number, nd: number) => (a < 0 ? a + nd : a);
const withAt = (list: readonly number[], i: number, v: number) => list.map((d, k) => (k === i ? v : d));
const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/** Reductions: over other axes the batch stays (sum and mean over it are partial values; others refuse). */
function reduceRule(linear: 'sum' | 'mean' | null): RuleFn {
  return (n, tags, shapes) => {
    const t = tags[0];
    if (!isB(t)) return 'its input does not carry the batch';
    const nd = shapes[0]!.length;
    const ax = n.attrs.axis;
    const axes = ax === null || ax === undefined ? shapes[0]!.map((_, i) => i) : (Array.isArray(ax) ? ax : [ax]).map((a) => normAxis(a as number, nd));
    if (axes.includes(t.axis)) {
      if (!linear) return `${n.op} over the batch axis couples the examples`;
      return { align: [t.axis], out: [{ k: linear }] };
    }
    const a = n.attrs.keepdims ? t.axis : t.axis - axes.filter((x) => x < t.axis).length;
    return { align: [t.axis], out: [B(a)] };
  };
}

/** Losses over pred and target (and weights broadcast to pred): mean/sum are partial values; their backward ops divide by the batch. */
function lossRule(backward: boolean): RuleFn {
  return (n, tags, shapes) => {
    const red = n.attrs.reduction as string;
    const last = tags.length - 1;
    const b = broadcastRule({ ...n, outputs: [{ shape: shapes[0]!, dtype: 'float32' }] }, backward && red !== 'none' ? tags.slice(0, last) : tags, shapes);
    if (typeof b === 'string') return b;
    if (!isB(tags[0]) || !isB(tags[1])) return 'pred and target must both carry the batch';
    const a = (b.out[0] as { axis: number }).axis;
    if (backward) return { align: red === 'none' ? b.align : [...b.align, null], out: n.outputs.map(() => B(a)), rescale: red === 'mean' };
    return { align: b.align, out: [red === 'none' ? B(a) : { k: red as 'sum' | 'mean' }] };
  };
}

/** cross_entropy and its backward: batch on axis 0; a mean needs every target counted (no class weights, no ignored targets). */
function crossEntropyRule(backward: boolean): RuleFn {
  return (n, tags, _shapes, _N, g) => {
    const red = n.attrs.reduction as string;
    if (!isB(tags[0]) || tags[0].axis !== 0 || !isB(tags[1]) || tags[1].axis !== 0) return 'logits and target must carry the batch on axis 0';
    if (tags[2] && !(tags[2].k === 'rep')) return 'class weights that depend on the batch';
    if (red === 'mean') {
      if (n.inputs[2]) return "a mean weighted by class weights divides by the batch's weights, not its size";
      const why = noIgnoredTargets(g, n.inputs[1]!, n.attrs.ignore_index as number);
      if (why) return why;
    }
    const gloss = backward ? [red === 'none' ? 0 : null] : [];
    const align = [0, 0, null, ...gloss];
    if (backward) return { align, out: [B(0)], rescale: red === 'mean' };
    return { align, out: [red === 'none' ? B(0) : { k: red as 'sum' | 'mean' }] };
  };
}

/** Why no int32 target equals ignore_index cannot be proven (null when it is): the targets are rows of a constant in memory. */
function noIgnoredTargets(g: GraphData, ref: ValueRef, ignore: number): string | null {
  let node = g.nodes[ref[0]]!;
  if (outputsOf(node)[ref[1]]!.dtype !== 'int32') return null; // probability targets: nothing is ignored
  for (let hops = 0; node.kind === 'op'; hops++) {
    if (hops > 16 || !['slice', 'gather', 'reshape'].includes(node.op)) return `the targets come from '${node.op}', so no target is known not to equal ignore_index`;
    node = g.nodes[node.inputs[0]![0]]!;
  }
  if (!node.data) return 'the targets are not in memory to check against ignore_index';
  return (node.data as Int32Array).includes(ignore) ? `a target equals ignore_index ${ignore} (the mean's denominator would depend on the shard)` : null;
}

function matmulRule(n: OpNode, tags: Tag[], shapes: number[][]): Rule | string {
  const [ta, tb] = tags;
  const [sa, sb] = shapes as [number[], number[]];
  if (sa.length < 2 || sb.length < 2) return 'a 1-D operand';
  const ra = sa.length, rb = sb.length, r = n.outputs[0]!.shape.length;
  const rowA = n.attrs.trans_a ? ra - 1 : ra - 2, conA = n.attrs.trans_a ? ra - 2 : ra - 1;
  const conB = n.attrs.trans_b ? rb - 1 : rb - 2, colB = n.attrs.trans_b ? rb - 2 : rb - 1;
  const aAx = isB(ta) ? ta.axis : -1, bAx = isB(tb) ? tb.axis : -1;
  if (aAx === rowA && bAx < 0) return { align: [aAx, null], out: [B(r - 2)] };
  if (bAx === colB && aAx < 0) return { align: [null, bAx], out: [B(r - 1)] };
  // The contraction runs over the examples: a partial sum (a weight gradient).
  if ((aAx === conA || aAx < 0) && (bAx === conB || bAx < 0) && (aAx >= 0 || bAx >= 0)) return { align: [conA, conB], out: [{ k: 'sum' }] };
  // The batch in the leading (broadcast) dims.
  const lead = aAx >= 0 ? aAx + r - ra : bAx + r - rb;
  if ((aAx < 0 || (aAx < ra - 2 && aAx + r - ra === lead)) && (bAx < 0 || (bAx < rb - 2 && bAx + r - rb === lead))) {
    const al = (rank: number) => (lead - (r - rank) >= 0 && lead - (r - rank) < rank - 2 ? lead - (r - rank) : null);
    return { align: [al(ra), al(rb)], out: [B(lead)] };
  }
  return 'pairs every example with every other (the batch on a row of one operand and a column of the other)';
}

function reshapeRule(n: OpNode, tags: Tag[], shapes: number[][], N: number): Rule | string {
  const t = tags[0];
  if (!isB(t)) return 'its input does not carry the batch';
  const from = shapes[0]!;
  const to = n.outputs[0]!.shape;
  const before = numel(from.slice(0, t.axis));
  for (let o = 0; o < to.length; o++) {
    if (numel(to.slice(0, o)) === before && to[o] === N) return { align: [t.axis], out: [B(o)], attrs: (k) => ({ ...n.attrs, shape: withAt(to, o, k) }) };
  }
  return `reshape ${shapeStr(from)} -> ${shapeStr(to)} merges the batch axis with others`;
}

/** slice / slice_backward / pad(_backward) that leave the batch axis whole. */
function wholeAxisRule(n: OpNode, tags: Tag[], shapes: number[][], N: number): Rule | string {
  const t = tags[0];
  if (!isB(t)) return 'its input does not carry the batch';
  const a = t.axis;
  const nd = shapes[0]!.length;
  if (n.op === 'slice' || n.op === 'slice_backward') {
    const dim = n.op === 'slice' ? shapes[0]![a]! : (n.attrs.shape as number[])[a]!;
    const s = n.attrs.starts as number[], e = n.attrs.ends as number[], st = n.attrs.steps as number[];
    const start = s[a]! < 0 ? s[a]! + dim : s[a]!;
    if (start > 0 || e[a]! < dim || st[a] !== 1 || dim !== N) return `${n.op} takes part of the batch axis`;
    return {
      align: [a],
      out: [B(a)],
      attrs: (k) => ({ ...n.attrs, starts: withAt(s, a, 0), ends: withAt(e, a, k), ...(n.op === 'slice_backward' ? { shape: withAt(n.attrs.shape as number[], a, k) } : {}) }),
    };
  }
  const pads = n.attrs.pads as number[];
  const first = nd - pads.length / 2;
  if (a >= first && (pads[2 * (a - first)] !== 0 || pads[2 * (a - first) + 1] !== 0)) return `${n.op} pads the batch axis`;
  return { align: [a], out: [B(a)], attrs: n.op === 'pad_backward' ? (k) => ({ ...n.attrs, shape: withAt(n.attrs.shape as number[], a, k) }) : undefined };
}

const RULES: Record<string, RuleFn> = {
  reshape: reshapeRule,
  permute: (n, tags) => (isB(tags[0]) ? { align: [tags[0].axis], out: [B((n.attrs.perm as number[]).map((p) => normAxis(p, (n.attrs.perm as number[]).length)).indexOf(tags[0].axis))] } : 'its input does not carry the batch'),
  matmul: matmulRule,
  sum: reduceRule('sum'),
  mean: reduceRule('mean'),
  max: reduceRule(null),
  min: reduceRule(null),
  prod: reduceRule(null),
  variance: reduceRule(null),
  std: reduceRule(null),
  argmax: reduceRule(null),
  argmin: reduceRule(null),
  sum_to: (n, tags, shapes, N) => {
    const t = tags[0];
    if (!isB(t)) return 'its input does not carry the batch';
    const to = n.attrs.shape as number[];
    const o = t.axis - (shapes[0]!.length - to.length);
    if (o < 0 || to[o] === 1) return { align: [t.axis], out: [{ k: 'sum' }] };
    return to[o] === N ? { align: [t.axis], out: [B(o)], attrs: (k) => ({ ...n.attrs, shape: withAt(to, o, k) }) } : 'unexpected shape';
  },
  broadcast_to: (n, tags, shapes) => {
    const t = tags[0];
    if (!isB(t)) return 'its input does not carry the batch';
    const to = n.attrs.shape as number[];
    const o = t.axis + to.length - shapes[0]!.length;
    return { align: [t.axis], out: [B(o)], attrs: (k) => ({ ...n.attrs, shape: withAt(to, o, k) }) };
  },
  softmax: (n, tags, shapes, N) => softmaxRule(n, tags, shapes, N),
  log_softmax: (n, tags, shapes, N) => softmaxRule(n, tags, shapes, N),
  softmin: (n, tags, shapes, N) => softmaxRule(n, tags, shapes, N),
  softmax_backward: (n, tags, shapes, N) => softmaxRule(n, tags, shapes, N),
  log_softmax_backward: (n, tags, shapes, N) => softmaxRule(n, tags, shapes, N),
  softmin_backward: (n, tags, shapes, N) => softmaxRule(n, tags, shapes, N),
  conv2d: (n, tags, shapes) => (shapes[0]!.length === 4 && isB(tags[0]) && tags[0].axis === 0 && !isB(tags[1]) && !isB(tags[2]) ? { align: [0, null, null], out: [B(0)] } : 'the batch must be axis 0 of a 4-D input'),
  conv1d: (n, tags, shapes) => (shapes[0]!.length === 3 && isB(tags[0]) && tags[0].axis === 0 && !isB(tags[1]) && !isB(tags[2]) ? { align: [0, null, null], out: [B(0)] } : 'the batch must be axis 0 of a 3-D input'),
  conv2d_backward_input: (n, tags) => (isB(tags[0]) && tags[0].axis === 0 && !isB(tags[1]) ? { align: [0, null], out: [B(0)], attrs: (k) => ({ ...n.attrs, x_shape: withAt(n.attrs.x_shape as number[], 0, k) }) } : 'the batch must be axis 0 of gy'),
  conv2d_backward_weight: (n, tags) => (isB(tags[0]) && tags[0].axis === 0 && isB(tags[1]) && tags[1].axis === 0 ? { align: [0, 0], out: [{ k: 'sum' }] } : 'gy and x must carry the batch on axis 0'),
  conv2d_backward_bias: (n, tags) => (isB(tags[0]) && tags[0].axis === 0 ? { align: [0], out: [{ k: 'sum' }] } : 'the batch must be axis 0 of gy'),
  max_pool2d: (n, tags, shapes) => (shapes[0]!.length === 4 && isB(tags[0]) && tags[0].axis === 0 ? { align: [0], out: [B(0), B(0)] } : 'the batch must be axis 0 of a 4-D input'),
  avg_pool2d: (n, tags, shapes) => (shapes[0]!.length === 4 && isB(tags[0]) && tags[0].axis === 0 ? { align: [0], out: [B(0)] } : 'the batch must be axis 0 of a 4-D input'),
  adaptive_avg_pool2d: (n, tags, shapes) => (shapes[0]!.length === 4 && isB(tags[0]) && tags[0].axis === 0 ? { align: [0], out: [B(0)] } : 'the batch must be axis 0 of a 4-D input'),
  max_pool2d_backward: (n, tags) => poolBackward(n, tags),
  avg_pool2d_backward: (n, tags) => poolBackward(n, tags),
  adaptive_avg_pool2d_backward: (n, tags) => poolBackward(n, tags),
  dropout: (n, tags, shapes, N) => {
    const t = tags[0];
    if (!isB(t) || t.axis !== 0) return "dropout's random stream follows the flat index: the batch must be axis 0";
    const row = numel(shapes[0]!) / N;
    // Element i draws word i % 4 of counter offset + i / 4: a shard starting at a multiple of 4 elements replays the same words.
    return { align: [0], out: [B(0), B(0)], quantum: 4 / gcd(row, 4), attrs: (_k, lo) => ({ ...n.attrs, offset: (n.attrs.offset as number) + (lo * row) / 4 }) };
  },
  gather: (n, tags, shapes) => {
    if (isB(tags[0]) || !isB(tags[1])) return 'only rows picked by per-example indices (the data replicated)';
    const axis = normAxis(n.attrs.axis as number, shapes[0]!.length);
    return { align: [null, tags[1].axis], out: [B(axis + tags[1].axis)] };
  },
  gather_backward: (n, tags) => (isB(tags[0]) && isB(tags[1]) && tags[0].axis === normAxis(n.attrs.axis as number, (n.attrs.shape as number[]).length) + tags[1].axis ? { align: [tags[0].axis, tags[1].axis], out: [{ k: 'sum' }] } : 'dy and indices must carry the batch together'),
  embedding: (n, tags) => (isB(tags[0]) && !isB(tags[1]) ? { align: [tags[0].axis, null], out: [B(tags[0].axis)] } : 'only ids carrying the batch'),
  embedding_backward: (n, tags) => (isB(tags[0]) && isB(tags[1]) && tags[0].axis === tags[1].axis ? { align: [tags[0].axis, tags[1].axis], out: [{ k: 'sum' }] } : 'gy and ids must carry the batch together'),
  one_hot_encoding: (n, tags) => (isB(tags[0]) ? { align: [tags[0].axis], out: [B(tags[0].axis)] } : 'its input does not carry the batch'),
  slice: wholeAxisRule,
  slice_backward: wholeAxisRule,
  pad: wholeAxisRule,
  pad_backward: wholeAxisRule,
  concat: (n, tags, shapes) => {
    const b = broadcastRule(n, tags, shapes);
    if (typeof b === 'string') return b;
    const a = (b.out[0] as { axis: number }).axis;
    return normAxis(n.attrs.axis as number, shapes[0]!.length) === a ? 'concatenates along the batch axis' : b;
  },
  split: (n, tags, shapes) => (isB(tags[0]) && normAxis(n.attrs.axis as number, shapes[0]!.length) !== tags[0].axis ? { align: [tags[0].axis], out: n.outputs.map(() => B((tags[0] as { axis: number }).axis)) } : 'splits along the batch axis'),
  layer_norm: (n, tags, shapes) => {
    const t = tags[0];
    if (!isB(t) || isB(tags[1]) || isB(tags[2])) return 'only x carrying the batch';
    return t.axis < shapes[0]!.length - (n.attrs.normalized_shape as number[]).length ? { align: [t.axis, null, null], out: [B(t.axis), B(t.axis), B(t.axis)] } : 'normalizes over the batch axis';
  },
  layer_norm_backward: (n, tags, shapes) => {
    const [gy, x, m, r] = tags;
    if (!isB(gy) || !isB(x) || !isB(m) || !isB(r) || isB(tags[4]) || gy.axis !== x.axis) return 'gy, x and the statistics must carry the batch together';
    if (gy.axis >= shapes[0]!.length - (n.attrs.normalized_shape as number[]).length) return 'normalizes over the batch axis';
    return { align: [gy.axis, x.axis, m.axis, r.axis, null], out: [B(gy.axis), { k: 'sum' }, { k: 'sum' }] };
  },
  batch_norm: (n) => (n.attrs.training ? 'batch_norm in training mode normalizes over the batch (couples the examples)' : 'batch_norm in evaluation mode is not proven per-example here'),
  batch_norm_backward: () => 'batch_norm couples the examples',
  cross_entropy: crossEntropyRule(false),
  cross_entropy_backward: crossEntropyRule(true),
};
for (const op of ELEMENTWISE) RULES[op] = (n, tags, shapes) => broadcastRule(n, tags, shapes);
for (const op of ['mse_loss', 'l1_loss', 'huber_loss', 'binary_cross_entropy', 'binary_cross_entropy_with_logits']) {
  RULES[op] = lossRule(false);
  RULES[`${op}_backward`] = lossRule(true);
}

function softmaxRule(n: OpNode, tags: Tag[], shapes: number[][], _N: number): Rule | string {
  const b = broadcastRule(n, tags, shapes);
  if (typeof b === 'string') return b;
  const a = (b.out[0] as { axis: number }).axis;
  return normAxis(n.attrs.axis as number, shapes[0]!.length) === a ? `${n.op} normalizes over the batch axis` : b;
}

function poolBackward(n: OpNode, tags: Tag[]): Rule | string {
  if (!isB(tags[0]) || tags[0].axis !== 0 || (tags[1] && !(isB(tags[1]) && tags[1].axis === 0))) return 'the batch must be axis 0 of gy';
  return { align: tags.map(() => 0), out: [B(0)], attrs: (k) => ({ ...n.attrs, x_shape: withAt(n.attrs.x_shape as number[], 0, k) }) };
}

// ---------------------------------------------------------------- analysis

export interface StepAnalysis {
  /** Node range of the step: [start, end). */
  start: number;
  end: number;
  /** Examples in the batch (0 when unknown). */
  batch: number;
  /** Why the step cannot be split (null: it can). */
  refused: string | null;
  /** Shard starts must be multiples of this. */
  quantum: number;
  /** Each node's tags (per output). */
  tags: Map<number, Tag[]>;
  rules: Map<number, Rule>;
  /** The root slices (rows of data). */
  roots: Set<number>;
  /** Roots and the row selections made from them only (slice, gather, reshape of data): where a shard's rows come from. */
  data: Set<number>;
}

/** Training steps: runs of nodes ending with their optimizer updates; what follows the last update is not a step. */
export function findSteps(g: GraphData): { start: number; end: number }[] {
  const steps: { start: number; end: number }[] = [];
  let start = 0;
  let inUpdates = false;
  g.nodes.forEach((n, i) => {
    if (n.kind !== 'op') return;
    const isUpdate = UPDATE_OPS.has(n.op);
    if (inUpdates && !isUpdate) {
      steps.push({ start, end: i });
      start = i;
    }
    inUpdates = isUpdate;
  });
  if (inUpdates) steps.push({ start, end: g.nodes.length });
  return steps;
}

/** Traces the batch through one step (see the header); `refused` says why it cannot be split. */
export function analyzeStep(g: GraphData, start: number, end: number): StepAnalysis {
  const res: StepAnalysis = { start, end, batch: 0, refused: null, quantum: 1, tags: new Map(), rules: new Map(), roots: new Set(), data: new Set() };
  const refuse = (why: string) => ((res.refused = why), res);
  const losses: number[] = [];
  for (let i = start; i < end; i++) {
    const n = g.nodes[i]!;
    if (n.kind === 'op' && LOSS_OPS.has(n.op) && n.attrs.reduction !== 'none') losses.push(i);
  }
  if (losses.length !== 1) return refuse(losses.length ? `${losses.length} losses in one step` : 'no loss reduced over the batch');
  const loss = g.nodes[losses[0]!] as OpNode;
  const pred = outputsOf(g.nodes[loss.inputs[0]![0]]!)[loss.inputs[0]![1]]!;
  const N = pred.shape[0] ?? 0;
  res.batch = N;
  if (N < 2) return refuse(`a batch of ${N} example(s) cannot be split`);
  const tagOf = (r: ValueRef): Tag => {
    if (r[0] < start) return REP;
    const t = res.tags.get(r[0])![r[1]]!;
    return t.k === 'sum' || t.k === 'mean' ? { k: 'rep', coupled: r[0] } : t; // consumers see the combined value
  };
  for (let i = start; i < end; i++) {
    const n = g.nodes[i]!;
    if (n.kind === 'const') {
      res.tags.set(i, [REP]);
      continue;
    }
    const tags = n.inputs.map((r) => (r ? tagOf(r) : REP));
    const shapes = n.inputs.map((r) => (r ? outputsOf(g.nodes[r[0]]!)[r[1]]!.shape : []));
    const batchIn = tags.some(isB);
    if (!batchIn && isRoot(n, tags, shapes, N)) {
      const s = n.attrs.starts as number[];
      const first = s[0]! < 0 ? Math.max(0, s[0]! + shapes[0]![0]!) : s[0]!;
      res.roots.add(i);
      res.data.add(i);
      res.tags.set(i, [B(0)]);
      res.rules.set(i, { align: [null], out: [B(0)], attrs: (k, lo) => ({ ...n.attrs, starts: withAt(s, 0, first + lo), ends: withAt(n.attrs.ends as number[], 0, first + lo + k) }) });
      continue;
    }
    if (!batchIn) {
      const coupled = tags.find((t) => t.k === 'rep' && t.coupled >= 0) as { coupled: number } | undefined;
      res.tags.set(i, n.outputs.map(() => (coupled ? { k: 'rep', coupled: coupled.coupled } : REP)));
      continue;
    }
    const where = `node ${i} ('${n.op}')`;
    const mixed = tags.find((t) => t.k === 'rep' && t.coupled >= 0) as { coupled: number } | undefined;
    if (mixed) return refuse(`${where} combines per-example values with node ${mixed.coupled}'s reduction over the batch (the examples are coupled)`);
    const ruleFn = RULES[n.op];
    if (!ruleFn) return refuse(`${where} is not known to act example by example`);
    const rule = ruleFn(n, tags, shapes, N, g);
    if (typeof rule === 'string') return refuse(`${where}: ${rule}`);
    // A replicated input lined up with the batch is either broadcast (size 1) or sliced per shard (size N).
    for (let j = 0; j < tags.length; j++) {
      const ax = rule.align[j];
      if (ax === null || ax === undefined || isB(tags[j]) || !n.inputs[j]) continue;
      const d = shapes[j]![ax];
      if (d === 1) rule.align[j] = null;
      else if (d !== N) return refuse(`${where}: input ${j} has ${d} rows where the batch has ${N}`);
    }
    for (const [o, t] of rule.out.entries()) if (t.k !== 'batch' && n.outputs[o]!.dtype !== 'float32') return refuse(`${where}: an int32 reduction over the batch`);
    if (rule.quantum) res.quantum = lcm(res.quantum, rule.quantum);
    if (DATA_OPS.has(n.op) && n.inputs.every((r, j) => !isB(tags[j]) || res.data.has(r![0]))) res.data.add(i);
    res.tags.set(i, rule.out);
    res.rules.set(i, rule);
  }
  const lt = res.tags.get(losses[0]!)!;
  if (lt[0]!.k !== 'sum' && lt[0]!.k !== 'mean') return refuse(`the loss (node ${losses[0]}) is not traced to rows of the data (no slice of N = ${N} rows feeds it)`);
  return res;
}

/** Ops that only select or relabel rows: applied to data alone, they pick a shard's examples. */
const DATA_OPS = new Set(['slice', 'gather', 'reshape', 'astype', 'one_hot_encoding', 'permute']);
const lcm = (a: number, b: number) => (a * b) / gcd(a, b);

/** A root: rows [s, s + N) of replicated data along axis 0, the other axes whole. */
function isRoot(n: OpNode, tags: Tag[], shapes: number[][], N: number): boolean {
  if (n.op !== 'slice' || tags[0]!.k !== 'rep' || (tags[0] as { coupled: number }).coupled >= 0) return false;
  const out = n.outputs[0]!.shape;
  const inp = shapes[0]!;
  return out.length > 0 && out[0] === N && (n.attrs.steps as number[])[0] === 1 && out.every((d, k) => k === 0 || d === inp[k]);
}

// ---------------------------------------------------------------- rewrite

export interface StepReport {
  /** Node range of the step in the original graph. */
  start: number;
  end: number;
  batch: number;
  /** Rows of each shard (one entry: not split). */
  shards: number[];
  /** Why it was not split (null when split). */
  refused: string | null;
}

export interface SplitGraph {
  graph: GraphData;
  /** The value of the new graph that holds `ref` of the original (a GraphError for a per-shard value nothing outside the step reads). */
  map(ref: ValueRef): ValueRef;
  steps: StepReport[];
  /**
   * Per node of the new graph: the shard whose per-example work it is (0 to K-1), or -1 for
   * the rest (replicated work, the shards' row selections of the data, the combination and the
   * updates). A shard's nodes are contiguous.
   */
  shard: Int32Array;
}

export interface SplitOptions {
  /** Values of the original graph that must stay available (a model's variables). */
  keep?: readonly ValueRef[];
}

/** Splits every step that can be split exactly into `shards` shards along its batch (see the header). */
export function splitBatch(g: GraphData, shards: number, options: SplitOptions = {}): SplitGraph {
  if (!Number.isSafeInteger(shards) || shards < 1) throw new GraphError(`splitBatch: shards must be a positive integer, got ${shards}`);
  const nodes: GraphNode[] = [];
  const groups: number[] = [];
  const map = new Map<string, ValueRef>();
  const key = (r: ValueRef) => `${r[0]}:${r[1]}`;
  const mapped = (r: ValueRef): ValueRef => {
    const m = map.get(key(r));
    if (!m) throw new GraphError(`splitBatch: value ${key(r)} of the original graph is per shard only`);
    return m;
  };
  // Values read after their step (or persisted, or kept) need their full value in the new graph.
  const lastRead = new Int32Array(g.nodes.length).fill(-1);
  g.nodes.forEach((n, i) => n.kind === 'op' && n.inputs.forEach((r) => r && (lastRead[r[0]] = Math.max(lastRead[r[0]]!, i))));
  const pinned = new Set([...g.persist.values(), ...(options.keep ?? [])].map((r) => r[0]));
  const push = (n: GraphNode, grp = -1) => (nodes.push(n), groups.push(grp), nodes.length - 1);
  const copy = (i: number) => {
    const n = g.nodes[i]!;
    const id = push(n.kind === 'const' ? n : { ...n, inputs: n.inputs.map((r) => (r ? mapped(r) : null)) });
    outputsOf(n).forEach((_, o) => map.set(`${i}:${o}`, [id, o]));
  };
  const steps: StepReport[] = [];
  let at = 0;
  for (const { start, end } of shards > 1 ? findSteps(g) : []) {
    for (; at < start; at++) copy(at);
    const a = analyzeStep(g, start, end);
    let refused = a.refused;
    let sizes = [a.batch];
    if (!refused) {
      // Shards start at multiples of the quantum: ceil(N / quantum) possible starts.
      const units = Math.ceil(a.batch / a.quantum);
      if (units < shards) refused = `a batch of ${a.batch} examples is too small for ${shards} shards${a.quantum > 1 ? ` starting at multiples of ${a.quantum} rows (dropout)` : ''}`;
      else {
        const bounds = Array.from({ length: shards }, (_, s) => a.quantum * Math.floor((s * units) / shards));
        sizes = bounds.map((b, s) => (s + 1 < shards ? bounds[s + 1]! : a.batch) - b);
        const mark = nodes.length;
        try {
          emitSplit(g, a, sizes, { nodes, push, map, mapped, lastRead, pinned });
        } catch (err) {
          // A shard's shapes disagree with the rule: a gap in the rules, never a wrong result.
          nodes.length = mark;
          groups.length = mark;
          refused = `internal check failed: ${(err as Error).message}`;
        }
      }
    }
    if (refused) {
      sizes = [a.batch];
      for (let i = start; i < end; i++) copy(i);
    }
    at = end;
    steps.push({ start, end, batch: a.batch, shards: sizes, refused });
  }
  for (; at < g.nodes.length; at++) copy(at);
  const persist = new Map<string, ValueRef>();
  for (const [name, r] of g.persist) persist.set(name, mapped(r));
  return { graph: { info: g.info, nodes, persist }, map: mapped, steps, shard: Int32Array.from(groups) };
}

interface Emit {
  nodes: GraphNode[];
  push(n: GraphNode, group?: number): number;
  map: Map<string, ValueRef>;
  mapped(r: ValueRef): ValueRef;
  lastRead: Int32Array;
  pinned: Set<number>;
}

function emitSplit(g: GraphData, a: StepAnalysis, sizes: number[], e: Emit): void {
  const { start, end, batch: N } = a;
  const isRep = (i: number) => a.tags.get(i)!.every((t) => t.k === 'rep');
  const coupled = (i: number) => a.tags.get(i)!.some((t) => t.k === 'rep' && t.coupled >= 0);
  const scalar = (v: number, grp: number): ValueRef => [e.push({ kind: 'op', op: 'full', attrs: { shape: [], value: v, dtype: 'float32' }, inputs: [], outputs: [{ shape: [], dtype: 'float32' }] }, grp), 0];
  const op = (name: string, attrs: Record<string, unknown>, inputs: ValueRef[], outputs: OutputMeta[], grp: number): ValueRef => [e.push({ kind: 'op', op: name, attrs, inputs, outputs }, grp), 0];
  // 1. Replicated work that needs no reduction over the batch (weights read, loss seed, data made in the step).
  for (let i = start; i < end; i++) {
    if (!isRep(i) || coupled(i)) continue;
    const n = g.nodes[i]!;
    const id = e.push(n.kind === 'const' ? n : { ...n, inputs: n.inputs.map((r) => (r ? e.mapped(r) : null)) });
    outputsOf(n).forEach((_, o) => e.map.set(`${i}:${o}`, [id, o]));
  }
  // 2. Each shard's copy of the per-example work: first every shard's rows of the data (they stay
  // with the replicated work, so a shard receives its rows, not the data set), then each shard.
  const shardVals = sizes.map(() => new Map<string, ValueRef>());
  const starts = sizes.map((_, s) => sizes.slice(0, s).reduce((x, y) => x + y, 0));
  const emitShard = (s: number, data: boolean) => {
    const k = sizes[s]!;
    const lo = starts[s]!;
    const grp = data ? -1 : s;
    const vals = shardVals[s]!;
    const sliced = new Map<string, ValueRef>();
    for (let i = start; i < end; i++) {
      if (isRep(i) || a.data.has(i) !== data) continue;
      const n = g.nodes[i] as OpNode;
      const rule = a.rules.get(i)!;
      const inputs = n.inputs.map((r, j): ValueRef | null => {
        if (!r) return null;
        const t = a.tags.get(r[0])?.[r[1]];
        if (r[0] >= start && t && t.k === 'batch') return vals.get(`${r[0]}:${r[1]}`)!;
        const ax = rule.align[j];
        const full = e.mapped(r);
        if (ax === null || ax === undefined) return full;
        // A replicated value with a row per example: this shard's rows.
        const sk = `${r[0]}:${r[1]}:${ax}`;
        let v = sliced.get(sk);
        if (!v) {
          const meta = outputsOf(g.nodes[r[0]]!)[r[1]]!;
          v = op('slice', { starts: meta.shape.map((_, d) => (d === ax ? lo : 0)), ends: meta.shape.map((dim, d) => (d === ax ? lo + k : dim)), steps: meta.shape.map(() => 1) }, [full], [{ shape: withAt(meta.shape, ax, k), dtype: meta.dtype }], grp);
          sliced.set(sk, v);
        }
        return v;
      });
      const attrs = rule.attrs ? rule.attrs(k, lo) : n.attrs;
      const outputs = inferShard(n, inputs, attrs, e, rule, k, i);
      const id = e.push({ kind: 'op', op: n.op, attrs, inputs, outputs }, grp);
      rule.out.forEach((t, o) => {
        let v: ValueRef = [id, o];
        if (t.k === 'batch' && rule.rescale && k !== N) v = op('mul', {}, [v, scalar(k / N, grp)], [outputs[o]!], grp);
        vals.set(`${i}:${o}`, v);
      });
    }
  };
  sizes.forEach((_, s) => emitShard(s, true));
  sizes.forEach((_, s) => emitShard(s, false));
  // 3. Reductions combined, per-example values the rest of the graph reads joined, then the rest of the step.
  for (let i = start; i < end; i++) {
    const n = g.nodes[i]!;
    if (isRep(i)) {
      if (!coupled(i)) continue;
      const id = e.push({ ...(n as OpNode), inputs: (n as OpNode).inputs.map((r) => (r ? e.mapped(r) : null)) });
      outputsOf(n).forEach((_, o) => e.map.set(`${i}:${o}`, [id, o]));
      continue;
    }
    const outs = (n as OpNode).outputs;
    a.tags.get(i)!.forEach((t, o) => {
      const parts = shardVals.map((v) => v.get(`${i}:${o}`)!);
      const meta = outs[o]!;
      if (t.k === 'sum' || t.k === 'mean') {
        let acc: ValueRef | null = null;
        parts.forEach((p, s) => {
          const term = t.k === 'mean' ? op('mul', {}, [p, scalar(sizes[s]! / N, -1)], [meta], -1) : p;
          acc = acc ? op('add', {}, [acc, term], [meta], -1) : term;
        });
        e.map.set(`${i}:${o}`, acc!);
      } else if (t.k === 'batch' && (e.lastRead[i]! >= end || e.pinned.has(i))) {
        e.map.set(`${i}:${o}`, op('concat', { axis: t.axis }, parts, [meta], -1));
      }
    });
  }
}

/** The shard node's outputs by the catalog's own shape inference, checked against what the rule promised. */
function inferShard(n: OpNode, inputs: (ValueRef | null)[], attrs: Record<string, unknown>, e: Emit, rule: Rule, k: number, i: number): OutputMeta[] {
  const meta = (r: ValueRef) => outputsOf(e.nodes[r[0]]!)[r[1]]!;
  const sym = inputs.map((r) => (r ? Tensor._symbolic(meta(r).shape, meta(r).dtype) : null));
  try {
    const metas = inferCall(getOp(n.op), sym, attrs);
    return metas.map((m, o) => {
      const t = rule.out[o]!;
      const want = t.k === 'batch' ? withAt(n.outputs[o]!.shape, t.axis, k) : n.outputs[o]!.shape;
      if (shapeStr(m.shape) !== shapeStr(want)) throw new GraphError(`node ${i} ('${n.op}') output ${o} is ${shapeStr(m.shape)} for a shard, expected ${shapeStr(want)}`);
      return { shape: [...m.shape], dtype: m.dtype };
    });
  } finally {
    for (const t of sym) t?.dispose();
  }
}

