// R.Graph: a whole computation recorded as data. While a graph is being defined every catalog op
// records a node instead of computing (shapes and dtypes are inferred); activate() freezes it;
// execute() runs it (in-process by default, or through an executor a remote client installs);
// fetch() reads a persisted value by name, also while the run is still going.
import { GraphError } from '../errors.js';
import { setGraphRecorder } from '../ops/define.js';
import { Storage } from '../tensor/storage.js';
import { type Tensor, setGraphHooks } from '../tensor/tensor.js';
import { GraphBuilder } from './builder.js';
import { executeGraph } from './execute.js';
import { type LoadGraphOptions, loadGraph, saveGraph } from './format.js';
import { type FederatedRules, type FederatedStat, normalizeRules, ruleColumns } from './federated.js';
import { APPROACHES, type Approach, type ConstNode, type GraphData, type GraphInfo, type ValueRef, prune } from './graph-data.js';
import type { Data } from '../tensor/dtype.js';

export interface GraphOptions {
  /** Any string (default 'graph'). */
  name?: string;
  /** Any string describing the algorithm (default ''). */
  algorithm?: string;
  /** 'distributed' (default) or 'federated'. */
  approach?: Approach;
  /**
   * A federated graph's rules (required for approach 'federated'): the columns it wants from the
   * providers' data, each with optional bounds, and how many providers must contribute, as an
   * object or its JSON text: { rules: { age: { min: 18, max: 80 }, fund: {} }, max_clients: 3 }.
   */
  rules?: FederatedRules | string;
}

export type GraphStatus = 'defining' | 'activated' | 'running' | 'done' | 'failed' | 'dropped';

export interface GraphProgress {
  status: GraphStatus;
  nodesDone: number;
  nodesTotal: number;
  persistedDone: number;
  persistedTotal: number;
}

/** Runs an activated graph somewhere (in-process by default); resolves with its persisted values. */
export interface ExecuteRunOptions {
  /** Stops the run: a local one at its next op, a remote one on the coordinator (its copy is deleted there). */
  signal?: AbortSignal;
}

export type GraphExecutor = (graph: Graph, report: (p: Omit<GraphProgress, 'status'>) => void, onPersisted: (name: string, v: Tensor) => void, options: ExecuteRunOptions) => Promise<void>;

let current: Graph | null = null;

export class Graph {
  readonly name: string;
  readonly algorithm: string;
  readonly approach: Approach;
  /** A federated graph's rules (normalized: columns sorted by name, the order of each statistic's values); null otherwise. */
  readonly rules: FederatedRules | null;
  private builder: GraphBuilder | null;
  private frozen: GraphData | null = null;
  /** Each variable's final value in the frozen graph. */
  private variableRefs = new Map<Tensor, ValueRef>();
  private _status: GraphStatus = 'defining';
  private results = new Map<string, Tensor>();
  /** Run when the graph is dropped: an executor's clean-up elsewhere (the coordinator's copy). */
  private dropHooks: (() => void)[] = [];
  private progress = { nodesDone: 0, nodesTotal: 0, persistedDone: 0, persistedTotal: 0 };
  private listeners = new Set<(p: GraphProgress) => void>();
  private run: Promise<void> | null = null;
  private failure: unknown = null;

  /** Starts defining a graph: from now on ops record into it (as in the seed, it becomes the current graph). */
  constructor(options: GraphOptions = {}, loaded?: GraphData) {
    if (options === null || typeof options !== 'object') throw new GraphError(`Graph: options must be an object, got ${String(options)}`);
    const { name = 'graph', algorithm = '', approach = 'distributed', rules } = options;
    if (typeof name !== 'string' || typeof algorithm !== 'string') throw new GraphError(`Graph: name and algorithm must be strings`);
    if (!(APPROACHES as readonly unknown[]).includes(approach)) {
      throw new GraphError(`Graph: approach must be 'distributed' or 'federated', got ${JSON.stringify(approach)}`);
    }
    if (current?._status === 'defining') {
      throw new GraphError(`Graph: graph '${current.name}' is still being defined; call R.activate() or R.flush() before starting another`);
    }
    if (approach === 'federated' && rules === undefined) throw new GraphError(`Graph: a federated graph needs rules: { rules: { column: { min?, max? } }, max_clients }`);
    if (approach !== 'federated' && rules !== undefined) throw new GraphError(`Graph: rules are for approach 'federated' (this graph is '${approach}')`);
    const normalized = rules === undefined ? undefined : normalizeRules(rules);
    this.name = name;
    this.algorithm = algorithm;
    this.approach = approach;
    this.rules = normalized ?? null;
    current = this;
    if (loaded) {
      // A graph read from a file: activated already, nothing to record.
      this.builder = null;
      this.frozen = loaded;
      this._status = 'activated';
      this.progress = { nodesDone: 0, nodesTotal: loaded.nodes.length, persistedDone: 0, persistedTotal: loaded.persist.size };
      setGraphRecorder(null);
      return;
    }
    const info: GraphInfo = normalized ? { name, algorithm, approach, rules: normalized } : { name, algorithm, approach };
    this.builder = new GraphBuilder(info);
    setGraphRecorder(this.builder);
  }

