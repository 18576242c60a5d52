// The seed's requester API on the current graph: R.initialize, R.flush, R.Graph, R.activate,
// R.execute, R.track_progress, R.fetch_persisting_op, and tensor.persist_op. Without a server
// a graph runs in this process; with one, R.execute() sends it to that coordinator.
import { GraphError } from './errors.js';
import { type ExecuteRunOptions, Graph, type GraphExecutor, type GraphProgress, localExecutor } from './graph/graph.js';
import { type AttrSchema, abortSignal, nullable, parseAttrs } from './ops/attrs.js';
import { MAX_REPLICAS } from './ravenverse/protocol.js';
import { Tensor } from './tensor/tensor.js';

export interface InitializeOptions {
  /** URL of a Ravenverse coordinator; without it graphs execute in this process. */
  server?: string | null;
  /**
   * With a server: verification by replication, each subgraph's results taken only once providers
   * of this many different tokens returned the same bytes (default 1: none; at most 3).
   */
  replicas?: number;
}

interface Session {
  token: string | null;
  server: string | null;
  replicas: number;
}
const session: Session = { token: null, server: null, replicas: 1 };

/** Remote executors by URL scheme, installed by the Ravenverse client when it is loaded. */
let remoteExecutor: ((server: string, token: string | null, options: { replicas: number }) => GraphExecutor) | null = null;

/** @internal the Ravenverse client registers how to run a graph on a coordinator. */
export function setRemoteExecutor(factory: (server: string, token: string | null, options: { replicas: number }) => GraphExecutor): void {
  remoteExecutor = factory;
}

/** Keeps the token (for a coordinator) and chooses where graphs run: `server` or this process. */
export function initialize(token: string | null = null, options: InitializeOptions = {}): void {
  if (token !== null && typeof token !== 'string') throw new GraphError(`initialize: token must be a string, got ${typeof token}`);
  if (options === null || typeof options !== 'object') throw new GraphError('initialize: options must be an object');
  const server = options.server ?? null;
  if (server !== null) {
    let url: URL;
    try {
      url = new URL(server);
    } catch {
      throw new GraphError(`initialize: server must be a URL such as http://127.0.0.1:8080, got ${JSON.stringify(server)}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new GraphError(`initialize: server must be an http(s) URL, got ${JSON.stringify(server)}`);
  }
  const replicas = options.replicas ?? 1;
  if (!Number.isSafeInteger(replicas) || replicas < 1 || replicas > MAX_REPLICAS) throw new GraphError(`initialize: replicas must be an integer from 1 to ${MAX_REPLICAS}, got ${JSON.stringify(options.replicas)}`);
  if (replicas > 1 && server === null) throw new GraphError('initialize: replicas (verification by replication) needs a server: graphs in this process are not replicated');
  session.token = token;
  session.server = server;
  session.replicas = replicas;
}

/** Drops the current graph and its results (the seed calls it before defining a new graph). */
export function flush(): void {
  Graph.current()?.drop();
}

function currentGraph(where: string): Graph {
  const g = Graph.current();
  if (!g) throw new GraphError(`${where}: no graph; start one with new R.Graph({ name, algorithm, approach })`);
  return g;
}

/** Freezes the current graph: adding an op afterwards is an error. */
export function activate(): void {
  currentGraph('activate').activate();
}

/** `signal`: stops the run when aborted (a local run at its next op, a run on a coordinator there); execute() then rejects with an AbortError. */
export type ExecuteOptions = ExecuteRunOptions;

const EXECUTE_SCHEMA: AttrSchema<{ signal: AbortSignal | null }> = { signal: { check: nullable(abortSignal), default: null } };

/** Runs the current (activated) graph; resolves when it ends. */
export function execute(options: ExecuteOptions = {}): Promise<void> {
  const signal = parseAttrs('execute', EXECUTE_SCHEMA, options).signal ?? undefined;
  const g = currentGraph('execute');
  let executor = localExecutor;
  if (session.server !== null) {
    if (!remoteExecutor) {
      throw new GraphError(`execute: running graphs on a coordinator (${session.server}) needs the Ravenverse client, which this build does not include; call R.initialize(token) without a server to run in this process`);
    }
    executor = remoteExecutor(session.server, session.token, { replicas: session.replicas });
  }
  const run = g.execute(executor, { signal });
  run.catch(() => {}); // the failure is reported by whoever awaits execute() or track_progress()
  return run;
}

export interface TrackProgressOptions {
  /** Where the progress bar goes (default process.stdout); null for none. */
  stream?: { write(s: string): unknown; isTTY?: boolean } | null;
  /** Called on every progress report. */
  onProgress?: (p: GraphProgress) => void;
}

/** Shows the progress of the current graph's run; resolves when it ends (rejects if it failed). */
export async function track_progress(options: TrackProgressOptions = {}): Promise<void> {
  const g = currentGraph('track_progress');
  const out = options.stream === undefined ? process.stdout : options.stream;
  let lastLine = '';
  const draw = (p: GraphProgress) => {
    options.onProgress?.(p);
    if (!out) return;
    const frac = p.nodesTotal ? p.nodesDone / p.nodesTotal : 1;
    const width = 30;
    const bar = '='.repeat(Math.round(frac * width)).padEnd(width, '.');
    const line = `graph '${g.name}' [${bar}] ${(frac * 100).toFixed(0)}% - ${p.persistedDone}/${p.persistedTotal} persisted ops ready - ${p.status}`;
    if (line === lastLine) return;
    lastLine = line;
    out.write(out.isTTY ? `\r${line}\x1b[K` : `${line}\n`);
  };
  try {
    await g.wait(draw);
  } finally {
    draw(g.snapshot());
    if (out?.isTTY) out.write('\n');
  }
}

/** The value persisted under op_name: `fetch_persisting_op('name')` or `fetch_persisting_op({ op_name: 'name' })`. */
export function fetch_persisting_op(op_name: string | { op_name: string }): Tensor {
  const name = typeof op_name === 'object' && op_name !== null ? op_name.op_name : op_name;
  return currentGraph('fetch_persisting_op').fetch(name);
}

/**
 * Federated analytics (a graph with approach 'federated'): the mean, variance and standard
 * deviation of each rule column over the data of max_clients providers, which never leaves their
 * machines. Each is one value per column, in the order of the sorted column names
 * (graph.federatedColumns); persist it, execute, and fetch it as any other value.
 */
export function federated_mean(): Tensor {
  return currentGraph('federated_mean')._federated('federated_mean');
}

/** The population variance (divided by n) of each rule column over the providers' data. */
export function federated_variance(): Tensor {
  return currentGraph('federated_variance')._federated('federated_variance');
}

/** The standard deviation (square root of the population variance) of each rule column over the providers' data. */
export function federated_standard_deviation(): Tensor {
  return currentGraph('federated_standard_deviation')._federated('federated_standard_deviation');
}

declare module './tensor/tensor.js' {
  interface Tensor {
    /** Marks this value of the graph being defined to be kept under `name` (fetch it with R.fetch_persisting_op). */
    persist_op(name: string | { name: string }): this;
  }
}

Tensor.prototype.persist_op = function (this: Tensor, name: string | { name: string }) {
  const n = typeof name === 'object' && name !== null ? name.name : name;
  const g = Graph.current();
  if (!g || g.status !== 'defining') throw new GraphError(`persist_op('${String(n)}'): no graph is being defined (start one with new R.Graph(...))`);
  g.persist(this, n);
  return this;
};

export { Graph };
export type { GraphOptions, GraphProgress, GraphStatus } from './graph/graph.js';
