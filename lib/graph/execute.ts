// The executor: runs a graph's nodes in order on the native engine, frees each value after its
// last consumer, reports progress and persisted values as they are computed, and yields to the
// event loop between slices of work so a server or a progress bar in the same process keeps
// running. The same executor runs a whole graph in-process and a subgraph on a provider.
import { GraphError, RavdlError } from '../errors.js';
import { no_grad } from '../autograd/mode.js';
import { dispatch, getOp, withoutRecording } from '../ops/define.js';
import type { Data } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';
import type { ConstNode, GraphData, ValueRef } from './graph-data.js';

export interface RunProgress {
  /** Nodes computed so far, of `total`. */
  done: number;
  total: number;
  /** Persisted names computed so far. */
  persisted: number;
  persistedTotal: number;
}

export interface ExecuteOptions {
  /** The data of a constant node (from memory or its blob). */
  constData(node: ConstNode, id: number): Data;
  /** Values to return besides the persisted ones (e.g. the final values of variables). */
  keep?: readonly ValueRef[];
  onProgress?: (p: RunProgress) => void;
  /** Called once per persisted name as soon as its value is computed. */
  onPersisted?: (name: string, value: Tensor) => void;
  signal?: AbortSignal;
  /** Longest stretch of work between two yields to the event loop, in ms (default 20). */
  sliceMs?: number;
}

export interface ExecuteResult {
  persisted: Map<string, Tensor>;
  /** The values of options.keep, in order. */
  kept: Tensor[];
}

const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

export async function executeGraph(g: GraphData, opts: ExecuteOptions): Promise<ExecuteResult> {
  const { nodes } = g;
  // How many later nodes read each value; persisted and kept values are never freed.
  const readers: Int32Array[] = nodes.map((n) => new Int32Array(n.kind === 'const' ? 1 : n.outputs.length));
  for (const n of nodes) if (n.kind === 'op') for (const r of n.inputs) if (r) readers[r[0]]![r[1]]!++;
  const held = new Set<string>();
  const persistAt = new Map<number, string[]>();
  for (const [name, [n, o]] of g.persist) {
    held.add(`${n}:${o}`);
    persistAt.set(n, [...(persistAt.get(n) ?? []), name]);
  }
  for (const [n, o] of opts.keep ?? []) held.add(`${n}:${o}`);

  const values: (Tensor | null)[][] = nodes.map(() => []);
  const persisted = new Map<string, Tensor>();
  const sliceMs = opts.sliceMs ?? 20;
  const progress = (done: number) => opts.onProgress?.({ done, total: nodes.length, persisted: persisted.size, persistedTotal: g.persist.size });
  const freeValue = (n: number, o: number) => {
    if (held.has(`${n}:${o}`)) return;
    values[n]![o]?.dispose();
    values[n]![o] = null;
  };
  try {
    await yieldToLoop(); // never run inside the caller's synchronous tidy() scope
    let sliceStart = performance.now();
    for (let i = 0; i < nodes.length; i++) {
      if (opts.signal?.aborted) throw new GraphError(`execute: aborted at node ${i} of ${nodes.length}`, { cause: opts.signal.reason });
      const node = nodes[i]!;
      if (node.kind === 'const') {
        values[i] = [Tensor._fromPinned(node.shape, opts.constData(node, i))];
      } else {
        const inputs = node.inputs.map((r) => (r ? values[r[0]]![r[1]]! : null));
        try {
          values[i] = withoutRecording(() => no_grad(() => dispatch(getOp(node.op), inputs, node.attrs)));
        } catch (err) {
          const msg = err instanceof Error ? err.message : String(err);
          throw new GraphError(`execute: node ${i} ('${node.op}') failed: ${msg}`, { cause: err });
        }
        for (const r of node.inputs) if (r && --readers[r[0]]![r[1]]! === 0) freeValue(r[0], r[1]);
      }
      values[i]!.forEach((_, o) => readers[i]![o] === 0 && freeValue(i, o));
      for (const name of persistAt.get(i) ?? []) {
        const [n, o] = g.persist.get(name)!;
        const v = values[n]![o]!;
        persisted.set(name, v);
        opts.onPersisted?.(name, v);
      }
      if (performance.now() - sliceStart >= sliceMs) {
        progress(i + 1);
        await yieldToLoop();
        sliceStart = performance.now();
      }
    }
    progress(nodes.length);
    return { persisted, kept: (opts.keep ?? []).map(([n, o]) => values[n]![o]!) };
  } catch (err) {
    // Free everything computed so far but what was already handed out as persisted.
    const handed = new Set(persisted.values());
    for (const vs of values) for (const v of vs) if (v && !handed.has(v)) v.dispose();
    throw err instanceof RavdlError ? err : new GraphError(`execute: ${(err as Error).message}`, { cause: err });
  }
}
