// The executor: runs a graph's nodes in order on the native engine, frees each value after its
// last consumer, reports progress and persisted values as they are computed, and yields to the
// event loop between slices of work so a server or a progress bar in the same process keeps
// running. The same executor runs a whole graph in-process and a subgraph on a provider.
import { AbortError, GraphError, RavdlError } from '../errors.js';
import { dispatchKnown, getOp } from '../ops/define.js';
import type { Data } from '../tensor/dtype.js';
import type { Device } from '../tensor/device.js';
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
  /**
   * Where the graph runs (default 'cpu'): constants are copied there once each, and values an op
   * makes on the host (ops without inputs, such as full) are moved there. Persisted and kept
   * values stay on it.
   */
  device?: Device;
}

export interface ExecuteResult {
  persisted: Map<string, Tensor>;
  /** The values of options.keep, in order. */
  kept: Tensor[];
}

const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

export async function executeGraph(g: GraphData, opts: ExecuteOptions): Promise<ExecuteResult> {
  const { nodes } = g;
  if (g.info.rules) throw new GraphError(`graph '${g.info.name}' is federated: a coordinator computes it from its providers' statistics, no executor runs it`);
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
  const device = opts.device ?? 'cpu';
  const progress = (done: number) => opts.onProgress?.({ done, total: nodes.length, persisted: persisted.size, persistedTotal: g.persist.size });
  /**
   * For an op that may update inputs in place: the inputs nothing reads after node i (not held,
   * not a constant, not shared by a view) become its outputs; they are no longer values of their own.
   */
  const reusable = (pairs: readonly (readonly [number, number])[], nOut: number, i: number): (Tensor | null)[] | null => {
    const node = nodes[i] as Extract<typeof nodes[number], { kind: 'op' }>;
    let given: (Tensor | null)[] | null = null;
    for (const [o, k] of pairs) {
      const r = node.inputs[k];
      if (!r || o >= nOut || readers[r[0]]![r[1]] !== 1 || held.has(`${r[0]}:${r[1]}`) || nodes[r[0]]!.kind === 'const') continue;
      if (node.inputs.some((q, j) => j !== k && q && q[0] === r[0] && q[1] === r[1])) continue;
      const v = values[r[0]]![r[1]]!;
      if (v._storage?.refs !== 1 || v._storage.pinned) continue;
      given ??= new Array<Tensor | null>(nOut).fill(null);
      given[o] = v;
      values[r[0]]![r[1]] = null; // now the output: the read below must not free it
    }
    return given;
  };
  const freeValue = (n: number, o: number) => {
    if (held.has(`${n}:${o}`)) return;
    values[n]![o]?.dispose();
    values[n]![o] = null;
  };
  try {
    await yieldToLoop(); // never run inside the caller's synchronous tidy() scope
    let sliceStart = performance.now();
    for (let i = 0; i < nodes.length; i++) {
      if (opts.signal?.aborted) throw new AbortError(`execute: aborted at node ${i} of ${nodes.length}`, { cause: opts.signal.reason });
      const node = nodes[i]!;
      if (node.kind === 'const') {
        values[i] = [Tensor._fromPinned(node.shape, opts.constData(node, i))];
        if (device !== 'cpu') values[i] = [values[i]![0]!._relocate(device)]; // the pinned data stays its owner's
      } else {
        const def = getOp(node.op);
        const inputs = node.inputs.map((r) => (r ? values[r[0]]![r[1]]! : null));
        try {
          const given = def.inplace ? reusable(def.inplace, node.outputs.length, i) : null;
          values[i] = dispatchKnown(def, inputs, node.attrs, node.outputs, given);
          if (device !== 'cpu') values[i] = values[i]!.map((v) => v?._relocate(device) ?? v);
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
