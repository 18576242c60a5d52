// A provider's worker thread: validates a subgraph (graph.json + blobs) against the op catalog
// and the blobs' hashes, runs it with the graph executor on the native engine, and returns each
// output as a result blob named by its SHA-256. Off the main thread, so heartbeats never stall.
// Nothing received is code: only catalog ops named in the data run.
import { parentPort } from 'node:worker_threads';
import { RavdlError } from '../../errors.js';
import { executeGraph } from '../../graph/execute.js';
import { decodeBlob, encodeBlob } from '../../graph/format.js';
import { validateGraphJson } from '../../graph/validate.js';
import { native } from '../../native/load.js';
import type { GraphData } from '../../graph/graph-data.js';
import type { Data } from '../../tensor/dtype.js';
import type { Device } from '../../tensor/device.js';
// Registers every op of the catalog, which validation checks graphs against.
import '../../ops/index.js';
import { estimatePeakBytes } from '../memory.js';
import { nodeFlops } from '../partition.js';
import { decodeCheckedBlob } from '../protocol.js';

export interface WorkerJob {
  job: number;
  graph: unknown;
  /** [sha256, bytes] of every blob the graph names. */
  blobs: [string, Uint8Array][];
  outputs: string[];
  threads: number;
  maxMemory: number;
  maxNodes: number;
  /** Where to run it: 'cpu' or 'cuda:N' (checked by the provider at start). */
  device: Device;
}

export type WorkerReply =
  | { job: number; ok: true; outputs: { name: string; sha256: string; bytes: Uint8Array }[]; ms: number }
  | { job: number; ok: false; error: { code: string; message: string } };

/** The subgraph, checked against the op catalog. */
export const validateJob = (j: WorkerJob): GraphData => validateGraphJson(j.graph, { max_nodes: j.maxNodes, max_value_bytes: j.maxMemory });

/** Op nodes at most, and estimated FLOPs at most, of a subgraph the provider runs on its main thread (see provider.ts). */
export const INLINE_MAX_NODES = 16;
export const INLINE_MAX_FLOPS = 1e6;

/** Whether a subgraph is so small (well under a millisecond of kernels) that the hand-off to a worker thread would cost more than running it. */
export function isTiny(g: GraphData): boolean {
  let ops = 0;
  let flops = 0;
  for (const n of g.nodes) {
    if (n.kind !== 'op') continue;
    if (++ops > INLINE_MAX_NODES) return false;
    flops += nodeFlops(g, n);
  }
  return flops <= INLINE_MAX_FLOPS;
}

/** Validates (unless given the validated graph), runs and encodes the outputs of one subgraph. */
export async function run(j: WorkerJob, validated?: GraphData): Promise<WorkerReply> {
  const t0 = performance.now();
  if (native().getNumThreads() !== j.threads) native().setNumThreads(j.threads);
  const g = validated ?? validateJob(j);
  const need = estimatePeakBytes(g);
  if (need > j.maxMemory) return { job: j.job, ok: false, error: { code: 'ERR_CAPACITY', message: `the subgraph needs about ${need} bytes, this provider offers ${j.maxMemory}` } };
  const names = [...g.persist.keys()];
  if (names.length !== j.outputs.length || !j.outputs.every((n) => g.persist.has(n))) throw new RavdlError('ERR_GRAPH', 'the subgraph persists other values than the assignment names as its outputs');
  const blobs = new Map(j.blobs);
  const decoded = new Map<string, Data>();
  g.nodes.forEach((n, i) => {
    if (n.kind !== 'const') return;
    const key = `${n.blob}:${n.dtype}:${n.shape.join(',')}`;
    let data = decoded.get(key);
    if (!data) {
      const bytes = blobs.get(n.blob!);
      if (!bytes) throw new RavdlError('ERR_GRAPH', `node ${i} (const): blob ${n.blob} was not downloaded`);
      // The provider checked every blob against its SHA-256 when it came (provider.ts): not hashed again here.
      data = decodeCheckedBlob(bytes, n.dtype, n.shape) ?? decodeBlob(bytes, n.blob!, n, `subgraph node ${i} (const)`);
      decoded.set(key, data);
    }
    n.data = data;
  });
  blobs.clear();
  const result = await executeGraph(g, { constData: (n) => n.data!, device: j.device });
  const outputs = j.outputs.map((name) => {
    const t = result.persisted.get(name)!;
    const { bytes, sha256 } = encodeBlob(t.shape, t._host()); // from a device: copied back
    return { name, sha256, bytes: new Uint8Array(bytes) }; // a copy of its own, to transfer
  });
  for (const t of new Set(result.persisted.values())) t.dispose();
  return { job: j.job, ok: true, outputs, ms: performance.now() - t0 };
}

parentPort?.on('message', (j: WorkerJob) => {
  run(j).then(
    (reply) => parentPort!.postMessage(reply, reply.ok ? reply.outputs.map((o) => o.bytes.buffer as ArrayBuffer) : []),
    (err: unknown) => {
      const e = err as Error & { code?: string };
      parentPort!.postMessage({ job: j.job, ok: false, error: { code: typeof e.code === 'string' ? e.code : 'ERR_INTERNAL', message: String(e.message ?? err).slice(0, 4000) } } satisfies WorkerReply);
    },
  );
});
