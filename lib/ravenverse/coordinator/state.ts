// The coordinator's state machine, all of it in the database so a restart resumes a run:
//   graph:    uploaded -> running -> done | failed
//   subgraph: waiting (for inputs) -> ready -> leased -> done, back to ready when its lease
//             expires, its provider disconnects or reports a failure
//   lease:    active -> done | expired | failed | cancelled; only an active lease's result is
//             accepted, once (compare-and-set on the lease and the subgraph in one transaction)
// Only what a running process needs besides the database is in memory: the connected providers,
// a cache of parsed graphs, and the progress listeners.
import { randomUUID } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import { GraphError, RavdlError } from '../../errors.js';
import { graphJson } from '../../graph/format.js';
import { type GraphData, outputsOf, type ValueRef } from '../../graph/graph-data.js';
import { validateGraphJson } from '../../graph/validate.js';
import { numel } from '../../tensor/tensor.js';
// Registers every op of the catalog, which validation checks graphs against.
import '../../ops/index.js';
import type { Db } from '../db/open.js';
import type { Database, GraphsTable, SubgraphsTable } from '../db/schema.js';
import { estimatePeakBytes } from '../memory.js';
import { type PartitionOptions, partition } from '../partition.js';
import { type Capability, type CoordinatorMessage, type PersistedInfoWire, VARIABLE_PREFIX, blobBytesFor, blobMeta, sha256 } from '../protocol.js';
import { type Subgraph, refKey, subgraphGraph } from '../subgraph.js';
import { ApiError, badRequest, conflict, forbidden, notFound } from './errors.js';

export interface StateOptions {
  /** How long a lease lives without a heartbeat, ms. */
  leaseMs: number;
  /** How long heartbeats can keep one lease alive, ms (a provider that never finishes loses it). */
  maxLeaseMs: number;
  /** Failures reported by providers after which a subgraph (and its graph) fails. */
  maxFailures: number;
  /** Partitioner's assumed coordinator-provider bandwidth, bytes/s. */
  bytesPerSecond: number;
  /** Longest estimated compute time of one subgraph, seconds (the partitioner's maxSeconds). */
  maxSubgraphSeconds?: number;
  /** Splits a graph into subgraphs (default: partition() of lib/ravenverse/partition.ts). */
  partitioner?: (g: GraphData, opts: PartitionOptions) => Subgraph[];
  maxNodes: number;
  maxValueBytes: number;
  maxBlobBytes: number;
  /** Most unfinished resumable uploads per requester. */
  maxPendingUploads: number;
  log: (line: string) => void;
}

/** A connected provider, as the WebSocket layer gives it. */
export interface ProviderConn {
  id: string;
  token: string;
  name: string;
  capability: Capability;
  leases: Set<string>;
  open: boolean;
  send(msg: CoordinatorMessage): boolean;
  close(code: number, reason: string): void;
}

export interface GraphSummary {
  id: string;
  name: string;
  algorithm: string;
  approach: string;
  status: GraphsTable['status'];
  error: string | null;
  nodes_total: number;
  nodes_done: number;
  subgraphs_total: number;
  subgraphs_done: number;
  persisted_total: number;
  persisted_done: number;
  created_at: number;
  updated_at: number;
}

export type PersistedInfo = PersistedInfoWire;

export type GraphEvent =
  | { type: 'progress'; graph: GraphSummary }
  | { type: 'persisted'; value: PersistedInfo }
  | { type: 'end'; graph: GraphSummary };

interface OutputMetaRow {
  ref: string;
  shape: number[];
  dtype: string;
}

const CHUNK = 400; // rows or values per statement, well under SQLite's and PostgreSQL's parameter limits
const chunks = <T>(xs: readonly T[], n = CHUNK): T[][] => Array.from({ length: Math.ceil(xs.length / n) }, (_, i) => xs.slice(i * n, i * n + n));
const SUMMARY_COLS = ['id', 'name', 'algorithm', 'approach', 'status', 'error', 'nodes_total', 'nodes_done', 'subgraphs_total', 'subgraphs_done', 'persisted_total', 'persisted_done', 'created_at', 'updated_at'] as const;

/** The float a one-element F32 blob holds (its data follows the 8-byte length and the header). */
function scalarOf(bytes: Buffer): number {
  const n = bytes.readUInt32LE(0) + bytes.readUInt32LE(4) * 2 ** 32;
  return bytes.readFloatLE(8 + n);
}

export class CoordinatorState {
  readonly db: Kysely<Database>;
  /** Connected providers by id. */
  readonly providers = new Map<string, ProviderConn>();
  private parsedGraphs = new Map<string, GraphData>();
  private listeners = new Map<string, Set<(e: GraphEvent) => void>>();
  private allowedCache = new Map<string, Set<string>>();
  private dispatching: Promise<void> | null = null;
  private dispatchAgain = false;
  private closed = false;

  constructor(
    readonly store: Db,
    readonly opts: StateOptions,
  ) {
    this.db = store.db;
  }

  /** After a restart: providers are gone until they reconnect; give their leases one lease time to come back. */
  async recover(): Promise<void> {
    const now = Date.now();
    await this.db.updateTable('providers').set({ connected: 0 }).execute();
    await this.db.updateTable('leases').set({ expires_at: now + this.opts.leaseMs }).where('state', '=', 'active').execute();
  }

  close(): void {
    this.closed = true;
    for (const set of this.listeners.values()) set.clear();
  }

  // ---------------------------------------------------------------- graphs (requesters)

  private async graphRow(owner: string, id: string): Promise<GraphsTable> {
    const row = await this.db.selectFrom('graphs').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw notFound(`no graph ${id}`);
    if (row.owner !== owner) throw forbidden(`graph ${id} belongs to another requester`);
    return row;
  }

  private async parsed(id: string, json?: string): Promise<GraphData> {
    let g = this.parsedGraphs.get(id);
    if (g) return g;
    if (json === undefined) json = (await this.db.selectFrom('graphs').select('graph_json').where('id', '=', id).executeTakeFirstOrThrow()).graph_json;
    g = validateGraphJson(JSON.parse(json), { max_nodes: this.opts.maxNodes, max_value_bytes: this.opts.maxValueBytes });
    if (this.parsedGraphs.size >= 8) this.parsedGraphs.delete(this.parsedGraphs.keys().next().value!);
    this.parsedGraphs.set(id, g);
    return g;
  }

