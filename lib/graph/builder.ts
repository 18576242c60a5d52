// Recording: while a graph is being defined, dispatch() hands every op here instead of running
// it. Inputs become references to earlier nodes; a concrete tensor used as an input becomes a
// constant node (its data is pinned, not copied); outputs are symbolic tensors bound to the new
// node. An in-place update (optimizer step, batch-norm running statistics) rebinds its target
// to the new value, so the target acts as a variable of the graph.
import { GraphError } from '../errors.js';
import type { OpDef } from '../ops/define.js';
import { Tensor, shapeStr } from '../tensor/tensor.js';
import type { Storage } from '../tensor/storage.js';
import { type FederatedStat, ruleColumns } from './federated.js';
import type { GraphData, GraphInfo, OutputMeta, ValueRef } from './graph-data.js';

export type BuilderState = 'defining' | 'activated' | 'dropped';

/** Most nodes one graph may record (a guard against a runaway loop filling memory). */
export const MAX_RECORDED_NODES = 20_000_000;

export class GraphBuilder {
  readonly data: GraphData;
  state: BuilderState = 'defining';
  /** Tensors rebound while recording, with the storage each had before (restored if the graph is dropped). */
  readonly variables = new Map<Tensor, Storage | null>();

  constructor(info: GraphInfo) {
    this.data = { info, nodes: [], persist: new Map() };
  }

  get name(): string {
    return this.data.info.name;
  }

  record(def: OpDef<any>, inputs: (Tensor | null)[], outputs: Tensor[], attrs: unknown, metas: readonly OutputMeta[]): void {
    if (this.data.info.rules) throw this.federatedOnly(def.name);
    const nodes = this.data.nodes;
    if (nodes.length >= MAX_RECORDED_NODES) throw new GraphError(`${def.name}: graph '${this.name}' already holds ${MAX_RECORDED_NODES} nodes, the most one graph may record`);
    const refs = inputs.map((x) => (x ? this.valueOf(x, def.name) : null));
    const id = nodes.length;
    nodes.push({ kind: 'op', op: def.name, attrs: (attrs ?? {}) as Record<string, unknown>, inputs: refs, outputs: metas as OutputMeta[] });
    outputs.forEach((o, i) => (o._gv = { graph: this, node: id, output: i }));
  }

  /** The graph value t stands for; a concrete tensor becomes a constant node the first time. */
  valueOf(t: Tensor, where: string): ValueRef {
    const gv = t._gv;
    if (gv && gv.graph === this) return [gv.node, gv.output];
    if (t.isSymbolic) throw new GraphError(`${where}: ${t.toString()} belongs to another graph than '${this.name}'`);
    if (this.data.info.rules) throw this.federatedOnly(where);
    const data = t._data; // DisposedError for a disposed tensor
    t._storage!.pinned = true; // the graph reads this data later: the pool must never reuse it
    const id = this.data.nodes.length;
    this.data.nodes.push({ kind: 'const', shape: [...t.shape], dtype: t.dtype, data, blob: null });
    t._gv = { graph: this, node: id, output: 0 };
    return [id, 0];
  }

  /** A federated statistic (one value per rule column), computed from the providers' data. */
  recordFederated(stat: FederatedStat): Tensor {
    const rules = this.data.info.rules;
    if (!rules) throw new GraphError(`${stat}: graph '${this.name}' is not federated; start one with new R.Graph({ approach: 'federated', rules })`);
    const meta: OutputMeta = { shape: [ruleColumns(rules).length], dtype: 'float32' };
    const id = this.data.nodes.length;
    this.data.nodes.push({ kind: 'op', op: stat, attrs: {}, inputs: [], outputs: [meta] });
    const t = Tensor._symbolic(meta.shape, meta.dtype);
    t._gv = { graph: this, node: id, output: 0 };
    return t;
  }

  private federatedOnly(what: string): GraphError {
    return new GraphError(`${what}: graph '${this.name}' is federated: it holds only federated_mean, federated_variance and federated_standard_deviation (compute with their values once fetched)`);
  }

  /** target now stands for src's value (an in-place update recorded in the graph). */
  assign(target: Tensor, src: Tensor): void {
    const ref = this.valueOf(src, 'assign');
    const before = target._rebind({ graph: this, node: ref[0], output: ref[1] });
    if (!this.variables.has(target)) this.variables.set(target, before);
  }

  persist(t: Tensor, name: string): void {
    if (typeof name !== 'string' || name === '') throw new GraphError(`persist_op: name must be a non-empty string, got ${JSON.stringify(name)}`);
    if (this.data.persist.has(name)) throw new GraphError(`persist_op: graph '${this.name}' already persists an op named '${name}'`);
    this.data.persist.set(name, this.valueOf(t, `persist_op('${name}')`));
  }

  describe(t: Tensor): string {
    const gv = t._gv!;
    const node = this.data.nodes[gv.node];
    const what = node?.kind === 'op' ? `'${node.op}'` : 'a constant';
    const state = this.state === 'defining' ? 'being defined' : this.state;
    return `value ${gv.output} of node ${gv.node} (${what}) of graph '${this.name}' (${state})`;
  }
}

/** A short description of a tensor for error messages. */
export const brief = (t: Tensor): string => `${shapeStr(t.shape)} ${t.dtype}`;
