// The requester side: with R.initialize(token, { server }), R.execute() runs the activated graph
// on a coordinator through this executor. It uploads graph.json and only the blobs the
// coordinator lacks (resumable, in parts), starts the run, follows the server-sent progress
// events into the Graph's progress reports, and downloads each persisted value as soon as it is
// computed (checked against its SHA-256; small values come inline with their announcement, others
// announced together in one bundle), so fetch_persisting_op works during the run. At the end the
// model's variables take their final values, as after a local run. While the coordinator cannot
// be reached (a restart), it retries with backoff for `retryMs`.
import { randomBytes } from 'node:crypto';
import { AbortError, GraphError } from '../errors.js';
import { decodeBlob, encodeBlob, graphJson, hashConstants } from '../graph/format.js';
import type { Graph, GraphExecutor } from '../graph/graph.js';
import { type ConstNode, type ValueRef, outputsOf } from '../graph/graph-data.js';
import { setRemoteExecutor } from '../requester.js';
import type { DType } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';
import { Http, RemoteError } from './http.js';
import { API, LENGTH_HEADER, OFFSET_HEADER, type PersistedInfoWire, SHA256_RE, VARIABLE_PREFIX, decodeBundle, decodeCheckedBlob, inlineBytes, sha256 } from './protocol.js';

export interface ClientOptions {
  /** How long to keep retrying while the coordinator cannot be reached, ms (default 120,000). */
  retryMs?: number;
  /** Bytes per part of a blob upload (default 8 MiB). */
  chunkBytes?: number;
  /**
   * Verification by replication: each subgraph's results are taken only once providers of this
   * many different tokens returned the same bytes (default 1: no verification; at most 3).
   */
  replicas?: number;
  /** Stops the run: the coordinator's copy of the graph is deleted (its providers stop) and the run rejects. */
  signal?: AbortSignal;
}

interface Summary {
  id: string;
  status: 'uploaded' | 'running' | 'done' | 'failed';
  error: string | null;
  nodes_total: number;
  nodes_done: number;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });

/** Uploads one blob, in parts when it is large, resuming from what the coordinator already holds. */
async function uploadBlob(http: Http, sha: string, bytes: Uint8Array, chunk: number, retryMs: number, signal?: AbortSignal): Promise<void> {
  for (let attempt = 0; attempt < 5; attempt++) {
    let offset = 0;
    if (bytes.length > chunk) {
      const head = await http.request(`${API}/blobs/${sha}`, { method: 'HEAD', retryMs, signal });
      if (head.status === 200) return;
      offset = Number(head.headers.get(OFFSET_HEADER) ?? 0);
    }
    try {
      do {
        const part = bytes.subarray(offset, Math.min(bytes.length, offset + chunk));
        await http.request(`${API}/blobs/${sha}`, { method: 'PUT', body: part, headers: { [OFFSET_HEADER]: String(offset), [LENGTH_HEADER]: String(bytes.length) }, retryMs, signal });
        offset += part.length;
      } while (offset < bytes.length);
      return;
    } catch (err) {
      // Someone else's part moved the upload on: ask where it stands and go on from there.
      if (!(err instanceof RemoteError) || err.remoteCode !== 'ERR_OFFSET') throw err;
    }
  }
  throw new GraphError(`upload of blob ${sha} keeps losing its place`);
}

/** Reads server-sent events from a response body. */
async function* events(res: Response): AsyncGenerator<{ event: string; data: string }> {
  const reader = res.body!.getReader();
  const dec = new TextDecoder();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += dec.decode(value, { stream: true });
    let cut: number;
    while ((cut = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, cut);
      buf = buf.slice(cut + 2);
      let event = 'message';
      let data = '';
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) event = line.slice(6).trim();
        else if (line.startsWith('data:')) data += line.slice(5).trim();
      }
      if (data) yield { event, data };
    }
  }
}

