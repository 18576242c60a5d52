// A subgraph as a self-contained graph a provider runs with the ordinary validator and executor:
// its inputs (values other subgraphs produced) become constants named by their result blobs'
// SHA-256, the constants it reads are copied in, and each of its outputs is persisted under
// "<node>:<output>" (ids of the full graph).
import { GraphError } from '../errors.js';
import type { GraphData, GraphNode, ValueRef } from '../graph/graph-data.js';
import { outputsOf } from '../graph/graph-data.js';

export interface Subgraph {
  /** Position in the partition (dependencies come first). */
  index: number;
  /** Op nodes of the full graph it computes, in order. */
  nodes: number[];
  /** Values it reads that other subgraphs produce ([node, output] of the full graph). */
  inputs: ValueRef[];
  /** Values it produces that other subgraphs read or that are persisted. */
  outputs: ValueRef[];
  /** Indices of the subgraphs whose outputs it reads. */
  deps: number[];
  /** Estimated work (FLOPs) and bytes in (inputs and constants) and out. */
  flops: number;
  bytesIn: number;
  bytesOut: number;
}

export const refKey = ([n, o]: ValueRef): string => `${n}:${o}`;

/**
 * The graph a provider runs for `sub`. `inputHash(ref)` gives the SHA-256 of the result blob of
 * each input (known once the subgraph producing it is done).
 */
export function subgraphGraph(g: GraphData, sub: Subgraph, inputHash: (ref: ValueRef) => string): GraphData {
  const nodes: GraphNode[] = [];
  const map = new Map<string, ValueRef>(); // full-graph value -> value in the subgraph
  const constOf = new Map<number, number>(); // full-graph const node -> subgraph node
  for (const ref of sub.inputs) {
    const src = g.nodes[ref[0]];
    if (!src) throw new GraphError(`subgraph ${sub.index}: input ${refKey(ref)} is not a node of the graph`);
    const meta = outputsOf(src)[ref[1]]!;
    map.set(refKey(ref), [nodes.length, 0]);
    nodes.push({ kind: 'const', shape: meta.shape, dtype: meta.dtype, data: null, blob: inputHash(ref) });
  }
  const resolve = (r: ValueRef | null): ValueRef | null => {
    if (!r) return null;
    const src = g.nodes[r[0]]!;
    if (src.kind === 'const') {
      let id = constOf.get(r[0]);
      if (id === undefined) {
        id = nodes.length;
        nodes.push({ ...src });
        constOf.set(r[0], id);
      }
      return [id, 0];
    }
    const m = map.get(refKey(r));
    if (!m) throw new GraphError(`subgraph ${sub.index}: value ${refKey(r)} is neither computed in it nor one of its inputs`);
    return m;
  };
  for (const id of sub.nodes) {
    const n = g.nodes[id]!;
    if (n.kind === 'const') throw new GraphError(`subgraph ${sub.index}: node ${id} is a constant, not an op`);
    const inputs = n.inputs.map(resolve);
    n.outputs.forEach((_, o) => map.set(`${id}:${o}`, [nodes.length, o]));
    nodes.push({ ...n, inputs });
  }
  const persist = new Map<string, ValueRef>();
  for (const ref of sub.outputs) {
    const m = map.get(refKey(ref));
    if (!m) throw new GraphError(`subgraph ${sub.index}: output ${refKey(ref)} is not computed in it`);
    persist.set(refKey(ref), m);
  }
  return { info: { ...g.info, name: `${g.info.name}#${sub.index}` }, nodes, persist };
}