  /** Stores a graph.json (validated against the op catalog); answers which of its blobs the requester still has to upload. */
  async putGraph(owner: string, id: string, doc: unknown): Promise<{ created: boolean; missing: string[]; graph: GraphSummary }> {
    const json = JSON.stringify(doc);
    const jsonSha = sha256(json);
    const existing = await this.db.selectFrom('graphs').select(['owner', 'json_sha256']).where('id', '=', id).executeTakeFirst();
    if (existing && (existing.owner !== owner || existing.json_sha256 !== jsonSha)) throw conflict(`graph id ${id} is already taken by another graph`);
    let g: GraphData;
    try {
      g = validateGraphJson(doc, { max_nodes: this.opts.maxNodes, max_value_bytes: this.opts.maxValueBytes });
    } catch (err) {
      if (err instanceof RavdlError) throw new ApiError(400, 'ERR_GRAPH', err.message);
      throw err;
    }
    const blobs = [...new Set(g.nodes.flatMap((n) => (n.kind === 'const' ? [n.blob!] : [])))];
    if (!existing) {
      const now = Date.now();
      const consts = g.nodes.filter((n) => n.kind === 'const').length;
      await this.db
        .insertInto('graphs')
        .values({
          id, owner, name: g.info.name.slice(0, 200), algorithm: g.info.algorithm.slice(0, 200), approach: g.info.approach, status: 'uploaded',
          graph_json: json, json_sha256: jsonSha, nodes_total: g.nodes.length, nodes_done: 0, const_nodes: consts,
          subgraphs_total: 0, subgraphs_done: 0, persisted_total: g.persist.size, persisted_done: 0, error: null, created_at: now, updated_at: now,
        })
        .onConflict((oc) => oc.column('id').doNothing())
        .execute();
      this.parsedGraphs.set(id, g);
    }
    return { created: !existing, missing: await this.missingBlobs(owner, blobs), graph: await this.summary(owner, id) };
  }

  /** The blobs of `shas` the requester has not uploaded. */
  async missingBlobs(owner: string, shas: readonly string[]): Promise<string[]> {
    const have = new Set<string>();
    for (const part of chunks(shas)) {
      const rows = await this.db.selectFrom('blob_owners').select('sha256').where('owner', '=', owner).where('sha256', 'in', part).execute();
      for (const r of rows) have.add(r.sha256);
    }
    return shas.filter((s) => !have.has(s));
  }

  async summary(owner: string, id: string): Promise<GraphSummary> {
    const row = await this.graphRow(owner, id);
    return Object.fromEntries(SUMMARY_COLS.map((k) => [k, row[k]])) as unknown as GraphSummary;
  }

  private async summaryOf(id: string): Promise<GraphSummary | null> {
    const row = await this.db.selectFrom('graphs').select(SUMMARY_COLS).where('id', '=', id).executeTakeFirst();
    return (row as GraphSummary | undefined) ?? null;
  }

  async listGraphs(owner: string): Promise<GraphSummary[]> {
    return (await this.db.selectFrom('graphs').select(SUMMARY_COLS).where('owner', '=', owner).orderBy('created_at', 'desc').limit(1000).execute()) as GraphSummary[];
  }

  /** Persisted values computed so far (name, blob, dtype, shape). */
  async persistedReady(id: string): Promise<PersistedInfo[]> {
    const rows = await this.db
      .selectFrom('persisted')
      .innerJoin('blobs', 'blobs.sha256', 'persisted.sha256')
      .select(['persisted.name', 'persisted.sha256', 'blobs.dtype', 'blobs.shape'])
      .where('persisted.graph_id', '=', id)
      .orderBy('persisted.position')
      .execute();
    return rows.map((r) => ({ name: r.name, sha256: r.sha256!, dtype: r.dtype, shape: JSON.parse(r.shape) }));
  }

  async persistedList(owner: string, id: string): Promise<{ name: string; sha256: string | null }[]> {
    await this.graphRow(owner, id);
    return this.db.selectFrom('persisted').select(['name', 'sha256']).where('graph_id', '=', id).orderBy('position').execute();
  }

  /** Partitions the graph and queues its subgraphs; a second call answers the run's state. */
  async execute(owner: string, id: string): Promise<GraphSummary> {
    const row = await this.graphRow(owner, id);
    if (row.status !== 'uploaded') return this.summary(owner, id);
    const g = await this.parsed(id, row.graph_json);
    // Every constant must be a blob this requester uploaded, holding what the node declares.
    const constNodes = g.nodes.flatMap((n) => (n.kind === 'const' ? [n] : []));
    const shas = [...new Set(constNodes.map((n) => n.blob!))];
    const metas = new Map<string, { dtype: string; shape: string }>();
    for (const part of chunks(shas)) {
      const rows = await this.db
        .selectFrom('blobs')
        .innerJoin('blob_owners', 'blob_owners.sha256', 'blobs.sha256')
        .select(['blobs.sha256', 'blobs.dtype', 'blobs.shape'])
        .where('blob_owners.owner', '=', owner)
        .where('blobs.sha256', 'in', part)
        .execute();
      for (const r of rows) metas.set(r.sha256, r);
    }
    const missing = shas.filter((s) => !metas.has(s));
    if (missing.length) throw new ApiError(409, 'ERR_MISSING_BLOBS', `graph ${id}: ${missing.length} blob(s) not uploaded yet: ${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ', ...' : ''}`);
    g.nodes.forEach((n, i) => {
      if (n.kind !== 'const') return;
      const m = metas.get(n.blob!)!;
      if (m.dtype !== n.dtype || m.shape !== JSON.stringify(n.shape)) {
        throw new ApiError(400, 'ERR_BLOB', `graph ${id}: node ${i} (const) declares [${n.shape.join(', ')}] ${n.dtype}, its blob ${n.blob} holds ${m.shape} ${m.dtype}`);
      }
    });

    const connected = [...this.providers.values()].filter((p) => p.open);
    const gflops = connected.map((p) => p.capability.gflops).sort((a, b) => a - b);
    const subs = (this.opts.partitioner ?? partition)(g, {
      providers: Math.max(1, connected.length),
      flopsPerSecond: gflops.length ? gflops[gflops.length >> 1]! * 1e9 : undefined,
      bytesPerSecond: this.opts.bytesPerSecond,
      maxSeconds: this.opts.maxSubgraphSeconds,
    });
    const dependents = subs.map(() => [] as number[]);
    for (const s of subs) for (const d of s.deps) dependents[d]!.push(s.index);
    const now = Date.now();
    const subRows: SubgraphsTable[] = subs.map((s) => {
      const sg = subgraphGraph(g, s, () => '0'.repeat(64));
      const outputs: OutputMetaRow[] = s.outputs.map((r) => ({ ref: refKey(r), ...outputsOf(g.nodes[r[0]]!)[r[1]]! }));
      const constBlobs = [...new Set(sg.nodes.slice(s.inputs.length).flatMap((n) => (n.kind === 'const' ? [n.blob!] : [])))];
      return {
        graph_id: id, idx: s.index, state: s.deps.length ? 'waiting' : 'ready', spec: JSON.stringify(s), dependents: JSON.stringify(dependents[s.index]),
        deps_left: s.deps.length, outputs: JSON.stringify(outputs), const_blobs: JSON.stringify(constBlobs), node_count: s.nodes.length, flops: s.flops,
        peak_bytes: estimatePeakBytes(sg), attempts: 0, failures: 0, excluded: '[]', last_error: null, done_by: null, updated_at: now,
      };
    });
    // Persisted constants are ready at once: their value is the blob itself.
    let position = 0;
    const persistRows = [...g.persist].map(([name, ref]) => {
      const node = g.nodes[ref[0]]!;
      const sha = node.kind === 'const' ? node.blob : null;
      return { graph_id: id, name, ref: refKey(ref), position: position++, sha256: sha, scalar: null, ready_at: sha ? now : null };
    });
    const persistedDone = persistRows.filter((p) => p.sha256).length;
    const started = await this.db.transaction().execute(async (trx) => {
      const upd = await trx
        .updateTable('graphs')
        .set({ status: subs.length ? 'running' : 'done', subgraphs_total: subs.length, nodes_done: row.const_nodes, persisted_done: persistedDone, updated_at: now })
        .where('id', '=', id)
        .where('status', '=', 'uploaded')
        .executeTakeFirst();
      if (Number(upd.numUpdatedRows) !== 1) return false; // another call started it
      for (const part of chunks(subRows, 100)) await trx.insertInto('subgraphs').values(part).execute();
      for (const part of chunks(persistRows, 200)) await trx.insertInto('persisted').values(part).execute();
      return true;
    });
    const summary = await this.summary(owner, id);
    if (started) {
      this.opts.log(`graph ${id} ('${row.name}'): ${g.nodes.length} nodes in ${subs.length} subgraph(s) for ${connected.length} provider(s)`);
      this.emit(id, { type: 'progress', graph: summary });
      if (summary.status === 'done') this.emit(id, { type: 'end', graph: summary });
      this.dispatch();
    }
    return summary;
  }

