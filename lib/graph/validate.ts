// Validation of a graph read from outside (a file, the network): everything is checked against
// the op catalog before anything runs. Unknown ops, wrong arity, attributes outside the op's
// schema, input references that are not to an earlier node (so no cycle, nothing dangling),
// recorded shapes and dtypes that re-inference does not reproduce, values over the size limit,
// duplicate or dangling persisted names: each is a GraphError naming the node.
import { GraphError, RavdlError } from '../errors.js';
import { type OpDef, inferCall, ops } from '../ops/define.js';
import { parseAttrs } from '../ops/attrs.js';
import { DTYPES, type DType } from '../tensor/dtype.js';
import { Tensor, numel, shapeStr } from '../tensor/tensor.js';
import { decodeAttrs } from './attrs-json.js';
import { type FederatedRules, isFederatedStat, normalizeRules, ruleColumns } from './federated.js';
import { APPROACHES, type Approach, type GraphData, type GraphNode, type OutputMeta, type ValueRef } from './graph-data.js';

export const GRAPH_FORMAT = 'ravdl-graph';
export const GRAPH_VERSION = 1;

export interface GraphLimits {
  /** Most nodes (default 5,000,000). */
  max_nodes?: number;
  /** Largest value any node may produce, in bytes (default 2 GiB). */
  max_value_bytes?: number;
}

export const DEFAULT_LIMITS: Required<GraphLimits> = { max_nodes: 5_000_000, max_value_bytes: 2 ** 31 };

const SHA256 = /^[0-9a-f]{64}$/;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isIndex = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

function own(o: Record<string, unknown>, k: string): unknown {
  return Object.hasOwn(o, k) ? o[k] : undefined;
}

function meta(v: unknown, where: string, maxBytes: number): OutputMeta {
  if (!isObject(v)) throw new GraphError(`${where}: must be { shape, dtype }`);
  const shape = own(v, 'shape');
  const dtype = own(v, 'dtype');
  if (!Array.isArray(shape) || shape.length > 64 || !shape.every(isIndex)) throw new GraphError(`${where}: shape ${JSON.stringify(shape)?.slice(0, 80)} is not a list of at most 64 non-negative integers`);
  if (typeof dtype !== 'string' || !(DTYPES as readonly string[]).includes(dtype)) throw new GraphError(`${where}: dtype ${JSON.stringify(dtype)} is not one of ${DTYPES.join(', ')}`);
  if (numel(shape) * 4 > maxBytes) throw new GraphError(`${where}: shape ${shapeStr(shape)} needs ${numel(shape) * 4} bytes, over the ${maxBytes}-byte limit for one value (max_value_bytes)`);
  return { shape: shape.slice(), dtype: dtype as DType };
}

/**
 * A GraphData from the parsed graph.json (constants without data yet: the caller checks and
 * attaches their blobs). Throws GraphError at the first problem, naming the node.
 */
