// Reverse-mode autograd over the tape. Gradients are computed by each op's `grad`, which is
// written in catalog ops, so everything backward dispatches is a catalog op too.
import { GradError } from '../errors.js';
import { type Work, noPause, runSync } from '../io/drive.js';
import { keep, tidyWork } from '../tensor/scope.js';
import { type Tensor, shapeStr, tapeAccessWork } from '../tensor/tensor.js';
import { noGradWork } from './mode.js';
import { type TapeNode, freeNode } from './node.js';
import { callOp } from '../ops/define.js';

export interface BackwardOptions {
  /** Keep the tape so backward can run through it again (default false: the tape is freed). */
  retain_graph?: boolean;
}

/** Nodes reachable from root, ordered so every node comes after all nodes that consume its outputs. */
function topoOrder(root: TapeNode): TapeNode[] {
  const order: TapeNode[] = [];
  const seen = new Set<TapeNode>([root]);
  // Iterative post-order DFS (deep chains must not overflow the stack).
  const stack: [TapeNode, number][] = [[root, 0]];
  while (stack.length) {
    const top = stack[stack.length - 1]!;
    const [node, i] = top;
    if (i < node.inputs.length) {
      top[1]++;
      const child = node.inputs[i]?.grad_fn;
      if (child && !seen.has(child)) {
        seen.add(child);
        stack.push([child, 0]);
      }
    } else {
      stack.pop();
      order.push(node);
    }
  }
  return order.reverse();
}

function accumulate(prev: Tensor | undefined | null, g: Tensor): Tensor {
  return prev ? callOp('add', [prev, g], {})[0]! : g;
}

/**
 * Computes d(root)/d(leaf) for every leaf that requires grad reachable from root and adds it
 * to leaf.grad. root must hold one element unless `gradient` (of root's shape) is given.
 */
export function backward(root: Tensor, gradient?: Tensor | null, options: BackwardOptions = {}): void {
  runSync(backwardWork(root, gradient, options));
}

/**
 * backward() as work that calls `pause` between tape nodes (fit lets the event loop run there).
 * Its scope, no_grad and tape access hold only while it runs, never during a pause.
 */
export function* backwardWork(root: Tensor, gradient?: Tensor | null, options: BackwardOptions = {}, pause: () => Work<void> = noPause): Work<void> {
  root._checkUsable(); // DisposedError for a disposed root
  if (!root.requires_grad) throw new GradError('backward(): the tensor does not require grad (no input of the ops that made it requires grad, or it was computed under no_grad)');
  // A scope of its own: every gradient but the leaves' (kept) goes back to the pool at the end.
  yield* tidyWork(noGradWork(tapeAccessWork(propagate(root, gradient, options, pause))));
}

function* propagate(root: Tensor, gradient: Tensor | null | undefined, options: BackwardOptions, pause: () => Work<void>): Work<void> {
  let seed: Tensor;
  if (gradient) {
    if (gradient.shape.length !== root.shape.length || gradient.shape.some((d, i) => d !== root.shape[i])) {
      throw new GradError(`backward(): gradient has shape ${shapeStr(gradient.shape)} but the tensor has shape ${shapeStr(root.shape)}`);
    }
    seed = gradient;
  } else {
    if (root.size !== 1) throw new GradError(`backward(): the tensor has shape ${shapeStr(root.shape)}; a gradient can be created implicitly only for one-element outputs (pass one)`);
    seed = callOp('full', [], { shape: root.shape, value: 1 })[0]!;
    if (root.device !== 'cpu') seed = seed.to(root.device);
  }
  const leafGrads = new Map<Tensor, Tensor>();
  if (!root.grad_fn) {
    leafGrads.set(root, seed);
    storeLeafGrads(leafGrads, gradient);
    return;
  }
  const grads = new Map<Tensor, Tensor>([[root, seed]]);
  const order = topoOrder(root.grad_fn);
  const freed = order.find((n) => n.freed);
  if (freed) throw new GradError(`backward(): the tape through '${freed.op.name}' was already freed by an earlier backward(); pass { retain_graph: true } to the first call to go through it twice`);
  for (const node of order) {
    const gOuts = node.outputs.map((o) => grads.get(o) ?? null);
    for (const o of node.outputs) grads.delete(o);
    if (gOuts.every((g) => g === null)) {
      if (!options.retain_graph) freeNode(node);
      continue;
    }
    const gIns = node.op.grad!({ inputs: node.inputs, outputs: node.outputs, grads: gOuts, attrs: node.attrs });
    for (let i = 0; i < node.inputs.length; i++) {
      const x = node.inputs[i];
      const g = gIns[i];
      if (!x || !x.requires_grad || !g) continue;
      if (g.shape.length !== x.shape.length || g.shape.some((d, k) => d !== x.shape[k])) {
        throw new GradError(`backward(): the gradient of '${node.op.name}' for input ${i} has shape ${shapeStr(g.shape)}, expected ${shapeStr(x.shape)} (a bug in the op's grad)`);
      }
      if (x.grad_fn) grads.set(x, accumulate(grads.get(x), g));
      else leafGrads.set(x, accumulate(leafGrads.get(x), g));
    }
    if (!options.retain_graph) freeNode(node); // releases what only this node still held
    yield* pause();
  }
  storeLeafGrads(leafGrads, gradient);
}

/** A copy made by a catalog op (astype to its own dtype copies). */
const copyOf = (t: Tensor): Tensor => callOp('astype', [t], { dtype: t.dtype })[0]!;

/**
 * Adds each leaf's gradient into leaf.grad, in place when it already holds one (as PyTorch
 * does: nothing is left for the garbage collector, and a reference to .grad sees the sum).
 * A new .grad never aliases another leaf's gradient or the caller's `gradient`.
 */
function storeLeafGrads(leafGrads: Map<Tensor, Tensor>, callerGradient: Tensor | null | undefined): void {
  const stored = new Set<Tensor>();
  for (const [x, g] of leafGrads) {
    const prev = x.grad;
    if (prev && !prev.isDisposed && prev.size === g.size && prev.dtype === g.dtype) {
      prev._assign(accumulate(prev, g)); // while a graph is defined: prev stands for the sum
    } else {
      const own = stored.has(g) || g === callerGradient ? copyOf(g) : g;
      stored.add(own);
      x.grad = keep(own);
    }
  }
}