  /** The blob of a persisted value; 409 ERR_NOT_READY until it is computed. */
  async persistedBlob(owner: string, id: string, name: string): Promise<{ sha256: string; data: Buffer }> {
    await this.graphRow(owner, id);
    const p = await this.db.selectFrom('persisted').select(['sha256']).where('graph_id', '=', id).where('name', '=', name).executeTakeFirst();
    if (!p) throw notFound(`graph ${id} persists no value named '${name}'`);
    if (!p.sha256) throw new ApiError(409, 'ERR_NOT_READY', `graph ${id}: '${name}' is not computed yet`);
    const b = await this.db.selectFrom('blobs').select(['data']).where('sha256', '=', p.sha256).executeTakeFirstOrThrow();
    return { sha256: p.sha256, data: b.data };
  }

  /** Deletes a graph, its subgraphs, leases and results (and result blobs nothing else uses). */
  async deleteGraph(owner: string, id: string): Promise<void> {
    await this.graphRow(owner, id);
    const active = await this.db.selectFrom('leases').select(['id', 'provider_id']).where('graph_id', '=', id).where('state', '=', 'active').execute();
    await this.db.transaction().execute(async (trx) => {
      const shas = (await trx.selectFrom('results').select('sha256').where('graph_id', '=', id).execute()).map((r) => r.sha256);
      await trx.deleteFrom('results').where('graph_id', '=', id).execute();
      await trx.deleteFrom('persisted').where('graph_id', '=', id).execute();
      await trx.deleteFrom('leases').where('graph_id', '=', id).execute();
      await trx.deleteFrom('subgraphs').where('graph_id', '=', id).execute();
      await trx.deleteFrom('graphs').where('id', '=', id).execute();
      for (const part of chunks([...new Set(shas)])) {
        await trx
          .deleteFrom('blobs')
          .where('sha256', 'in', part)
          .where(({ not, exists, selectFrom }) => not(exists(selectFrom('results').select('results.sha256').whereRef('results.sha256', '=', 'blobs.sha256'))))
          .where(({ not, exists, selectFrom }) => not(exists(selectFrom('blob_owners').select('blob_owners.sha256').whereRef('blob_owners.sha256', '=', 'blobs.sha256'))))
          .execute();
      }
    });
    this.parsedGraphs.delete(id);
    for (const l of active) this.dropLease(l.id, l.provider_id, 'the graph was deleted');
    const set = this.listeners.get(id);
    if (set) for (const fn of set) fn({ type: 'end', graph: { id, status: 'failed', error: 'deleted' } as GraphSummary });
    this.listeners.delete(id);
  }

  subscribe(id: string, fn: (e: GraphEvent) => void): () => void {
    let set = this.listeners.get(id);
    if (!set) this.listeners.set(id, (set = new Set()));
    set.add(fn);
    return () => {
      set!.delete(fn);
      if (set!.size === 0 && this.listeners.get(id) === set) this.listeners.delete(id);
    };
  }

  private emit(id: string, e: GraphEvent): void {
    for (const fn of this.listeners.get(id) ?? []) {
      try {
        fn(e);
      } catch (err) {
        this.opts.log(`listener of graph ${id} failed: ${(err as Error).message}`);
      }
    }
  }

  // ---------------------------------------------------------------- blobs (requesters)

  /** Whether the requester has the blob; if not, how many bytes of it a resumable upload holds. */
  async headBlob(owner: string, sha: string): Promise<{ have: true; size: number } | { have: false; offset: number }> {
    const own = await this.db.selectFrom('blob_owners').innerJoin('blobs', 'blobs.sha256', 'blob_owners.sha256').select('blobs.size').where('blob_owners.owner', '=', owner).where('blob_owners.sha256', '=', sha).executeTakeFirst();
    if (own) return { have: true, size: own.size };
    const up = await this.db.selectFrom('uploads').select('received').where('owner', '=', owner).where('sha256', '=', sha).executeTakeFirst();
    return { have: false, offset: up?.received ?? 0 };
  }

