// The graph file format (version 1), data only:
//   <dir>/graph.json                 nodes, persisted names, metadata (see the README)
//   <dir>/blobs/<sha256>.safetensors one tensor named "value" per constant, named by the SHA-256
//                                    of the file's bytes, so equal constants are stored once
// Writing is atomic per file (graph.json last); reading checks every blob's size, hash, dtype
// and shape against the node that names it before anything runs.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { GraphError, RavdlError } from '../errors.js';
import { checkLimit, checkPath, readRegularFile, writeFileAtomic } from '../io/files.js';
import { SafetensorsFile, encode_safetensors } from '../io/safetensors.js';
import type { Data } from '../tensor/dtype.js';
import { Tensor, shapeStr } from '../tensor/tensor.js';
import { encodeAttrs } from './attrs-json.js';
import type { ConstNode, GraphData } from './graph-data.js';
import { GRAPH_FORMAT, GRAPH_VERSION, type GraphLimits, validateGraphJson } from './validate.js';

export interface LoadGraphOptions extends GraphLimits {
  /** Largest graph.json accepted, in bytes (default 1 GiB). */
  max_json_bytes?: number;
  /** Most bytes of constants in all (default 8 GiB). */
  max_blob_bytes?: number;
}

const DEFAULT_JSON_BYTES = 2 ** 30;
const DEFAULT_BLOB_BYTES = 2 ** 33;
const BLOB_TENSOR = 'value';

/** The safetensors bytes of one constant and their SHA-256 (hex). */
export function encodeBlob(shape: readonly number[], data: Data): { bytes: Uint8Array; sha256: string } {
  const t = Tensor._fromPinned(shape, data);
  const bytes = encode_safetensors({ [BLOB_TENSOR]: t });
  t.dispose();
  return { bytes, sha256: createHash('sha256').update(bytes).digest('hex') };
}

/** Gives every constant its blob name, hashing the data once per distinct array; onBlob sees each new blob's bytes. */
export function hashConstants(g: GraphData, constData: (n: ConstNode) => Data, onBlob?: (sha: string, bytes: Uint8Array) => void): void {
  const done = new Map<Data, string>();
  for (const n of g.nodes) {
    if (n.kind !== 'const' || n.blob) continue;
    const data = constData(n);
    const known = done.get(data);
    if (known) {
      n.blob = known;
      continue;
    }
    const { bytes, sha256 } = encodeBlob(n.shape, data);
    onBlob?.(sha256, bytes);
    n.blob = sha256;
    done.set(data, sha256);
  }
}

/** The graph.json document of a graph whose constants have blob names. */
export function graphJson(g: GraphData): Record<string, unknown> {
  return {
    format: GRAPH_FORMAT,
    version: GRAPH_VERSION,
    ...g.info,
    nodes: g.nodes.map((n, i) =>
      n.kind === 'const'
        ? { op: 'const', blob: n.blob, shape: n.shape, dtype: n.dtype }
        : { op: n.op, attrs: encodeAttrs(n.attrs, `graph: node ${i} ('${n.op}')`), inputs: n.inputs, outputs: n.outputs.map((o) => ({ shape: o.shape, dtype: o.dtype })) },
    ),
    persist: [...g.persist].map(([name, [node, output]]) => ({ name, node, output })),
  };
}