export function validateGraphJson(doc: unknown, limits: GraphLimits = {}): GraphData {
  const lim = { ...DEFAULT_LIMITS, ...limits };
  if (!isObject(doc)) throw new GraphError('graph: the document is not a JSON object');
  if (own(doc, 'format') !== GRAPH_FORMAT) throw new GraphError(`graph: format is ${JSON.stringify(own(doc, 'format'))}, expected '${GRAPH_FORMAT}'`);
  const version = own(doc, 'version');
  if (!isIndex(version) || version < 1 || version > GRAPH_VERSION) throw new GraphError(`graph: version ${JSON.stringify(version)} is not one this ravdl reads (1 to ${GRAPH_VERSION})`);
  const name = own(doc, 'name');
  const algorithm = own(doc, 'algorithm');
  const approach = own(doc, 'approach');
  if (typeof name !== 'string' || typeof algorithm !== 'string') throw new GraphError('graph: name and algorithm must be strings');
  if (!(APPROACHES as readonly unknown[]).includes(approach)) throw new GraphError(`graph: approach ${JSON.stringify(approach)} is not 'distributed' or 'federated'`);
  // A federated graph: its rules, and only federated statistics as nodes (one float32 value per rule column).
  let rules: FederatedRules | undefined;
  if (approach === 'federated') rules = normalizeRules(own(doc, 'rules'), 'graph: rules');
  else if (own(doc, 'rules') !== undefined) throw new GraphError(`graph: rules are for approach 'federated' (this graph is '${approach}')`);
  const rawNodes = own(doc, 'nodes');
  if (!Array.isArray(rawNodes)) throw new GraphError('graph: nodes must be an array');
  if (rawNodes.length > lim.max_nodes) throw new GraphError(`graph: ${rawNodes.length} nodes, over the limit of ${lim.max_nodes} (max_nodes)`);

  const catalog = ops();
  const nodes: GraphNode[] = [];
  // Symbolic stand-ins for each node's outputs, to re-infer the next nodes (shapes only, no data).
  const values: Tensor[][] = [];
  rawNodes.forEach((raw, i) => {
    const where = `graph: node ${i}`;
    if (!isObject(raw)) throw new GraphError(`${where}: not an object`);
    const op = own(raw, 'op');
    if (typeof op !== 'string') throw new GraphError(`${where}: op must be a string`);
    if (rules) {
      if (!isFederatedStat(op)) throw new GraphError(`${where}: a federated graph holds only federated_mean, federated_variance and federated_standard_deviation, not ${JSON.stringify(op).slice(0, 80)}`);
      const inputs = own(raw, 'inputs');
      if (inputs !== undefined && (!Array.isArray(inputs) || inputs.length)) throw new GraphError(`${where} ('${op}'): takes no inputs`);
      const outputs = own(raw, 'outputs');
      const want = [ruleColumns(rules).length];
      const m = Array.isArray(outputs) && outputs.length === 1 ? meta(outputs[0], `${where} ('${op}'): output 0`, lim.max_value_bytes) : null;
      if (!m || m.dtype !== 'float32' || shapeStr(m.shape) !== shapeStr(want)) throw new GraphError(`${where} ('${op}'): outputs must be [{ shape: ${shapeStr(want)}, dtype: 'float32' }] (one value per rule column)`);
      nodes.push({ kind: 'op', op, attrs: {}, inputs: [], outputs: [m] });
      values.push([Tensor._symbolic(m.shape, m.dtype)]);
      return;
    }
    if (op === 'const') {
      const blob = own(raw, 'blob');
      if (typeof blob !== 'string' || !SHA256.test(blob)) throw new GraphError(`${where} (const): blob must be a SHA-256 in lowercase hex`);
      const m = meta(raw, `${where} (const)`, lim.max_value_bytes);
      nodes.push({ kind: 'const', shape: m.shape, dtype: m.dtype, data: null, blob });
      values.push([Tensor._symbolic(m.shape, m.dtype)]);
      return;
    }
    const def: OpDef<any> | undefined = catalog.get(op);
    if (!def) throw new GraphError(`${where}: unknown op ${JSON.stringify(op).slice(0, 80)} (not in the op catalog)`);
    const what = `${where} ('${op}')`;
    const rawInputs = own(raw, 'inputs');
    if (!Array.isArray(rawInputs) || rawInputs.length > 1024) throw new GraphError(`${what}: inputs must be an array (at most 1024)`);
    if (!def.variadic && rawInputs.length !== def.inputs.length) throw new GraphError(`${what}: ${rawInputs.length} inputs, the op takes ${def.inputs.length} (${def.inputs.map((s) => s.name).join(', ')})`);
    const inputs: (ValueRef | null)[] = rawInputs.map((r, k) => {
      if (r === null) return null;
      if (!Array.isArray(r) || r.length !== 2 || !isIndex(r[0]) || !isIndex(r[1])) throw new GraphError(`${what}: input ${k} must be [node, output] or null, got ${JSON.stringify(r)?.slice(0, 40)}`);
      if (r[0] >= i) throw new GraphError(`${what}: input ${k} refers to node ${r[0]}, which does not come before it (a cycle or a dangling reference)`);
      if (r[1] >= values[r[0]]!.length) throw new GraphError(`${what}: input ${k} refers to output ${r[1]} of node ${r[0]}, which has ${values[r[0]]!.length}`);
      return [r[0], r[1]] as const;
    });
    let attrs: Record<string, unknown>;
    let metas;
    try {
      attrs = parseAttrs(op, def.attrs, decodeAttrs(own(raw, 'attrs'), what)) as Record<string, unknown>;
      metas = inferCall(def, inputs.map((r) => (r ? values[r[0]]![r[1]]! : null)), attrs);
    } catch (err) {
      if (err instanceof RavdlError) throw new GraphError(`${what}: ${err.message}`, { cause: err });
      throw err;
    }
    const rawOutputs = own(raw, 'outputs');
    if (!Array.isArray(rawOutputs) || rawOutputs.length !== metas.length) throw new GraphError(`${what}: outputs must list ${metas.length} { shape, dtype }`);
    const outputs = rawOutputs.map((o, k) => {
      const m = meta(o, `${what}: output ${k}`, lim.max_value_bytes);
      const want = metas[k]!;
      if (m.dtype !== want.dtype || shapeStr(m.shape) !== shapeStr(want.shape)) {
        throw new GraphError(`${what}: output ${k} is recorded as ${shapeStr(m.shape)} ${m.dtype}, but the op makes ${shapeStr(want.shape)} ${want.dtype} from its inputs`);
      }
      return m;
    });
    nodes.push({ kind: 'op', op, attrs, inputs, outputs });
    values.push(outputs.map((m) => Tensor._symbolic(m.shape, m.dtype)));
  });

  const rawPersist = own(doc, 'persist');
  if (!Array.isArray(rawPersist)) throw new GraphError('graph: persist must be an array of { name, node, output }');
  const persist = new Map<string, ValueRef>();
  rawPersist.forEach((p, k) => {
    const where = `graph: persist[${k}]`;
    if (!isObject(p)) throw new GraphError(`${where}: must be { name, node, output }`);
    const pname = own(p, 'name');
    const node = own(p, 'node');
    const output = own(p, 'output');
    if (typeof pname !== 'string' || pname === '') throw new GraphError(`${where}: name must be a non-empty string`);
    if (persist.has(pname)) throw new GraphError(`${where}: the name '${pname}' is persisted twice`);
    if (!isIndex(node) || node >= nodes.length || !isIndex(output) || output >= values[node]!.length) throw new GraphError(`${where} ('${pname}'): refers to a value that does not exist (node ${JSON.stringify(node)}, output ${JSON.stringify(output)})`);
    persist.set(pname, [node, output]);
  });
  for (const vs of values) for (const v of vs) v.dispose();
  return { info: rules ? { name, algorithm, approach: approach as Approach, rules } : { name, algorithm, approach: approach as Approach }, nodes, persist };
}