  /**
   * Adds bytes [offset, offset + body.length) of a blob of `total` bytes. The last part
   * completes it: the whole is checked against its SHA-256 and its header before it is stored.
   */
  async putBlob(owner: string, sha: string, offset: number, total: number, body: Buffer): Promise<{ complete: boolean; received: number }> {
    if (total > this.opts.maxBlobBytes) throw new ApiError(413, 'ERR_TOO_LARGE', `blob ${sha}: ${total} bytes, over the ${this.opts.maxBlobBytes}-byte limit for one blob`);
    if (offset + body.length > total) throw badRequest(`blob ${sha}: bytes ${offset}..${offset + body.length} run past its length ${total}`);
    // A whole blob is checked even when it is known already: a wrong upload is an error, never silently "done".
    if (offset === 0 && body.length === total && sha256(body) !== sha) throw new ApiError(400, 'ERR_HASH_MISMATCH', `blob ${sha}: the bytes received have SHA-256 ${sha256(body)}`);
    const head = await this.headBlob(owner, sha);
    if (head.have) return { complete: true, received: head.size };
    if (offset !== head.offset) throw new ApiError(409, 'ERR_OFFSET', `blob ${sha}: the upload is at byte ${head.offset}, this part starts at ${offset}`, { 'upload-offset': String(head.offset) });
    const now = Date.now();
    if (offset + body.length < total) {
      // A part: kept until the last one arrives.
      await this.db.transaction().execute(async (trx) => {
        if (offset === 0) {
          const pending = await trx.selectFrom('uploads').select((eb) => eb.fn.countAll<number>().as('n')).where('owner', '=', owner).executeTakeFirstOrThrow();
          if (Number(pending.n) >= this.opts.maxPendingUploads) throw new ApiError(429, 'ERR_RATE_LIMIT', `at most ${this.opts.maxPendingUploads} unfinished uploads per requester`);
          await trx.insertInto('uploads').values({ sha256: sha, owner, total, received: 0, updated_at: now }).execute();
        }
        const up = await trx.updateTable('uploads').set({ received: offset + body.length, updated_at: now }).where('owner', '=', owner).where('sha256', '=', sha).where('received', '=', offset).where('total', '=', total).executeTakeFirst();
        if (Number(up.numUpdatedRows) !== 1) throw new ApiError(409, 'ERR_OFFSET', `blob ${sha}: another upload of it moved on, or its length is not ${total}`);
        await trx.insertInto('upload_parts').values({ sha256: sha, owner, offset, data: body }).execute();
      });
      return { complete: false, received: offset + body.length };
    }
    let whole = body;
    if (offset > 0) {
      const parts = await this.db.selectFrom('upload_parts').select(['offset', 'data']).where('owner', '=', owner).where('sha256', '=', sha).orderBy('offset').execute();
      whole = Buffer.concat([...parts.map((p) => p.data), body]);
    }
    const got = sha256(whole);
    if (got !== sha) {
      await this.dropUpload(owner, sha);
      throw new ApiError(400, 'ERR_HASH_MISMATCH', `blob ${sha}: the bytes received have SHA-256 ${got}; the upload is discarded`);
    }
    let meta;
    try {
      meta = blobMeta(whole);
    } catch (err) {
      await this.dropUpload(owner, sha);
      throw new ApiError(400, 'ERR_BLOB', `blob ${sha}: not a ravdl blob: ${(err as Error).message}`);
    }
    await this.db.transaction().execute(async (trx) => {
      await trx.insertInto('blobs').values({ sha256: sha, size: whole.length, dtype: meta.dtype, shape: JSON.stringify(meta.shape), data: whole, created_at: now }).onConflict((oc) => oc.column('sha256').doNothing()).execute();
      await trx.insertInto('blob_owners').values({ sha256: sha, owner }).onConflict((oc) => oc.columns(['sha256', 'owner']).doNothing()).execute();
      await trx.deleteFrom('upload_parts').where('owner', '=', owner).where('sha256', '=', sha).execute();
      await trx.deleteFrom('uploads').where('owner', '=', owner).where('sha256', '=', sha).execute();
    });
    return { complete: true, received: whole.length };
  }

  private async dropUpload(owner: string, sha: string): Promise<void> {
    await this.db.deleteFrom('upload_parts').where('owner', '=', owner).where('sha256', '=', sha).execute();
    await this.db.deleteFrom('uploads').where('owner', '=', owner).where('sha256', '=', sha).execute();
  }

  /** Forgets resumable uploads untouched for maxAgeMs. */
  async dropStaleUploads(maxAgeMs: number): Promise<void> {
    const old = await this.db.selectFrom('uploads').select(['owner', 'sha256']).where('updated_at', '<', Date.now() - maxAgeMs).limit(100).execute();
    for (const u of old) await this.dropUpload(u.owner, u.sha256);
  }

  /** A blob the requester may read: one it uploaded, or a result of one of its graphs. */
  async readBlob(owner: string, sha: string): Promise<Buffer> {
    const mine =
      (await this.db.selectFrom('blob_owners').select('sha256').where('owner', '=', owner).where('sha256', '=', sha).executeTakeFirst()) ??
      (await this.db.selectFrom('results').innerJoin('graphs', 'graphs.id', 'results.graph_id').select('results.sha256').where('graphs.owner', '=', owner).where('results.sha256', '=', sha).executeTakeFirst());
    if (!mine) throw notFound(`no blob ${sha} among this requester's blobs and results`);
    return (await this.db.selectFrom('blobs').select('data').where('sha256', '=', sha).executeTakeFirstOrThrow()).data;
  }

  // ---------------------------------------------------------------- providers

  /** A provider said hello: record it, take back the leases it still holds. */
  async hello(conn: ProviderConn, leases: readonly string[]): Promise<string[]> {
    const now = Date.now();
    const row = await this.db.selectFrom('providers').select('token').where('id', '=', conn.id).executeTakeFirst();
    if (row && row.token !== conn.token) throw forbidden(`provider id ${conn.id} belongs to another provider token`);
    const cap = JSON.stringify(conn.capability);
    await this.db
      .insertInto('providers')
      .values({ id: conn.id, token: conn.token, name: conn.name, capability: cap, gflops: conn.capability.gflops, memory_bytes: conn.capability.memory_bytes, connected: 1, last_seen: now, subgraphs_done: 0, flops_done: 0, busy_ms: 0, created_at: now })
      .onConflict((oc) => oc.column('id').doUpdateSet({ name: conn.name, capability: cap, gflops: conn.capability.gflops, memory_bytes: conn.capability.memory_bytes, connected: 1, last_seen: now }))
      .execute();
    const old = this.providers.get(conn.id);
    if (old && old !== conn) {
      // The same provider reconnected before its old socket was seen to close: the new one takes over.
      for (const l of old.leases) conn.leases.add(l);
      old.leases.clear();
      old.open = false;
      old.close(4000, 'replaced by a newer connection');
    }
    this.providers.set(conn.id, conn);
    const resumed: string[] = [];
    for (const part of chunks(leases.slice(0, 64))) {
      const rows = await this.db.selectFrom('leases').select('id').where('id', 'in', part).where('token', '=', conn.token).where('provider_id', '=', conn.id).where('state', '=', 'active').execute();
      for (const r of rows) resumed.push(r.id);
    }
    if (resumed.length) await this.db.updateTable('leases').set({ expires_at: now + this.opts.leaseMs }).where('id', 'in', resumed).execute();
    for (const l of resumed) conn.leases.add(l);
    this.opts.log(`provider ${conn.name} (${conn.id}) connected: ${conn.capability.gflops.toFixed(1)} GFLOP/s, ${(conn.capability.memory_bytes / 2 ** 20).toFixed(0)} MiB${resumed.length ? `, resumed ${resumed.length} lease(s)` : ''}`);
    return resumed;
  }