/** Writes the graph into dir (created if needed): blobs first, graph.json last. */
export function saveGraph(dir: string, g: GraphData, constData: (n: ConstNode) => Data): void {
  const where = 'Graph.save';
  const root = checkPath(where, dir, 'dir');
  const blobs = join(root, 'blobs');
  try {
    mkdirSync(blobs, { recursive: true });
  } catch (e) {
    throw new GraphError(`${where}: cannot create ${blobs} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { cause: e });
  }
  hashConstants(g, constData, (sha, bytes) => {
    if (!existsSync(join(blobs, `${sha}.safetensors`))) writeFileAtomic(where, blobs, `${sha}.safetensors`, bytes);
  });
  // A constant hashed earlier (e.g. by an upload) may have no file here yet.
  for (const n of g.nodes) {
    if (n.kind === 'const' && !existsSync(join(blobs, `${n.blob}.safetensors`))) writeFileAtomic(where, blobs, `${n.blob}.safetensors`, encodeBlob(n.shape, constData(n)).bytes);
  }
  writeFileAtomic(where, root, 'graph.json', Buffer.from(JSON.stringify(graphJson(g)) + '\n'));
}

/** The data of a blob, checked against its name (SHA-256), and against the dtype and shape of the node that names it. */
export function decodeBlob(bytes: Uint8Array, sha: string, node: ConstNode, where: string): Data {
  const got = createHash('sha256').update(bytes).digest('hex');
  if (got !== sha) throw new GraphError(`${where}: blob ${sha} has SHA-256 ${got} (corrupt or replaced)`);
  let t: Tensor;
  try {
    const file = new SafetensorsFile(bytes, `blob ${sha}`);
    const e = file.entries.get(BLOB_TENSOR);
    if (!e || file.entries.size !== 1) throw new GraphError(`blob ${sha} must hold exactly one tensor named '${BLOB_TENSOR}'`);
    const dtype = e.dtype === 'F32' ? 'float32' : e.dtype === 'I32' ? 'int32' : null;
    if (dtype !== node.dtype || shapeStr(e.shape) !== shapeStr(node.shape)) {
      throw new GraphError(`blob ${sha} holds ${shapeStr(e.shape)} ${e.dtype}, the node declares ${shapeStr(node.shape)} ${node.dtype}`);
    }
    t = file.tensor(BLOB_TENSOR);
  } catch (err) {
    if (err instanceof RavdlError) throw new GraphError(`${where}: ${err.message}`, { cause: err });
    throw err;
  }
  return t._data;
}

/** Reads and validates a graph saved by saveGraph; every constant's data is loaded and checked. */
export function loadGraph(dir: string, options: LoadGraphOptions = {}): GraphData {
  try {
    return readGraph(dir, options);
  } catch (err) {
    // File errors (missing, not a regular file, over a size limit) become graph errors too.
    if (err instanceof RavdlError && !(err instanceof GraphError)) throw new GraphError(err.message, { cause: err });
    throw err;
  }
}

function readGraph(dir: string, options: LoadGraphOptions): GraphData {
  const where = 'Graph.load';
  const root = checkPath(where, dir, 'dir');
  const text = readRegularFile(where, join(root, 'graph.json'), checkLimit(where, options.max_json_bytes, DEFAULT_JSON_BYTES), { option: 'max_json_bytes' });
  let doc: unknown;
  try {
    doc = JSON.parse(text.toString('utf8'));
  } catch (e) {
    throw new GraphError(`${where}: ${join(root, 'graph.json')} is not valid JSON: ${(e as Error).message}`);
  }
  const g = validateGraphJson(doc, options);
  let budget = checkLimit(where, options.max_blob_bytes, DEFAULT_BLOB_BYTES);
  const loaded = new Map<string, Data>();
  g.nodes.forEach((n, i) => {
    if (n.kind !== 'const') return;
    const sha = n.blob!;
    const have = loaded.get(sha);
    if (have) {
      if (have.length !== n.shape.reduce((a, b) => a * b, 1) || (have instanceof Int32Array) !== (n.dtype === 'int32')) {
        throw new GraphError(`${where}: node ${i} (const) declares ${shapeStr(n.shape)} ${n.dtype} for blob ${sha}, which another node reads differently`);
      }
      n.data = have;
      return;
    }
    const bytes = readRegularFile(`${where}: node ${i} (const)`, join(root, 'blobs', `${sha}.safetensors`), budget, { option: 'max_blob_bytes' });
    budget -= bytes.length;
    n.data = decodeBlob(bytes, sha, n, `${where}: node ${i} (const)`);
    loaded.set(sha, n.data);
  });
  return g;
}