  /**
   * Reads a graph written by save(dir), validating every node against the op catalog and every
   * constant against its SHA-256 before anything runs. It becomes the current graph, activated.
   */
  static load(dir: string, options: LoadGraphOptions = {}): Graph {
    const data = loadGraph(dir, options);
    return new Graph(data.info, data);
  }

  /** Writes the activated graph into dir: graph.json and one content-addressed blob per distinct constant. */
  save(dir: string): void {
    saveGraph(dir, this.data, (n) => this.constData(n));
  }

  /** The graph being defined or last defined in this process (R.activate() etc. act on it). */
  static current(): Graph | null {
    return current;
  }

  get status(): GraphStatus {
    return this._status;
  }

  /** Nodes recorded so far (while defining) or in the frozen graph. */
  get nodeCount(): number {
    return (this.frozen ?? this.builder?.data)?.nodes.length ?? 0;
  }

  /** The frozen graph (after activate()). */
  get data(): GraphData {
    if (!this.frozen) throw new GraphError(`graph '${this.name}' is ${this._status}; activate it first`);
    return this.frozen;
  }

  /** The columns of a federated graph, in the order of its statistics' values. */
  get federatedColumns(): string[] {
    return this.rules ? ruleColumns(this.rules) : [];
  }

  /** @internal records a federated statistic (R.federated_mean() etc.). */
  _federated(stat: FederatedStat): Tensor {
    if (this._status !== 'defining' || !this.builder) throw new GraphError(`${stat}: graph '${this.name}' is ${this._status}; ops can be added only while it is being defined`);
    return this.builder.recordFederated(stat);
  }

  /** Marks t's value to be kept and fetched by name after (or while) the graph runs. */
  persist(t: Tensor, name: string): void {
    if (this._status !== 'defining' || !this.builder) throw new GraphError(`persist_op('${name}'): graph '${this.name}' is ${this._status}; ops can be persisted only while it is being defined`);
    this.builder.persist(t, name);
  }

  /** Freezes the graph: no op can be added any more; keeps only what persisted values and variables need. */
  activate(): this {
    if (this._status !== 'defining' || !this.builder) throw new GraphError(`activate: graph '${this.name}' is ${this._status}, not being defined`);
    const b = this.builder;
    const vars = [...b.variables.keys()];
    const roots: ValueRef[] = [...b.data.persist.values(), ...vars.map((t) => [t._gv!.node, t._gv!.output] as const)];
    const { graph, renumber } = prune(b.data, roots);
    this.frozen = graph;
    for (const t of vars) this.variableRefs.set(t, [renumber[t._gv!.node]!, t._gv!.output]);
    b.state = 'activated';
    this._status = 'activated';
    if (current === this) setGraphRecorder(null);
    this.progress = { nodesDone: 0, nodesTotal: graph.nodes.length, persistedDone: 0, persistedTotal: graph.persist.size };
    return this;
  }

  /**
   * Runs the activated graph (in this process unless an executor is given); resolves when it
   * ends. Persisted values can be fetched as soon as each is computed. Variables of the model
   * (its parameters, optimizer state, batch-norm statistics) take their final values.
   */
  execute(executor: GraphExecutor = localExecutor, options: ExecuteRunOptions = {}): Promise<void> {
    if (this._status === 'defining') throw new GraphError(`execute: graph '${this.name}' is still being defined; call R.activate() first`);
    if (this._status !== 'activated') throw new GraphError(`execute: graph '${this.name}' is ${this._status}; a graph runs once (define a new one, or load it again)`);
    if (this.rules && executor === localExecutor) {
      throw new GraphError(`execute: graph '${this.name}' is federated: its statistics come from data on the providers' machines, so it runs on a coordinator (R.initialize(token, { server }))`);
    }
    this._status = 'running';
    this.emit();
    this.run = executor(
      this,
      (p) => {
        this.progress = p;
        this.emit();
      },
      (name, v) => void this.results.set(name, v),
      options,
    ).then(
      () => {
        this._status = 'done';
        this.emit();
      },
      (err) => {
        this._status = 'failed';
        this.failure = err;
        this.emit();
        throw err;
      },
    );
    return this.run;
  }