  /** Extends the leases a provider says it is working on. */
  async heartbeat(conn: ProviderConn, leases: readonly string[]): Promise<void> {
    const now = Date.now();
    const mine = leases.filter((l) => conn.leases.has(l));
    if (mine.length) {
      await this.db
        .updateTable('leases')
        .set({ expires_at: now + this.opts.leaseMs })
        .where('id', 'in', mine.slice(0, CHUNK))
        .where('token', '=', conn.token)
        .where('state', '=', 'active')
        .where('created_at', '>', now + this.opts.leaseMs - this.opts.maxLeaseMs)
        .execute();
    }
    await this.db.updateTable('providers').set({ last_seen: now }).where('id', '=', conn.id).execute();
  }

  async disconnected(conn: ProviderConn): Promise<void> {
    conn.open = false;
    if (this.providers.get(conn.id) !== conn) return; // replaced by a newer connection
    this.providers.delete(conn.id);
    if (this.closed) return;
    await this.db.updateTable('providers').set({ connected: 0, last_seen: Date.now() }).where('id', '=', conn.id).execute();
    // Its work goes back to the queue at once: nothing it sends for these leases is accepted any more.
    for (const l of [...conn.leases]) await this.endLease(l, 'expired', 'the provider disconnected');
    this.opts.log(`provider ${conn.name} (${conn.id}) disconnected`);
  }

  private async activeLease(token: string, leaseId: string) {
    const lease = await this.db.selectFrom('leases').selectAll().where('id', '=', leaseId).executeTakeFirst();
    if (!lease) throw notFound(`no lease ${leaseId}`);
    if (lease.token !== token) throw forbidden(`lease ${leaseId} belongs to another provider`);
    return lease;
  }

  /** The blobs a lease's provider may download: the subgraph's constants and its inputs' results. */
  private async allowedBlobs(leaseId: string, graphId: string, idx: number): Promise<Set<string>> {
    let set = this.allowedCache.get(leaseId);
    if (set) return set;
    const sub = await this.db.selectFrom('subgraphs').select(['spec', 'const_blobs']).where('graph_id', '=', graphId).where('idx', '=', idx).executeTakeFirstOrThrow();
    const spec = JSON.parse(sub.spec) as Subgraph;
    set = new Set(JSON.parse(sub.const_blobs) as string[]);
    for (const part of chunks(spec.inputs.map(refKey))) {
      for (const r of await this.db.selectFrom('results').select('sha256').where('graph_id', '=', graphId).where('ref', 'in', part).execute()) set.add(r.sha256);
    }
    if (this.allowedCache.size > 10_000) this.allowedCache.clear();
    this.allowedCache.set(leaseId, set);
    return set;
  }

  /** Blobs a lease's provider asks for, each one it may read (its subgraph's constants and inputs). */
  async leaseBlobs(token: string, leaseId: string, shas: readonly string[]): Promise<{ sha256: string; bytes: Uint8Array }[]> {
    const lease = await this.activeLease(token, leaseId);
    if (lease.state !== 'active') throw new ApiError(409, 'ERR_LEASE_ENDED', `lease ${leaseId} is ${lease.state}`);
    const allowed = await this.allowedBlobs(leaseId, lease.graph_id, lease.idx);
    const denied = shas.find((s) => !allowed.has(s));
    if (denied) throw forbidden(`blob ${denied} is not an input of lease ${leaseId}`);
    const found = new Map<string, Buffer>();
    for (const part of chunks([...new Set(shas)], 50)) for (const r of await this.db.selectFrom('blobs').select(['sha256', 'data']).where('sha256', 'in', part).execute()) found.set(r.sha256, r.data);
    return shas.map((sha) => {
      const bytes = found.get(sha);
      if (!bytes) throw notFound(`blob ${sha} is not stored`);
      return { sha256: sha, bytes };
    });
  }