/** An event's data, checked for the fields the client reads: a coordinator that sends anything else is a typed ERR_PROTOCOL, not a TypeError. */
function eventData(e: { event: string; data: string }, server: string): unknown {
  const bad = (why: string) => new RemoteError(`the coordinator at ${server} sent a malformed '${e.event}' event (${why}): ${e.data.slice(0, 200)}`, 0, 'ERR_PROTOCOL');
  let d: unknown;
  try {
    d = JSON.parse(e.data);
  } catch {
    throw bad('not JSON');
  }
  const o = (typeof d === 'object' && d !== null ? d : {}) as Record<string, unknown>;
  if (e.event === 'progress' || e.event === 'end') {
    if (typeof o.status !== 'string') throw bad('a graph summary needs its status');
    // 'end' of a graph that could not be read carries only its status and error.
    if (e.event === 'progress' && !['nodes_done', 'nodes_total'].every((k) => Number.isFinite(o[k]))) throw bad('a progress event needs the node counts');
  } else if (e.event === 'persisted') {
    const shapeOk = Array.isArray(o.shape) && o.shape.every((x) => Number.isInteger(x) && x >= 0);
    if (typeof o.name !== 'string' || typeof o.sha256 !== 'string' || !SHA256_RE.test(o.sha256) || typeof o.dtype !== 'string' || !shapeOk) throw bad('a value needs name, sha256, dtype and shape');
  }
  return d;
}

/** Runs an activated graph on the coordinator at `server`. */
export async function runRemote(server: string, token: string | null, graph: Graph, report: Parameters<GraphExecutor>[1], onPersisted: Parameters<GraphExecutor>[2], options: ClientOptions = {}): Promise<void> {
  const { signal } = options;
  const aborted = (what: string) => new AbortError(`execute: aborted${what}`, { cause: signal?.reason });
  if (signal?.aborted) throw aborted(' before the graph was sent to the coordinator');
  const http = new Http(server.replace(/\/+$/, ''), token);
  let id: string | null = null;
  try {
    await runOnCoordinator(http, server, graph, report, onPersisted, options, (named) => (id = named));
  } catch (err) {
    if (!signal?.aborted) throw err;
    if (id === null) throw aborted(' before the graph was sent to the coordinator');
    // Stopped there too: its copy is deleted, so its providers stop and nothing of it is left.
    const outcome = await http.request(`${API}/graphs/${id}`, { method: 'DELETE', retryMs: 5000 }).then(
      () => `; the coordinator stopped graph ${id} and deleted it`,
      (e) => (e instanceof RemoteError && e.status === 404 ? '; the coordinator had no copy of it' : `; the coordinator could not be told to stop graph ${id} (${(e as Error).message}; npx ravdl graphs delete ${id})`),
    );
    throw aborted(outcome);
  }
}

