// The in-memory form of a graph: nodes in execution order (every input refers to an earlier
// node), constants with their data or their blob's SHA-256, and the persisted names.
import type { DType, Data } from '../tensor/dtype.js';
import type { FederatedRules } from './federated.js';

/** Output `output` of node `node`. */
export type ValueRef = readonly [node: number, output: number];

export interface OutputMeta {
  shape: number[];
  dtype: DType;
}

/** One application of a catalog op. */
export interface OpNode {
  kind: 'op';
  op: string;
  /** The op's parsed attributes, as its kernel takes them. */
  attrs: Record<string, unknown>;
  inputs: (ValueRef | null)[];
  outputs: OutputMeta[];
}

/** A tensor constant (one output): its data while in memory, its blob's SHA-256 once stored. */
export interface ConstNode {
  kind: 'const';
  shape: number[];
  dtype: DType;
  data: Data | null;
  blob: string | null;
}

export type GraphNode = OpNode | ConstNode;

export const APPROACHES = ['distributed', 'federated'] as const;
export type Approach = (typeof APPROACHES)[number];

export interface GraphInfo {
  name: string;
  algorithm: string;
  approach: Approach;
  /** A federated graph's rules (graph/federated.ts); absent for a distributed one. */
  rules?: FederatedRules;
}

export interface GraphData {
  info: GraphInfo;
  nodes: GraphNode[];
  /** Persisted names, in the order they were persisted. */
  persist: Map<string, ValueRef>;
}

export function outputsOf(n: GraphNode): OutputMeta[] {
  return n.kind === 'const' ? [{ shape: n.shape, dtype: n.dtype }] : n.outputs;
}

/**
 * Keeps only the nodes some root needs (in order) and renumbers them, reusing the node objects
 * (the caller gives up the old graph); returns the new graph and each old node's new number
 * (-1 when dropped).
 */
export function prune(g: GraphData, roots: readonly ValueRef[]): { graph: GraphData; renumber: Int32Array } {
  const n = g.nodes.length;
  const needed = new Uint8Array(n);
  for (const [r] of roots) needed[r] = 1;
  for (let i = n - 1; i >= 0; i--) {
    const node = g.nodes[i]!;
    if (!needed[i] || node.kind === 'const') continue;
    for (const r of node.inputs) if (r) needed[r[0]] = 1;
  }
  const renumber = new Int32Array(n).fill(-1);
  const nodes: GraphNode[] = [];
  for (let i = 0; i < n; i++) {
    if (!needed[i]) continue;
    renumber[i] = nodes.length;
    const node = g.nodes[i]!;
    if (node.kind === 'op') node.inputs = node.inputs.map((r) => (r ? ([renumber[r[0]]!, r[1]] as const) : null));
    nodes.push(node);
  }
  const persist = new Map<string, ValueRef>();
  for (const [name, [k, o]] of g.persist) persist.set(name, [renumber[k]!, o]);
  return { graph: { info: g.info, nodes, persist }, renumber };
}