  /** Result blobs of an active lease: each checked against its SHA-256 and against the outputs the subgraph makes. */
  async putResults(token: string, leaseId: string, blobs: readonly { sha256: string; bytes: Uint8Array }[]): Promise<void> {
    const lease = await this.activeLease(token, leaseId);
    if (lease.state !== 'active') throw new ApiError(409, 'ERR_LEASE_ENDED', `lease ${leaseId} is ${lease.state}: its results are ignored`);
    const sub = await this.db.selectFrom('subgraphs').select('outputs').where('graph_id', '=', lease.graph_id).where('idx', '=', lease.idx).executeTakeFirstOrThrow();
    const outs = JSON.parse(sub.outputs) as OutputMetaRow[];
    const kinds = new Set(outs.map((o) => `${o.dtype}${JSON.stringify(o.shape)}`));
    const budget = outs.reduce((n, o) => n + blobBytesFor(o.shape), 0);
    const total = blobs.reduce((n, b) => n + b.bytes.length, 0);
    if (total > budget) throw new ApiError(413, 'ERR_TOO_LARGE', `lease ${leaseId}: ${total} bytes of results, more than its outputs can take (${budget})`);
    const rows = blobs.map(({ sha256: sha, bytes }) => {
      const got = sha256(bytes);
      if (got !== sha) throw new ApiError(400, 'ERR_HASH_MISMATCH', `result ${sha}: the bytes received have SHA-256 ${got}`);
      let meta;
      try {
        meta = blobMeta(bytes);
      } catch (err) {
        throw new ApiError(400, 'ERR_BLOB', `result ${sha}: not a ravdl blob: ${(err as Error).message}`);
      }
      if (!kinds.has(`${meta.dtype}${JSON.stringify(meta.shape)}`)) throw new ApiError(400, 'ERR_BLOB', `result ${sha} holds [${meta.shape.join(', ')}] ${meta.dtype}, which no output of lease ${leaseId} is`);
      return { sha256: sha, size: bytes.length, dtype: meta.dtype, shape: JSON.stringify(meta.shape), data: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), created_at: Date.now() };
    });
    for (const part of chunks(rows, 50)) await this.db.insertInto('blobs').values(part).onConflict((oc) => oc.column('sha256').doNothing()).execute();
  }

  /**
   * A provider finished a lease: `outputs` names each output's result blob. Accepted once, only
   * for an active lease; a repeated call for a lease already done answers 'duplicate'.
   */
  async complete(token: string, leaseId: string, outputs: Record<string, string>): Promise<{ status: 'accepted' | 'duplicate' | 'ignored' }> {
    const lease = await this.activeLease(token, leaseId);
    if (lease.state === 'done') return { status: 'duplicate' };
    if (lease.state !== 'active') throw new ApiError(409, 'ERR_LEASE_ENDED', `lease ${leaseId} is ${lease.state}: its results are ignored`);
    const sub = await this.db.selectFrom('subgraphs').selectAll().where('graph_id', '=', lease.graph_id).where('idx', '=', lease.idx).executeTakeFirstOrThrow();
    const outs = JSON.parse(sub.outputs) as OutputMetaRow[];
    const names = Object.keys(outputs);
    if (names.length !== outs.length || !outs.every((o) => Object.hasOwn(outputs, o.ref))) {
      throw badRequest(`lease ${leaseId}: outputs must name exactly ${outs.map((o) => o.ref).slice(0, 8).join(', ')}${outs.length > 8 ? ', ...' : ''} (${outs.length})`);
    }
    const shas = [...new Set(Object.values(outputs))];
    const metas = new Map<string, { dtype: string; shape: string }>();
    for (const part of chunks(shas)) for (const r of await this.db.selectFrom('blobs').select(['sha256', 'dtype', 'shape']).where('sha256', 'in', part).execute()) metas.set(r.sha256, r);
    for (const o of outs) {
      const m = metas.get(outputs[o.ref]!);
      if (!m) throw new ApiError(409, 'ERR_MISSING_BLOBS', `lease ${leaseId}: result ${outputs[o.ref]} of output ${o.ref} was not uploaded`);
      if (m.dtype !== o.dtype || m.shape !== JSON.stringify(o.shape)) throw new ApiError(400, 'ERR_BLOB', `lease ${leaseId}: output ${o.ref} must be [${o.shape.join(', ')}] ${o.dtype}, its result holds ${m.shape} ${m.dtype}`);
    }
    // Which persisted names these outputs fill (and the number, for the ones that are one).
    const persisted = await this.db.selectFrom('persisted').select(['name', 'ref']).where('graph_id', '=', lease.graph_id).where('sha256', 'is', null).where('ref', 'in', outs.map((o) => o.ref).slice(0, 5000)).execute();
    const scalars = new Map<string, number>();
    for (const p of persisted) {
      const o = outs.find((x) => x.ref === p.ref)!;
      if (o.dtype === 'float32' && numel(o.shape) === 1 && !scalars.has(p.ref)) {
        const b = await this.db.selectFrom('blobs').select('data').where('sha256', '=', outputs[p.ref]!).executeTakeFirstOrThrow();
        scalars.set(p.ref, scalarOf(b.data));
      }
    }
    const now = Date.now();
    const dependents = JSON.parse(sub.dependents) as number[];
    const outcome = await this.db.transaction().execute(async (trx) => {
      const l = await trx.updateTable('leases').set({ state: 'done', finished_at: now }).where('id', '=', leaseId).where('state', '=', 'active').executeTakeFirst();
      if (Number(l.numUpdatedRows) !== 1) return 'raced' as const;
      const s = await trx.updateTable('subgraphs').set({ state: 'done', done_by: lease.provider_id, updated_at: now }).where('graph_id', '=', lease.graph_id).where('idx', '=', lease.idx).where('state', '=', 'leased').executeTakeFirst();
      if (Number(s.numUpdatedRows) !== 1) return 'ignored' as const; // another lease of it finished first
      for (const part of chunks(outs, 100)) {
        await trx.insertInto('results').values(part.map((o) => ({ graph_id: lease.graph_id, ref: o.ref, sha256: outputs[o.ref]!, lease_id: leaseId, created_at: now }))).onConflict((oc) => oc.columns(['graph_id', 'ref']).doNothing()).execute();
      }
      for (const p of persisted) {
        await trx.updateTable('persisted').set({ sha256: outputs[p.ref]!, scalar: scalars.get(p.ref) ?? null, ready_at: now }).where('graph_id', '=', lease.graph_id).where('name', '=', p.name).execute();
      }
      if (dependents.length) {
        for (const d of dependents) await trx.updateTable('subgraphs').set((eb) => ({ deps_left: eb('deps_left', '-', 1) })).where('graph_id', '=', lease.graph_id).where('idx', '=', d).execute();
        await trx.updateTable('subgraphs').set({ state: 'ready', updated_at: now }).where('graph_id', '=', lease.graph_id).where('idx', 'in', dependents).where('deps_left', '=', 0).where('state', '=', 'waiting').execute();
      }
      await trx
        .updateTable('graphs')
        .set((eb) => ({ nodes_done: eb('nodes_done', '+', sub.node_count), subgraphs_done: eb('subgraphs_done', '+', 1), persisted_done: eb('persisted_done', '+', persisted.length), updated_at: now }))
        .where('id', '=', lease.graph_id)
        .execute();
      await trx.updateTable('graphs').set({ status: 'done' }).where('id', '=', lease.graph_id).where('status', '=', 'running').whereRef('subgraphs_done', '=', 'subgraphs_total').execute();
      await trx
        .updateTable('providers')
        .set((eb) => ({ subgraphs_done: eb('subgraphs_done', '+', 1), flops_done: eb('flops_done', '+', sub.flops), busy_ms: eb('busy_ms', '+', now - lease.created_at) }))
        .where('id', '=', lease.provider_id)
        .execute();
      return 'accepted' as const;
    });
    if (outcome === 'raced') return this.complete(token, leaseId, outputs);
    this.providers.get(lease.provider_id)?.leases.delete(leaseId);
    this.allowedCache.delete(leaseId);
    if (outcome === 'accepted') {
      const summary = await this.summaryOf(lease.graph_id);
      if (summary) {
        const blobsOf = new Map(outs.map((o) => [o.ref, o]));
        for (const p of persisted) {
          const o = blobsOf.get(p.ref)!;
          this.emit(lease.graph_id, { type: 'persisted', value: { name: p.name, sha256: outputs[p.ref]!, dtype: o.dtype, shape: o.shape } });
        }
        this.emit(lease.graph_id, { type: 'progress', graph: summary });
        if (summary.status === 'done') {
          this.opts.log(`graph ${lease.graph_id} ('${summary.name}') done: ${summary.subgraphs_total} subgraph(s)`);
          this.emit(lease.graph_id, { type: 'end', graph: summary });
        }
      }
    }
    this.dispatch();
    return { status: outcome };
  }

  /** A provider reports that it could not compute a lease. */
  async failed(conn: ProviderConn, leaseId: string, error: { code: string; message: string }): Promise<void> {
    if (!conn.leases.has(leaseId)) return;
    await this.endLease(leaseId, 'failed', `${error.code}: ${error.message}`.slice(0, 2000));
  }

  /** Ends an active lease that produced no result; its subgraph goes back to the queue (or fails its graph). */
  private async endLease(leaseId: string, state: 'expired' | 'failed' | 'cancelled', why: string): Promise<void> {
    const now = Date.now();
    const lease = await this.db.selectFrom('leases').selectAll().where('id', '=', leaseId).executeTakeFirst();
    if (!lease) return;
    // Whether the lease was still active, and the error that fails its graph (when its subgraph failed too often).
    const outcome = await this.db.transaction().execute(async (trx) => {
      const l = await trx.updateTable('leases').set({ state, finished_at: now }).where('id', '=', leaseId).where('state', '=', 'active').executeTakeFirst();
      if (Number(l.numUpdatedRows) !== 1) return null;
      const others = await trx.selectFrom('leases').select('id').where('graph_id', '=', lease.graph_id).where('idx', '=', lease.idx).where('state', '=', 'active').executeTakeFirst();
      const sub = await trx.selectFrom('subgraphs').select(['failures', 'excluded', 'state']).where('graph_id', '=', lease.graph_id).where('idx', '=', lease.idx).executeTakeFirstOrThrow();
      const set: Partial<SubgraphsTable> = { updated_at: now };
      let fatal: string | null = null;
      // The next lease of it goes to another provider when there is one.
      if (state !== 'cancelled') set.excluded = JSON.stringify([...new Set([...(JSON.parse(sub.excluded) as string[]), lease.provider_id])]);
      if (state === 'failed') {
        set.failures = sub.failures + 1;
        set.last_error = why;
        if (set.failures >= this.opts.maxFailures) fatal = `subgraph ${lease.idx} failed on ${set.failures} providers; last: ${why}`;
      }
      if (!others && sub.state === 'leased') set.state = 'ready';
      await trx.updateTable('subgraphs').set(set).where('graph_id', '=', lease.graph_id).where('idx', '=', lease.idx).execute();
      return { fatal };
    });
    const conn = this.providers.get(lease.provider_id);
    conn?.leases.delete(leaseId);
    this.allowedCache.delete(leaseId);
    if (!outcome) return;
    if (state !== 'cancelled') this.opts.log(`lease ${leaseId} (graph ${lease.graph_id}, subgraph ${lease.idx}) ${state}: ${why}`);
    if (conn?.open) conn.send({ type: 'cancel', lease: leaseId, reason: `${state}: ${why}` });
    if (outcome.fatal) await this.failGraph(lease.graph_id, outcome.fatal);
    this.dispatch();
  }

  private dropLease(leaseId: string, providerId: string, reason: string): void {
    const conn = this.providers.get(providerId);
    conn?.leases.delete(leaseId);
    this.allowedCache.delete(leaseId);
    if (conn?.open) conn.send({ type: 'cancel', lease: leaseId, reason });
  }

  private async failGraph(id: string, error: string): Promise<void> {
    const now = Date.now();
    await this.db.updateTable('graphs').set({ status: 'failed', error, updated_at: now }).where('id', '=', id).where('status', '=', 'running').execute();
    const active = await this.db.selectFrom('leases').select(['id', 'provider_id']).where('graph_id', '=', id).where('state', '=', 'active').execute();
    await this.db.updateTable('leases').set({ state: 'cancelled', finished_at: now }).where('graph_id', '=', id).where('state', '=', 'active').execute();
    for (const l of active) this.dropLease(l.id, l.provider_id, `graph ${id} failed`);
    this.opts.log(`graph ${id} failed: ${error}`);
    const summary = await this.summaryOf(id);
    if (summary) this.emit(id, { type: 'end', graph: summary });
  }

  /** Ends the leases whose time ran out (no heartbeat). */
  async expireDue(): Promise<number> {
    const due = await this.db.selectFrom('leases').select('id').where('state', '=', 'active').where('expires_at', '<', Date.now()).limit(1000).execute();
    for (const l of due) await this.endLease(l.id, 'expired', 'no heartbeat before the lease ran out');
    return due.length;
  }

  // ---------------------------------------------------------------- assignment

  /** Gives ready subgraphs to providers with a free slot and the memory they need (never two dispatches at once). */
  dispatch(): void {
    if (this.closed) return;
    if (this.dispatching) {
      this.dispatchAgain = true;
      return;
    }
    this.dispatching = (async () => {
      do {
        this.dispatchAgain = false;
        try {
          await this.dispatchOnce();
        } catch (err) {
          if (!this.closed) this.opts.log(`dispatch failed: ${(err as Error).stack ?? err}`);
        }
      } while (this.dispatchAgain && !this.closed);
    })().finally(() => (this.dispatching = null));
  }

  /** Resolves when no dispatch is running (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.dispatching) await this.dispatching;
  }

  private async dispatchOnce(): Promise<void> {
    const open = [...this.providers.values()].filter((p) => p.open);
    // Slots each provider has left, counting the picks of this round.
    const left = new Map(open.map((p) => [p, p.capability.slots - p.leases.size]));
    const slots = [...left.values()].reduce((n, k) => n + Math.max(0, k), 0);
    if (slots <= 0) return;
    const ready = await this.db
      .selectFrom('subgraphs')
      .innerJoin('graphs', 'graphs.id', 'subgraphs.graph_id')
      .select(['subgraphs.graph_id', 'subgraphs.idx', 'subgraphs.peak_bytes', 'subgraphs.excluded'])
      .where('subgraphs.state', '=', 'ready')
      .where('graphs.status', '=', 'running')
      .orderBy('graphs.created_at')
      .orderBy('subgraphs.idx')
      .limit(Math.min(1000, slots * 4))
      .execute();
    const picks: { graphId: string; idx: number; conn: ProviderConn; id: string }[] = [];
    for (const s of ready) {
      const excluded = new Set(JSON.parse(s.excluded) as string[]);
      // A provider that fits, preferring those that never lost or failed this subgraph, then the least loaded, then the fastest.
      const fits = open
        .filter((p) => left.get(p)! > 0 && p.capability.memory_bytes >= s.peak_bytes)
        .sort((a, b) => Number(excluded.has(a.id)) - Number(excluded.has(b.id)) || b.capability.slots - left.get(b)! - (a.capability.slots - left.get(a)!) || b.capability.gflops - a.capability.gflops);
      if (!fits.length) continue;
      left.set(fits[0]!, left.get(fits[0]!)! - 1);
      picks.push({ graphId: s.graph_id, idx: s.idx, conn: fits[0]!, id: randomUUID() });
      if (picks.length >= slots) break;
    }
    if (!picks.length) return;
    // One transaction leases them all (each only if still ready).
    const now = Date.now();
    const granted = await this.db.transaction().execute(async (trx: Transaction<Database>) => {
      const ok: typeof picks = [];
      for (const p of picks) {
        const s = await trx.updateTable('subgraphs').set((eb) => ({ state: 'leased', attempts: eb('attempts', '+', 1), updated_at: now })).where('graph_id', '=', p.graphId).where('idx', '=', p.idx).where('state', '=', 'ready').executeTakeFirst();
        if (Number(s.numUpdatedRows) === 1) ok.push(p);
      }
      for (const part of chunks(ok, 200)) {
        await trx
          .insertInto('leases')
          .values(part.map((p) => ({ id: p.id, graph_id: p.graphId, idx: p.idx, provider_id: p.conn.id, token: p.conn.token, state: 'active' as const, expires_at: now + this.opts.leaseMs, created_at: now, finished_at: null })))
          .execute();
      }
      return ok;
    });
    for (const p of granted) p.conn.leases.add(p.id);
    await Promise.all(granted.map((p) => this.push(p.id, p.graphId, p.idx, p.conn)));
  }

  /** Sends a granted lease's assignment; a lease that cannot be sent ends at once. */
  private async push(id: string, graphId: string, idx: number, conn: ProviderConn): Promise<void> {
    let msg: CoordinatorMessage;
    try {
      msg = await this.assignment(id, graphId, idx);
    } catch (err) {
      this.opts.log(`lease ${id}: cannot build the assignment: ${(err as Error).message}`);
      await this.endLease(id, 'failed', `coordinator: ${(err as Error).message}`);
      return;
    }
    if (!conn.open || !conn.send(msg)) await this.endLease(id, 'expired', 'the provider went away before the assignment reached it');
  }

  private async assignment(leaseId: string, graphId: string, idx: number): Promise<CoordinatorMessage> {
    const g = await this.parsed(graphId);
    const sub = await this.db.selectFrom('subgraphs').select(['spec']).where('graph_id', '=', graphId).where('idx', '=', idx).executeTakeFirstOrThrow();
    const spec = JSON.parse(sub.spec) as Subgraph;
    const inputs = new Map<string, string>();
    for (const part of chunks(spec.inputs.map(refKey))) {
      for (const r of await this.db.selectFrom('results').select(['ref', 'sha256']).where('graph_id', '=', graphId).where('ref', 'in', part).execute()) inputs.set(r.ref, r.sha256);
    }
    const sg = subgraphGraph(g, spec, (ref: ValueRef) => {
      const sha = inputs.get(refKey(ref));
      if (!sha) throw new GraphError(`subgraph ${idx}: input ${refKey(ref)} has no result yet`);
      return sha;
    });
    const shas = [...new Set(sg.nodes.flatMap((n) => (n.kind === 'const' ? [n.blob!] : [])))];
    const blobs: { sha256: string; size: number }[] = [];
    for (const part of chunks(shas)) for (const r of await this.db.selectFrom('blobs').select(['sha256', 'size']).where('sha256', 'in', part).execute()) blobs.push(r);
    this.allowedCache.set(leaseId, new Set(shas));
    return { type: 'assign', lease: leaseId, graph_id: graphId, subgraph: idx, graph: graphJson(sg), blobs, outputs: spec.outputs.map(refKey), expires_in_ms: this.opts.leaseMs };
  }

  // ---------------------------------------------------------------- dashboard

  /**
   * Graphs with progress, subgraphs by state, providers with capability and work done, persisted
   * scalars so far. A subgraph that failed on maxFailures providers (and so failed its graph)
   * counts as failed, not as ready.
   */
  async dashboard(owner: string | null): Promise<Record<string, unknown>> {
    let q = this.db.selectFrom('graphs').select([...SUMMARY_COLS, 'owner']).orderBy('created_at', 'desc').limit(20);
    if (owner) q = q.where('owner', '=', owner);
    const graphs = await q.execute();
    const ids = graphs.map((g) => g.id);
    const counts = new Map(ids.map((id) => [id, { waiting: 0, ready: 0, leased: 0, done: 0, failed: 0 }]));
    if (ids.length) {
      const states = await this.db.selectFrom('subgraphs').select(['graph_id', 'state', (eb) => eb.fn.countAll<number>().as('n')]).where('graph_id', 'in', ids).groupBy(['graph_id', 'state']).execute();
      for (const s of states) counts.get(s.graph_id)![s.state] += Number(s.n);
      const failed = await this.db
        .selectFrom('subgraphs')
        .select(['graph_id', 'state', (eb) => eb.fn.countAll<number>().as('n')])
        .where('graph_id', 'in', ids)
        .where('state', '!=', 'done')
        .where('failures', '>=', this.opts.maxFailures)
        .groupBy(['graph_id', 'state'])
        .execute();
      for (const f of failed) {
        const c = counts.get(f.graph_id)!;
        c[f.state] -= Number(f.n);
        c.failed += Number(f.n);
      }
    }
    const out = [];
    for (const g of graphs) {
      const scalars = await this.db
        .selectFrom('persisted')
        .select(['name', 'scalar', 'ready_at'])
        .where('graph_id', '=', g.id)
        .where('scalar', 'is not', null)
        .where('name', 'not like', `${VARIABLE_PREFIX}%`)
        .orderBy('position')
        .limit(5000)
        .execute();
      const { owner: o, ...summary } = g;
      out.push({
        ...summary,
        owner: o.slice(0, 8),
        subgraphs: counts.get(g.id)!,
        persisted_scalars: scalars.map((s) => ({ name: s.name, value: s.scalar, at: s.ready_at })),
      });
    }
    const providers = await this.db.selectFrom('providers').selectAll().orderBy('created_at').limit(200).execute();
    return {
      now: Date.now(),
      graphs: out,
      providers: providers.map((p) => ({
        id: p.id, name: p.name, connected: p.connected === 1, capability: JSON.parse(p.capability), last_seen: p.last_seen,
        subgraphs_done: p.subgraphs_done, flops_done: p.flops_done, busy_ms: p.busy_ms, leases: this.providers.get(p.id)?.leases.size ?? 0,
      })),
    };
  }
}