  /** Resolves when the run ends (rejects if it failed); calls onProgress on every progress report. */
  async wait(onProgress?: (p: GraphProgress) => void): Promise<void> {
    if (!this.run) throw new GraphError(`track_progress: graph '${this.name}' is ${this._status}, not running; call R.execute() first`);
    if (onProgress) this.listeners.add(onProgress);
    try {
      onProgress?.(this.snapshot());
      await this.run;
    } finally {
      if (onProgress) this.listeners.delete(onProgress);
    }
  }

  snapshot(): GraphProgress {
    return { status: this._status, ...this.progress };
  }

  /** The value persisted under name; a GraphError says whether it was never persisted or is not computed yet. */
  fetch(name: string): Tensor {
    if (typeof name !== 'string') throw new GraphError(`fetch_persisting_op: op_name must be a string, got ${String(name)}`);
    const got = this.results.get(name);
    if (got) return got;
    const names = this.frozen ? this.frozen.persist : this.builder?.data.persist;
    if (!names?.has(name)) {
      const known = [...(names?.keys() ?? [])];
      throw new GraphError(`fetch_persisting_op: graph '${this.name}' persists no op named '${name}'${known.length ? ` (it persists ${known.length}: ${known.slice(0, 5).map((k) => `'${k}'`).join(', ')}${known.length > 5 ? ', ...' : ''})` : ''}`);
    }
    if (this._status === 'failed') throw new GraphError(`fetch_persisting_op: '${name}' was not computed: the run of graph '${this.name}' failed (${(this.failure as Error)?.message ?? this.failure})`);
    throw new GraphError(`fetch_persisting_op: '${name}' is not computed yet (graph '${this.name}' is ${this._status}${this._status === 'running' ? `, ${this.progress.nodesDone}/${this.progress.nodesTotal} nodes done` : ''})`);
  }

  /** Forgets the graph: recording stops, results are dropped, variables take back the values they had before it. */
  drop(): void {
    const b = this.builder;
    if (b && this._status !== 'done') {
      for (const [t, before] of b.variables) if (before && t._gv?.graph === b) t._restore(before);
    }
    if (b) b.state = 'dropped';
    this._status = 'dropped';
    this.results.clear();
    for (const fn of this.dropHooks.splice(0)) {
      try {
        fn();
      } catch {
        /* a clean-up elsewhere never stops the drop */
      }
    }
    if (current === this) {
      setGraphRecorder(null);
      current = null;
    }
  }

  /** @internal runs fn when the graph is dropped (R.flush()): the remote executor deletes the coordinator's copy. */
  _onDrop(fn: () => void): void {
    this.dropHooks.push(fn);
  }

  /** @internal the constants' data while the graph is in memory. */
  constData(node: ConstNode): Data {
    if (!node.data) throw new GraphError(`graph '${this.name}': constant ${node.blob ?? ''} has no data in memory`);
    return node.data;
  }

  /** @internal after a local run: the variables take their final values. */
  settleVariables(values: Map<Tensor, Tensor>): void {
    for (const [t, v] of values) if (t._gv?.graph === this.builder) t._restore(new Storage(v._data.slice()));
  }

  /** @internal */
  variableValues(): Map<Tensor, ValueRef> {
    return this.variableRefs;
  }

  private emit(): void {
    const p = this.snapshot();
    for (const l of this.listeners) l(p);
  }
}

/** Runs the graph in this process on the native engine. */
export const localExecutor: GraphExecutor = async (graph, report, onPersisted, options) => {
  const vars = [...graph.variableValues()];
  const result = await executeGraph(graph.data, {
    signal: options.signal,
    constData: (n) => graph.constData(n),
    keep: vars.map(([, r]) => r),
    onPersisted,
    onProgress: (p) => report({ nodesDone: p.done, nodesTotal: p.total, persistedDone: p.persisted, persistedTotal: p.persistedTotal }),
  });
  graph.settleVariables(new Map(vars.map(([t], i) => [t, result.kept[i]!])));
};

// Symbolic tensors describe themselves through their graph; in-place updates rebind while recording.
setGraphHooks(
  (t) => (t._gv?.graph instanceof GraphBuilder ? t._gv.graph.describe(t) : 'a value of a graph'),
  (target, src) => {
    const b = current?.status === 'defining' ? current['builder'] : null;
    if (b) {
      b.assign(target, src);
      return true;
    }
    if (target.isSymbolic) throw new GraphError(`assign: ${target.toString()} cannot be updated now (its graph is not being defined)`);
    return false;
  },
);