async function runOnCoordinator(http: Http, server: string, graph: Graph, report: Parameters<GraphExecutor>[1], onPersisted: Parameters<GraphExecutor>[2], options: ClientOptions, named: (id: string) => void): Promise<void> {
  const { signal } = options;
  const retryMs = options.retryMs ?? 120_000;
  const chunk = options.chunkBytes ?? 8 * 2 ** 20;
  const g = graph.data;

  // graph.json, with the model's variables persisted under reserved names so they come back.
  const blobs = new Map<string, Uint8Array>();
  hashConstants(g, (n) => graph.constData(n), (sha, bytes) => blobs.set(sha, bytes));
  const doc = graphJson(g) as { persist: { name: string; node: number; output: number }[] };
  for (const name of g.persist.keys()) if (name.startsWith(VARIABLE_PREFIX)) throw new GraphError(`execute: persisted names starting with '${VARIABLE_PREFIX}' are reserved (got '${name}')`);
  const vars = [...graph.variableValues()];
  vars.forEach(([, [node, output]], i) => doc.persist.push({ name: `${VARIABLE_PREFIX}${i}`, node, output }));
  const userTotal = g.persist.size;

  const id = randomBytes(18).toString('base64url');
  named(id);
  // A coordinator that cannot be reached at the start is most likely a wrong address: fail fast.
  const put = await http.json<{ missing: string[]; limits: { max_chunk_bytes: number } }>(`${API}/graphs/${id}`, { method: 'PUT', body: doc, retryMs: Math.min(retryMs, 2000), signal });
  // R.flush() deletes the coordinator's copy too (in the background: flush is synchronous; a
  // running graph is stopped there, and its results and the blobs only it used go).
  graph._onDrop(() => void http.request(`${API}/graphs/${id}`, { method: 'DELETE', retryMs: Math.min(retryMs, 10_000) }).catch(() => {}));
  const part = Math.max(1024, Math.min(chunk, put.limits.max_chunk_bytes));
  const constOf = new Map<string, ConstNode>();
  for (const n of g.nodes) if (n.kind === 'const') constOf.set(n.blob!, n);
  for (const sha of put.missing) {
    const bytes = blobs.get(sha) ?? encodeBlob(constOf.get(sha)!.shape, graph.constData(constOf.get(sha)!)).bytes;
    await uploadBlob(http, sha, bytes, part, retryMs, signal);
  }
  blobs.clear();
  const body = options.replicas !== undefined && options.replicas !== 1 ? { replicas: options.replicas } : undefined;
  let summary = (await http.json<{ graph: Summary }>(`${API}/graphs/${id}/execute`, { method: 'POST', retryMs, body, signal })).graph;

  // Persisted values arrive as they are computed; variables are kept for the end.
  const received = new Set<string>();
  let userReceived = 0; // the names in `received` that are not variables (counted: a progress report must not walk them all)
  const receive = (name: string, add: boolean) => {
    if (add === received.has(name)) return;
    if (add) received.add(name);
    else received.delete(name);
    if (!name.startsWith(VARIABLE_PREFIX)) userReceived += add ? 1 : -1;
  };
  const varValues = new Map<number, Tensor>();
  const downloads: Promise<void>[] = [];
  let failure: unknown = null;
  const progress = () => report({ nodesDone: summary.nodes_done, nodesTotal: summary.nodes_total, persistedDone: userReceived, persistedTotal: userTotal });
  const deliver = (p: PersistedInfoWire, bytes: Uint8Array) => {
    // Checked against its SHA-256 on arrival (pump, inlineBytes): not hashed again.
    const data = decodeCheckedBlob(bytes, p.dtype, p.shape) ?? decodeBlob(bytes, p.sha256, { kind: 'const', shape: p.shape, dtype: p.dtype as DType, data: null, blob: p.sha256 }, `execute: '${p.name}'`);
    const t = Tensor._fromData(p.shape, data);
    if (p.name.startsWith(VARIABLE_PREFIX)) varValues.set(Number(p.name.slice(VARIABLE_PREFIX.length)), t);
    else onPersisted(p.name, t);
  };
  // Values announced while a download is under way are fetched together in the next one (a bundle, each blob once).
  const queue: PersistedInfoWire[] = [];
  let pumping = false;
  const pump = async () => {
    while (queue.length) {
      const batch = queue.splice(0, 2000);
      try {
        const body = await http.bytes(`${API}/graphs/${id}/persisted`, { method: 'POST', body: { names: batch.map((p) => p.name) }, retryMs, signal });
        const bySha = new Map<string, Uint8Array>();
        for (const e of decodeBundle(body)) if (sha256(e.bytes) === e.sha256) bySha.set(e.sha256, e.bytes);
        for (const p of batch) {
          const bytes = bySha.get(p.sha256);
          if (!bytes) throw new GraphError(`execute: the value of '${p.name}' did not arrive with the SHA-256 announced`);
          deliver(p, bytes);
        }
        progress();
      } catch (err) {
        for (const p of batch) receive(p.name, false);
        failure ??= err;
      }
    }
  };
  const want = (p: PersistedInfoWire) => {
    if (received.has(p.name)) return;
    receive(p.name, true);
    // A small value comes with its announcement (the next progress event reports it).
    const bytes = inlineBytes(p);
    if (bytes) {
      try {
        deliver(p, bytes);
      } catch (err) {
        receive(p.name, false);
        failure ??= err;
      }
      return;
    }
    queue.push(p);
    if (pumping) return;
    pumping = true;
    downloads.push(pump().finally(() => (pumping = false)));
  };

  // Follow the event stream; reconnect (with the state so far resent) until the run ends.
  let lastContact = Date.now();
  let delay = 100;
  while (summary.status !== 'done' && summary.status !== 'failed') {
    if (failure) throw failure;
    if (signal?.aborted) throw new AbortError('execute: aborted');
    try {
      const res = await http.request(`${API}/graphs/${id}/events`, { headers: { accept: 'text/event-stream' }, retryMs: Math.max(0, retryMs - (Date.now() - lastContact)), signal });
      for await (const e of events(res)) {
        lastContact = Date.now();
        delay = 100;
        const data = eventData(e, server);
        if (e.event === 'progress' || e.event === 'end') {
          summary = data as typeof summary;
          progress();
        } else if (e.event === 'persisted') want(data as PersistedInfoWire);
        if (e.event === 'end') break;
      }
    } catch (err) {
      if (signal?.aborted) throw err;
      if (err instanceof RemoteError && ((err.status >= 400 && err.status < 500) || err.remoteCode === 'ERR_PROTOCOL')) throw err;
      if (Date.now() - lastContact > retryMs) throw err instanceof Error ? err : new GraphError(String(err));
    }
    if (summary.status !== 'done' && summary.status !== 'failed') {
      if (Date.now() - lastContact > retryMs) throw new RemoteError(`lost the coordinator at ${server} for over ${retryMs} ms`, 0, 'ERR_UNREACHABLE');
      await sleep(delay, signal);
      delay = Math.min(delay * 2, 2000);
    }
  }
  if (summary.status === 'failed') throw new GraphError(`execute: graph '${g.info.name}' failed on the coordinator: ${summary.error ?? 'unknown error'}`);
  // Anything announced while no stream was open is fetched now.
  const list = await http.json<{ persisted: { name: string; sha256: string | null }[] }>(`${API}/graphs/${id}`, { retryMs });
  await Promise.all(downloads);
  if (failure) throw failure;
  const missing = list.persisted.filter((p) => !received.has(p.name));
  if (missing.length) {
    const refOf = new Map<string, ValueRef>([...g.persist, ...vars.map(([, r], i): [string, ValueRef] => [`${VARIABLE_PREFIX}${i}`, r])]);
    for (const p of missing) {
      const ref = refOf.get(p.name);
      if (!p.sha256 || !ref) continue;
      const m = outputsOf(g.nodes[ref[0]]!)[ref[1]]!;
      want({ name: p.name, sha256: p.sha256, shape: m.shape, dtype: m.dtype });
    }
    await Promise.all(downloads);
    if (failure) throw failure;
  }
  if (varValues.size !== vars.length) throw new GraphError(`execute: the coordinator returned ${varValues.size} of the model's ${vars.length} variables`);
  graph.settleVariables(new Map(vars.map(([t], i) => [t, varValues.get(i)!])));
  progress();
}

/** The executor R.execute() uses when R.initialize was given a server. */
export function remoteExecutor(server: string, token: string | null, options: ClientOptions = {}): GraphExecutor {
  return (graph, report, onPersisted, run) => runRemote(server, token, graph, report, onPersisted, { ...options, signal: run.signal ?? options.signal });
}

setRemoteExecutor((server, token, options) => remoteExecutor(server, token, options));
