// A tape node: one op application, holding what its gradient needs.
import type { OpDef } from '../ops/define.js';
import type { Tensor } from '../tensor/tensor.js';
import { setGraphCleanup } from '../tensor/scope.js';

export interface TapeNode {
  readonly op: OpDef<any>;
  /** The op's inputs (null for an absent optional input); emptied when the node is freed. */
  inputs: (Tensor | null)[];
  /** The op's outputs (the gradient may use them, e.g. sigmoid's y). */
  outputs: Tensor[];
  readonly attrs: any;
  /** Set once the node is freed (by backward() without retain_graph, or by the tidy() scope that owned it). */
  freed: boolean;
}

/** Records that the node holds its inputs and outputs (each counted once per slot). */
export function holdTensors(node: TapeNode): void {
  for (const x of node.inputs) if (x) x._tapeRefs++;
  for (const o of node.outputs) o._tapeRefs++;
}

/** Frees a node: it lets go of its tensors, which are released if their owner disposed them. */
export function freeNode(node: TapeNode): void {
  if (node.freed) return;
  node.freed = true;
  const { inputs, outputs } = node;
  node.inputs = [];
  node.outputs = [];
  for (const x of inputs) x?._untape();
  for (const o of outputs) o._untape();
}

// At the end of a tidy() scope: free the scope's nodes that no escaping tensor can reach.
setGraphCleanup((nodes, escapees) => {
  const owned = new Set<TapeNode>();
  for (const n of nodes as TapeNode[]) if (!n.freed) owned.add(n);
  if (owned.size === 0) return [];
  const reachable = new Set<TapeNode>();
  const stack: TapeNode[] = [];
  for (const t of escapees as readonly Tensor[]) if (t.grad_fn && owned.has(t.grad_fn)) stack.push(t.grad_fn);
  while (stack.length) {
    const n = stack.pop()!;
    if (reachable.has(n)) continue;
    reachable.add(n);
    for (const x of n.inputs) if (x?.grad_fn && owned.has(x.grad_fn) && !reachable.has(x.grad_fn)) stack.push(x.grad_fn);
  }
  for (const n of owned) if (!reachable.has(n)) freeNode(n);
  return [...reachable];
});
