// The in-memory form of a graph: nodes in execution order (every input refers to an earlier
// node), constants with their data or their blob's SHA-256, and the persisted names.
import type { DType, Data } from '../tensor/dtype.js';

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
 * Keeps only the nodes some root needs (in order) and renumbers them; returns the new graph
 * and the renumbering of every kept node.
 */
export function prune(g: GraphData, roots: readonly ValueRef[]): { graph: GraphData; renumber: Map<number, number> } {
  const needed = new Uint8Array(g.nodes.length);
  for (const [n] of roots) needed[n] = 1;
  for (let i = g.nodes.length - 1; i >= 0; i--) {
    const node = g.nodes[i]!;
    if (!needed[i] || node.kind === 'const') continue;
    for (const r of node.inputs) if (r) needed[r[0]] = 1;
  }
  const renumber = new Map<number, number>();
  const nodes: GraphNode[] = [];
  g.nodes.forEach((n, i) => {
    if (!needed[i]) return;
    renumber.set(i, nodes.length);
    nodes.push(n.kind === 'const' ? n : { ...n, inputs: n.inputs.map((r) => (r ? ([renumber.get(r[0])!, r[1]] as const) : null)) });
  });
  const persist = new Map<string, ValueRef>();
  for (const [name, [n, o]] of g.persist) persist.set(name, [renumber.get(n)!, o]);
  return { graph: { info: g.info, nodes, persist }, renumber };
}
