// The coordinator's state machine. The database holds all of it, so a restart resumes a run:
//   graph:    uploaded -> running -> done | failed
//   subgraph: waiting (for inputs) -> ready -> leased -> done, back to ready when its lease
//             expires, its provider disconnects or reports a failure
//   lease:    active -> done | expired | failed | cancelled; only an active lease's result is
//             accepted, once
// While a graph runs, its subgraphs, leases and results are also held in memory (rebuilt from
// the database at start): the ready queue, assignment and completion never read the database.
// Every change is written through a group commit (db/journal.ts), one transaction for all the
// changes of a moment, and nothing that depends on a change is acknowledged before its commit:
// a provider's result is answered, and requesters hear of progress, only once it is durable.
// An assignment may leave before its lease is committed: if the coordinator dies first, the
// provider's hello names a lease the database does not know, and the work is simply redone.
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { GraphError, RavdlError } from '../../errors.js';
import { decodeBlob, graphJson } from '../../graph/format.js';
import type { GraphData, ValueRef } from '../../graph/graph-data.js';
import { validateGraphJson } from '../../graph/validate.js';
import { numel } from '../../tensor/tensor.js';
// Registers every op of the catalog, which validation checks graphs against.
import '../../ops/index.js';
import { type Batch, type BlobWrite, type Journal, type PersistedWrite, type ProviderWrite, type ResultWrite, openJournal } from '../db/journal.js';
import type { Db } from '../db/open.js';
import type { Database, GraphsTable, LeasesTable, SubgraphsTable } from '../db/schema.js';
import type { PartitionOptions } from '../partition.js';
import {
  type Ack,
  type Assignment,
  type Capability,
  type CoordinatorMessage,
  INLINE_BLOB_BYTES,
  INLINE_EVENT_BYTES,
  INLINE_TOTAL_BYTES,
  MAX_REPLICAS,
  type PersistedInfoWire,
  VARIABLE_PREFIX,
  blobBytesFor,
  blobMeta,
  encodeFrame,
  sha256,
} from '../protocol.js';
import { type Subgraph, refKey, subgraphGraph } from '../subgraph.js';
import { ApiError, badRequest, conflict, forbidden, notFound } from './errors.js';
import { FederatedRuns } from './federated.js';
import { PLAN_IN_WORKER_NODES, Planner, type SubgraphRow, makePlan, subgraphRows } from './plan.js';
import { ReadyQueue } from './queue.js';

export interface StateOptions {
  /** How long a lease lives without a heartbeat, ms. */
  leaseMs: number;
  /** How long heartbeats can keep one lease alive, ms (a provider that never finishes loses it). */
  maxLeaseMs: number;
  /** Failures reported by providers after which a subgraph (and its graph) fails. */
  maxFailures: number;
  /** Partitioner's assumed coordinator-provider bandwidth, bytes/s. */
  bytesPerSecond: number;
  /** Partitioner's assumed provider speed, FLOP/s (default: the connected providers' median). */
  flopsPerSecond?: number;
  /** Training steps may be split along the batch (default true). */
  dataParallel?: boolean;
  /** Longest estimated compute time of one subgraph, seconds (the partitioner's maxSeconds). */
  maxSubgraphSeconds?: number;
  /** Splits a graph into subgraphs (default: planPartition() of lib/ravenverse/partition.ts, see plan.ts). */
  partitioner?: (g: GraphData, opts: PartitionOptions) => Subgraph[];
  /** Graphs with this many nodes or more are planned in the planning thread (default PLAN_IN_WORKER_NODES). */
  planInWorkerNodes?: number;
  maxNodes: number;
  maxValueBytes: number;
  maxBlobBytes: number;
  /** Most unfinished resumable uploads per requester. */
  maxPendingUploads: number;
  /** Bytes of small blobs kept in memory to send inline and serve without the database (default 64 MiB). */
  blobCacheBytes?: number;
  /** Writes batches (default: openJournal(store)); tests give one that fails. */
  journal?: Journal;
  log: (line: string) => void;
}

/** A connected provider, as the WebSocket layer gives it. */
export interface ProviderConn {
  id: string;
  token: string;
  name: string;
  capability: Capability;
  /** 2: binary assignments with inline inputs, completions over the WebSocket (protocol.ts). */
  protocol: number;
  leases: Set<string>;
  open: boolean;
  send(msg: CoordinatorMessage): boolean;
  /** Sends a prepared text or binary frame. */
  sendRaw(data: string | Buffer): boolean;
  close(code: number, reason: string): void;
  /** Protocol 3: the answers to completions waiting for an assignment to ride on (taken: they leave with it). */
  takeAcks?(): Ack[] | null;
}

export interface GraphSummary {
  id: string;
  name: string;
  algorithm: string;
  approach: string;
  /** Providers of different tokens that must return the same results for a subgraph (1: no verification). */
  replicas: number;
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

export type CompletionStatus = 'accepted' | 'duplicate' | 'ignored';

interface OutputMetaRow {
  ref: string;
  shape: number[];
  dtype: string;
}

/** What the coordinator knows of a result blob a provider sent. */
interface ResultInfo {
  dtype: string;
  shape: string;
  size: number;
  scalar: number | null;
}

/** A subgraph of a running graph, in memory. */
interface SubRt {
  graphId: string;
  idx: number;
  state: SubgraphsTable['state'];
  depsLeft: number;
  dependents: number[];
  spec: Subgraph;
  outputs: OutputMetaRow[];
  constBlobs: string[];
  peakBytes: number;
  flops: number;
  nodeCount: number;
  attempts: number;
  failures: number;
  /** Providers whose lease of it failed or ran out (given it again only when no other provider fits). */
  excluded: Set<string>;
  /** Providers whose lease of it failed (from the leases table at a restart): one failing again and again fails no graph. */
  failedBy: Set<string>;
  lastError: string | null;
  doneBy: string | null;
  updatedAt: number;
  /** Active leases of it. */
  active: number;
  /** In the ready queue (entries whose subgraph is no longer ready are skipped when popped). */
  queued: boolean;
  /** Replicated runs: the results returned so far, one vote per completed lease (in memory; a restart collects them again). */
  votes: Vote[] | null;
  /** Replicated runs: the tokens of its active leases (its replicas run at once, each on another token). */
  leasedTokens: Set<string> | null;
}

/** A completed lease's results, waiting for providers of other tokens to agree (verification by replication). */
interface Vote {
  /** Its output SHA-256s in output order. */
  key: string;
  token: string;
  provider: string;
  lease: string;
  outputs: Record<string, string>;
  info: Map<string, ResultInfo>;
  ms: number;
}

/** A running graph, in memory. */
interface GraphRt {
  id: string;
  owner: string;
  /** Providers of different tokens whose results must agree before a subgraph's are taken (1: no verification). */
  replicas: number;
  summary: GraphSummary;
  g: GraphData;
  subs: SubRt[];
  ready: ReadyQueue;
  /** Its active leases (its requester's share of the providers now). */
  active: number;
  /** When it was last given a slot (a number from a counter; 0: never): among equal shares the least recent goes first. */
  servedAt: number;
  /** "node:output" -> its result's SHA-256. */
  results: Map<string, string>;
  /** Sizes of its constants' and results' blobs. */
  sizes: Map<string, number>;
  /** Persisted names not computed yet, by the value they name. */
  unfilled: Map<string, string[]>;
  /** Persisted values filled since the last commit (announced once it is durable). */
  fresh: PersistedInfo[];
  /** Persisted values announced in this run (committed): name -> SHA-256, so requesters' fetches need no query. */
  announced: Map<string, string>;
}

/** A lease, in memory while active (and until its end is committed). */
interface LeaseRt extends LeasesTable {
  /** Results uploaded over HTTP for it (null until one is). */
  uploaded: Map<string, ResultInfo> | null;
  /** The blobs its provider may download (computed with its assignment). */
  allowed: Set<string> | null;
  /** Resolves when its end (done) is durable. */
  durable: Promise<void> | null;
}

interface Dirty {
  leases: Set<LeaseRt>;
  subs: Set<SubRt>;
  graphs: Set<GraphRt>;
  blobs: Map<string, BlobWrite>;
  results: ResultWrite[];
  persisted: PersistedWrite[];
  providers: Map<string, ProviderWrite>;
}

const newDirty = (): Dirty => ({ leases: new Set(), subs: new Set(), graphs: new Set(), blobs: new Map(), results: [], persisted: [], providers: new Map() });
const isDirty = (d: Dirty) => d.leases.size + d.subs.size + d.graphs.size + d.blobs.size + d.results.length + d.persisted.length + d.providers.size > 0;

const CHUNK = 400; // rows or values per statement, well under SQLite's and PostgreSQL's parameter limits
const chunks = <T>(xs: readonly T[], n = CHUNK): T[][] => Array.from({ length: Math.ceil(xs.length / n) }, (_, i) => xs.slice(i * n, i * n + n));
const SUMMARY_COLS = ['id', 'name', 'algorithm', 'approach', 'replicas', 'status', 'error', 'nodes_total', 'nodes_done', 'subgraphs_total', 'subgraphs_done', 'persisted_total', 'persisted_done', 'created_at', 'updated_at'] as const;
/** How often a provider's last_seen is written while it only heartbeats, ms. */
const LAST_SEEN_EVERY_MS = 10_000;
// At most this many bytes of int32 constants are read to plan a data-parallel split.
const PLAN_CONST_BYTES = 64 * 2 ** 20;
// With fewer than maxFailures providers fitting a subgraph, it fails its graph after this many failed attempts per maxFailures.
const FAILED_ATTEMPTS_PER_PROVIDER = 3;
/** A housekeeping period in days, for the log. */
const days = (ms: number) => (ms / 86_400_000).toFixed(ms < 86_400_000 ? 3 : 0);
/** A graph's error when its requester's token is revoked. */
const REVOKED = "the requester's token was revoked";

/** The float a one-element F32 blob holds (its data follows the 8-byte length and the header). */
function scalarOf(bytes: Uint8Array): number {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = b.readUInt32LE(0) + b.readUInt32LE(4) * 2 ** 32;
  return b.readFloatLE(8 + n);
}

/**
 * Small blobs by SHA-256 (content-addressed: never stale), evicted oldest first with a second
 * chance for those read since they were last passed over (a read only sets a flag: no map churn).
 */
class BlobCache {
  private map = new Map<string, { data: Buffer; used: boolean }>();
  private bytes = 0;
  constructor(private budget: number) {}
  get(sha: string): Buffer | undefined {
    const e = this.map.get(sha);
    if (!e) return undefined;
    e.used = true;
    return e.data;
  }
  put(sha: string, data: Uint8Array): void {
    if (data.length > this.budget / 64 || this.map.has(sha)) return;
    const b = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    this.map.set(sha, { data: b, used: false });
    this.bytes += b.length;
    // Walked only when over budget: walking a Map that churns steps over its deleted entries.
    if (this.bytes <= this.budget) return;
    // Entries moved to the end are met again by the same walk, then evicted (each gets one second chance).
    for (const [k, e] of this.map) {
      if (this.bytes <= this.budget) break;
      this.map.delete(k);
      if (e.used) {
        e.used = false;
        this.map.set(k, e);
      } else this.bytes -= e.data.length;
    }
  }
}

/** Settles a promise without an unhandled rejection when nobody waits on it. */
const quiet = <T>(p: Promise<T>): Promise<T> => (p.catch(() => {}), p);

export class CoordinatorState {
  readonly db: Kysely<Database>;
  /** Connected providers by id. */
  readonly providers = new Map<string, ProviderConn>();
  private parsedGraphs = new Map<string, GraphData>();
  private listeners = new Map<string, Set<(e: GraphEvent) => void>>();
  /** Running graphs by id, and in the order they are served (oldest first). */
  private graphs = new Map<string, GraphRt>();
  private running: GraphRt[] = [];
  /** Counts slots given (GraphRt.servedAt). */
  private served = 0;
  /** Active leases (and ended ones until their end is committed). */
  private leases = new Map<string, LeaseRt>();
  private cache: BlobCache;
  private journal: Journal;
  private planner = new Planner();
  private dirty = newDirty();
  private inFlight: Promise<void> | null = null;
  private flushAgain = false;
  /**
   * Set while stored blobs are being deleted (housekeeping, a graph's deletion): group commits
   * wait, and so do the writes that would name a blob already stored, so none can name one that
   * the deletion removes. Each deletion counts `blobEpoch` up.
   */
  private removing: Promise<void> | null = null;
  private blobEpoch = 0;
  /** Result blobs being written by putResults (counted: two leases may upload the same one). */
  private uploading = new Map<string, number>();
  /**
   * Result blobs stored before any result named them: uploaded over HTTP for a lease, or a
   * replica's vote. Housekeeping deletes those that no result came to name (the lease ended
   * unused, the vote lost).
   */
  private unclaimed = new Set<string>();
  private flushTimer: NodeJS.Timeout | null = null;
  private waiters: { resolve: () => void; reject: (e: Error) => void; promise?: Promise<void> }[] = [];
  private tickScheduled = false;
  private wantDispatch = false;
  /** Resolves when the in-memory state matches the database (after start, or a reload). */
  private loaded: Promise<void> = Promise.resolve();
  private reloading = false;
  private closed = false;
  private lastSeenWritten = new Map<string, number>();
  /** Requester tokens revoked (revokeOwner). */
  private revokedOwners = new Set<string>();
  /** Federated graphs (contributions instead of leases). */
  readonly federated: FederatedRuns;

  constructor(
    readonly store: Db,
    readonly opts: StateOptions,
  ) {
    this.db = store.db;
    this.cache = new BlobCache(opts.blobCacheBytes ?? 64 * 2 ** 20);
    this.journal = opts.journal ?? openJournal(store);
    this.federated = new FederatedRuns({ db: this.db, lockRows: store.kind === 'postgres', emit: (id, e) => this.emit(id, e), summaryOf: (id) => this.summaryOf(id) });
  }

  /** After a restart: providers are gone until they reconnect; running graphs, their queues and active leases come back into memory, each lease with one lease time for its provider to return. */
  async recover(): Promise<void> {
    await this.db.updateTable('providers').set({ connected: 0 }).execute();
    this.loaded = this.load();
    await this.loaded;
  }

  close(): void {
    this.closed = true;
    for (const set of this.listeners.values()) set.clear();
  }

  /** After close(): writes what is left, then stops the journal's writer. */
  async shutdown(): Promise<void> {
    await this.idle();
    await this.journal.close?.();
    await this.planner.close();
  }

  /** Resolves when every change made so far is committed (or its batch failed). */
  async idle(): Promise<void> {
    for (let i = 0; i < 1000 && (this.inFlight || isDirty(this.dirty) || this.tickScheduled); i++) {
      if (this.inFlight) await this.inFlight.catch(() => {});
      else if (this.removing) await this.removing; // the commits wait for a deletion of blobs
      else await new Promise((r) => setImmediate(r));
    }
  }

  /** What is queued in memory (tests compare it with the database after a restart). */
  queueSnapshot(): { graph: string; ready: number[]; leased: number[]; leases: string[] }[] {
    return this.running.map((g) => ({
      graph: g.id,
      ready: g.subs.filter((s) => s.state === 'ready').map((s) => s.idx),
      leased: g.subs.filter((s) => s.state === 'leased').map((s) => s.idx),
      leases: [...this.leases.values()].filter((l) => l.graph_id === g.id && l.state === 'active').map((l) => l.id).sort(),
    }));
  }

  // ---------------------------------------------------------------- graphs (requesters)

  private async graphRow(owner: string, id: string): Promise<GraphsTable> {
    const row = await this.db.selectFrom('graphs').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw notFound(`no graph ${id}`);
    if (row.owner !== owner) throw forbidden(`graph ${id} belongs to another requester`);
    return row;
  }

  /** 404 or 403 unless the graph is the requester's (its summary without graph.json, which can be large). */
  private async ownGraph(owner: string, id: string): Promise<GraphSummary> {
    const row = await this.db.selectFrom('graphs').select([...SUMMARY_COLS, 'owner']).where('id', '=', id).executeTakeFirst();
    if (!row) throw notFound(`no graph ${id}`);
    if (row.owner !== owner) throw forbidden(`graph ${id} belongs to another requester`);
    const { owner: _, ...summary } = row;
    return summary as GraphSummary;
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
          id, owner, name: g.info.name.slice(0, 200), algorithm: g.info.algorithm.slice(0, 200), approach: g.info.approach, replicas: 1, status: 'uploaded',
          graph_json: json, json_sha256: jsonSha, nodes_total: g.nodes.length, nodes_done: 0, const_nodes: consts,
          subgraphs_total: 0, subgraphs_done: 0, persisted_total: g.persist.size, persisted_done: 0, error: null, created_at: now, updated_at: now, pruned_at: null,
        })
        .onConflict((oc) => oc.column('id').doNothing())
        .execute();
      this.parsedGraphs.set(id, g);
    }
    // The uploads it names are in use again (housekeeping releases those unused for --keep-days): marked before they are looked up.
    const now = Date.now();
    for (const part of chunks(blobs)) await this.db.updateTable('blob_owners').set({ used_at: now }).where('owner', '=', owner).where('sha256', 'in', part).execute();
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
    return this.ownGraph(owner, id);
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
    return rows.map((r) => this.attachData({ name: r.name, sha256: r.sha256!, dtype: r.dtype, shape: JSON.parse(r.shape) }));
  }

  /** Puts a small value's blob in its announcement when it is in memory, so its requester needs no download. */
  private attachData(p: PersistedInfo): PersistedInfo {
    const bytes = this.cache.get(p.sha256);
    if (bytes && bytes.length <= INLINE_EVENT_BYTES) p.data = bytes.toString('base64');
    return p;
  }

  async persistedList(owner: string, id: string): Promise<{ name: string; sha256: string | null }[]> {
    await this.ownGraph(owner, id);
    return this.db.selectFrom('persisted').select(['name', 'sha256']).where('graph_id', '=', id).orderBy('position').execute();
  }

  /** Partitions the graph and queues its subgraphs; a second call answers the run's state. */
  async execute(owner: string, id: string, opts: { replicas?: number } = {}): Promise<GraphSummary> {
    const replicas = opts.replicas ?? 1;
    if (!Number.isSafeInteger(replicas) || replicas < 1 || replicas > MAX_REPLICAS) throw badRequest(`replicas must be an integer from 1 to ${MAX_REPLICAS}, got ${JSON.stringify(opts.replicas)}`);
    await this.loaded;
    const row = await this.graphRow(owner, id);
    if (row.status !== 'uploaded') return this.summary(owner, id);
    let g = await this.parsed(id, row.graph_json);
    if (g.info.rules) {
      if (replicas > 1) throw badRequest(`graph ${id} is federated: replicas apply to distributed graphs`);
      // Federated: nothing to plan or lease; it waits for its providers' statistics (federated.ts).
      const started = await this.federated.start(id, g);
      const summary = await this.summary(owner, id);
      if (started) {
        if (this.revokedOwners.has(owner)) await this.federated.failOwner(owner, REVOKED);
        this.emit(id, { type: 'progress', graph: summary });
        this.opts.log(`graph ${id} ('${row.name}'): federated, waiting for ${g.info.rules.max_clients} provider(s) to contribute`);
      }
      return summary;
    }
    // Every constant must be a blob this requester uploaded, holding what the node declares.
    const constNodes = g.nodes.flatMap((n) => (n.kind === 'const' ? [n] : []));
    const shas = [...new Set(constNodes.map((n) => n.blob!))];
    const metas = new Map<string, { dtype: string; shape: string; size: number }>();
    for (const part of chunks(shas)) {
      const rows = await this.db
        .selectFrom('blobs')
        .innerJoin('blob_owners', 'blob_owners.sha256', 'blobs.sha256')
        .select(['blobs.sha256', 'blobs.dtype', 'blobs.shape', 'blobs.size'])
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
    const partOpts: PartitionOptions = {
      providers: Math.max(1, connected.length),
      flopsPerSecond: this.opts.flopsPerSecond ?? (gflops.length ? gflops[gflops.length >> 1]! * 1e9 : undefined),
      bytesPerSecond: this.opts.bytesPerSecond,
      dataParallel: this.opts.dataParallel,
      maxSeconds: this.opts.maxSubgraphSeconds,
    };
    let subs: Subgraph[];
    let rows: SubgraphRow[];
    let splitJson: string | null = null;
    let planNote = '';
    if (this.opts.partitioner) {
      subs = this.opts.partitioner(g, partOpts);
      rows = subgraphRows(g, subs);
    } else {
      // The cost model's plan, with training steps split along the batch when that pays (the split graph replaces the
      // uploaded one for the run: same constants, same persisted names).
      // The int32 constants (class targets) are read for it: a split must prove no target equals ignore_index.
      const targets = constNodes.filter((n) => n.dtype === 'int32');
      const targetBytes = targets.reduce((sum, n) => sum + (metas.get(n.blob!)?.size ?? 0), 0);
      if (this.opts.dataParallel !== false && connected.length > 1 && targetBytes <= PLAN_CONST_BYTES) {
        const bytes = await this.blobData([...new Set(targets.map((n) => n.blob!))]);
        for (const n of targets) n.data = decodeBlob(bytes.get(n.blob!)!, n.blob!, n, `graph ${id}: node (const)`);
      }
      // A large graph is planned in the planning thread: seconds of work the event loop must not wait on.
      const inWorker = g.nodes.length >= (this.opts.planInWorkerNodes ?? PLAN_IN_WORKER_NODES);
      const plan = inWorker ? await this.planner.plan(g, partOpts, this.opts.maxNodes) : makePlan(g, partOpts, this.opts.maxNodes);
      for (const n of constNodes) n.data = null; // only the plan needed them
      if (plan.split) g = plan.split;
      ({ subs, rows, splitJson, note: planNote } = plan);
      if (inWorker) planNote = `${planNote}; planned in the planning thread`;
    }
    const now = Date.now();
    const subRows: SubgraphsTable[] = rows.map((r) => ({ ...r, graph_id: id, updated_at: now }));
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
        .set({
          status: subs.length ? 'running' : 'done', replicas, subgraphs_total: subs.length, nodes_done: row.const_nodes, persisted_done: persistedDone, updated_at: now,
          ...(splitJson ? { graph_json: splitJson, nodes_total: g.nodes.length } : {}), // json_sha256 stays the upload's: a repeated PUT still matches
        })
        .where('id', '=', id)
        .where('status', '=', 'uploaded')
        .executeTakeFirst();
      if (Number(upd.numUpdatedRows) !== 1) return false; // another call started it
      for (const part of chunks(subRows, 100)) await trx.insertInto('subgraphs').values(part).execute();
      for (const part of chunks(persistRows, 200)) await trx.insertInto('persisted').values(part).execute();
      return true;
    });
    if (started && splitJson) this.parsedGraphs.set(id, g);
    const summary = await this.summary(owner, id);
    if (started) {
      if (summary.status === 'running') {
        const sizes = new Map([...metas].map(([sha, m]) => [sha, m.size]));
        await this.cacheSmallBlobs([...metas].filter(([, m]) => m.size <= INLINE_BLOB_BYTES).map(([sha]) => sha));
        const unfilled = persistRows.filter((p) => !p.sha256).map((p) => [p.ref, p.name] as const);
        const rt = this.addRuntime(owner, replicas, summary, g, subRows.map((r, i) => ({ row: r, spec: subs[i]! })), new Map(), sizes, unfilled);
        if (this.revokedOwners.has(owner)) this.failGraph(rt, REVOKED); // revoked while this call was planning
      }
      this.opts.log(`graph ${id} ('${row.name}'): ${g.nodes.length} nodes in ${subs.length} subgraph(s) for ${connected.length} provider(s)${planNote ? `; data parallel: ${planNote}` : ''}`);
      this.emit(id, { type: 'progress', graph: summary });
      if (summary.status === 'done') this.emit(id, { type: 'end', graph: summary });
      this.dispatch();
    }
    return summary;
  }

  /** The blob of a persisted value; 409 ERR_NOT_READY until it is computed. */
  async persistedBlob(owner: string, id: string, name: string): Promise<{ sha256: string; data: Buffer }> {
    const [b] = await this.persistedBlobs(owner, id, [name]);
    return { sha256: b!.sha256, data: b!.bytes };
  }

  /** The blobs of several persisted values, each once (the names may share one); 409 ERR_NOT_READY if one is not computed yet. */
  async persistedBlobs(owner: string, id: string, names: readonly string[]): Promise<{ sha256: string; bytes: Buffer }[]> {
    // A running graph's values announced so far are known in memory (a requester fetches them as they come).
    const rt = this.graphs.get(id);
    if (rt && rt.owner === owner && names.every((n) => rt.announced.has(n))) {
      const shas = [...new Set(names.map((n) => rt.announced.get(n)!))];
      const data = await this.blobData(shas);
      return shas.map((sha) => ({ sha256: sha, bytes: data.get(sha)! }));
    }
    await this.ownGraph(owner, id);
    const shaOf = new Map<string, string | null>();
    for (const part of chunks([...new Set(names)])) {
      for (const p of await this.db.selectFrom('persisted').select(['name', 'sha256']).where('graph_id', '=', id).where('name', 'in', part).execute()) shaOf.set(p.name, p.sha256);
    }
    for (const name of names) {
      if (!shaOf.has(name)) throw notFound(`graph ${id} persists no value named '${name}'`);
      if (!shaOf.get(name)) throw new ApiError(409, 'ERR_NOT_READY', `graph ${id}: '${name}' is not computed yet`);
    }
    const shas = [...new Set(names.map((n) => shaOf.get(n)!))];
    const data = await this.blobData(shas);
    return shas.map((sha) => ({ sha256: sha, bytes: data.get(sha)! }));
  }

  /** Blob bytes from the cache or the database. */
  private async blobData(shas: readonly string[]): Promise<Map<string, Buffer>> {
    const found = new Map<string, Buffer>();
    const want: string[] = [];
    for (const sha of shas) {
      const hit = this.cache.get(sha);
      if (hit) found.set(sha, hit);
      else want.push(sha);
    }
    for (const part of chunks(want, 50)) {
      for (const r of await this.db.selectFrom('blobs').select(['sha256', 'data']).where('sha256', 'in', part).execute()) {
        found.set(r.sha256, r.data);
        this.cache.put(r.sha256, r.data);
      }
    }
    for (const sha of shas) if (!found.has(sha)) throw notFound(`blob ${sha} is not stored`);
    return found;
  }

  /** Loads small blobs into the cache (they travel inline with assignments). */
  private async cacheSmallBlobs(shas: readonly string[]): Promise<void> {
    const want = shas.filter((s) => !this.cache.get(s)).slice(0, 4096);
    for (const part of chunks(want, 100)) {
      for (const r of await this.db.selectFrom('blobs').select(['sha256', 'data']).where('sha256', 'in', part).where('size', '<=', INLINE_BLOB_BYTES).execute()) this.cache.put(r.sha256, r.data);
    }
  }

  /** Deletes a graph, its subgraphs, leases and results (and result blobs nothing else uses). */
  async deleteGraph(owner: string, id: string): Promise<void> {
    await this.ownGraph(owner, id);
    // Out of memory first (its leases cancelled, its pending writes dropped), then out of the database.
    const rt = this.graphs.get(id);
    if (rt) this.forget(rt, 'the graph was deleted');
    await this.removingBlobs((inUse) => this.db.transaction().execute(async (trx) => {
      const shas = (await trx.selectFrom('results').select('sha256').where('graph_id', '=', id).execute()).map((r) => r.sha256);
      await trx.deleteFrom('results').where('graph_id', '=', id).execute();
      await trx.deleteFrom('persisted').where('graph_id', '=', id).execute();
      await trx.deleteFrom('leases').where('graph_id', '=', id).execute();
      await trx.deleteFrom('subgraphs').where('graph_id', '=', id).execute();
      await trx.deleteFrom('federated_contributions').where('graph_id', '=', id).execute();
      await trx.deleteFrom('graphs').where('id', '=', id).execute();
      await this.dropUnusedBlobs(trx, shas, inUse);
    }));
    this.parsedGraphs.delete(id);
    const set = this.listeners.get(id);
    if (set) for (const fn of set) fn({ type: 'end', graph: { id, status: 'failed', error: 'deleted' } as GraphSummary });
    this.listeners.delete(id);
  }

  /**
   * Housekeeping (every minute): a graph that ended loses the results only its run needed (each
   * subgraph's outputs, the inputs of the next ones; its persisted values stay), graphs that
   * ended (or were uploaded and never run) more than `keepMs` ago are deleted, and uploads no
   * graph named for `keepMs` are released (0: both kept). At most `limit` graphs of each kind per
   * call; result blobs stored before anything named them are deleted once nothing does. Returns
   * how many graphs were pruned and deleted, uploads released and unclaimed blobs deleted.
   */
  async maintain(keepMs: number, limit = 20): Promise<{ pruned: number; deleted: number; released: number; unclaimed: number }> {
    await this.loaded;
    const unclaimed = await this.dropUnclaimed();
    const ended = await this.db.selectFrom('graphs').select('id').where('status', 'in', ['done', 'failed']).where('pruned_at', 'is', null).limit(limit).execute();
    for (const { id } of ended) await this.prune(id);
    let deleted = 0;
    let released = 0;
    if (keepMs > 0) {
      const old = await this.db.selectFrom('graphs').select(['id', 'owner']).where('status', 'in', ['done', 'failed', 'uploaded']).where('updated_at', '<', Date.now() - keepMs).limit(limit).execute();
      for (const g of old) {
        try {
          await this.deleteGraph(g.owner, g.id);
          deleted++;
        } catch (err) {
          if (!(err instanceof ApiError && err.status === 404)) throw err; // deleted meanwhile by its requester
        }
      }
      if (deleted) this.opts.log(`deleted ${deleted} graph(s) that ended more than ${days(keepMs)} day(s) ago`);
      released = await this.releaseUploads(keepMs, limit * 50);
    }
    return { pruned: ended.length, deleted, released, unclaimed };
  }

  /** Deletes the unclaimed result blobs nothing names and the running state no longer needs. Returns how many. */
  private async dropUnclaimed(): Promise<number> {
    if (!this.unclaimed.size) return 0;
    return this.removingBlobs((inUse) =>
      this.db.transaction().execute(async (trx) => {
        const done = [...this.unclaimed].filter((sha) => !inUse.has(sha)); // those in use are looked at again next time
        const dropped = await this.dropUnusedBlobs(trx, done, inUse);
        for (const sha of done) this.unclaimed.delete(sha);
        if (dropped) this.opts.log(`deleted ${dropped} result blob(s) no result named (uploaded for a lease that ended unused, or outvoted)`);
        return dropped;
      }),
    );
  }

  /**
   * Requesters' uploads no graph of theirs named for keepMs are released (and their blobs deleted
   * when nothing else names them), except those a running graph reads. Returns how many.
   */
  private async releaseUploads(keepMs: number, limit: number): Promise<number> {
    // Looked for first: the commits pause only when there is something to release.
    if (!(await this.db.selectFrom('blob_owners').select('sha256').where('used_at', '<', Date.now() - keepMs).limit(1).executeTakeFirst())) return 0;
    return this.removingBlobs((inUse) =>
      this.db.transaction().execute(async (trx) => {
        const cutoff = Date.now() - keepMs;
        const old = (await trx.selectFrom('blob_owners').select(['sha256', 'owner']).where('used_at', '<', cutoff).limit(limit).execute()).filter((o) => !inUse.has(o.sha256));
        let released = 0;
        for (const o of old) {
          // Named again since it was listed (a graph's upload marks it first): kept.
          const r = await trx.deleteFrom('blob_owners').where('sha256', '=', o.sha256).where('owner', '=', o.owner).where('used_at', '<', cutoff).executeTakeFirst();
          released += Number(r.numDeletedRows);
        }
        await this.dropUnusedBlobs(trx, old.map((o) => o.sha256), inUse);
        if (released) this.opts.log(`released ${released} upload(s) no graph named for ${days(keepMs)} day(s)`);
        return released;
      }),
    );
  }

  /** Deletes an ended graph's results that no persisted value names, and the blobs nothing else uses. */
  private async prune(id: string): Promise<void> {
    await this.removingBlobs((inUse) => this.db.transaction().execute(async (trx) => {
      const keep = trx.selectFrom('persisted').select('sha256').where('graph_id', '=', id).where('sha256', 'is not', null);
      const gone = await trx.selectFrom('results').select('sha256').where('graph_id', '=', id).where('sha256', 'not in', keep).execute();
      await trx.deleteFrom('results').where('graph_id', '=', id).where('sha256', 'not in', keep).execute();
      await this.dropUnusedBlobs(trx, gone.map((r) => r.sha256), inUse);
      await trx.updateTable('graphs').set({ pruned_at: Date.now() }).where('id', '=', id).execute();
    }));
  }

  /**
   * Runs a deletion of stored blobs with the group commits paused (the one in flight ends first),
   * given the blobs the memory still names (results of running graphs not committed yet, votes,
   * uploads of active leases, the next batch's blobs): those are not deleted.
   */
  private async removingBlobs<T>(fn: (inUse: Set<string>) => Promise<T>): Promise<T> {
    await this.notRemoving(); // one deletion at a time
    let ended!: () => void;
    this.removing = new Promise<void>((r) => (ended = r));
    this.blobEpoch++;
    try {
      await this.settled();
      return await fn(this.blobsInUse());
    } finally {
      this.removing = null;
      ended();
      this.kick();
    }
  }

  /** The blobs the running state names that the database may not (yet) tie to a result. */
  private blobsInUse(): Set<string> {
    const inUse = new Set<string>([...this.dirty.blobs.keys(), ...this.uploading.keys()]);
    for (const rt of this.graphs.values()) {
      for (const sha of rt.results.values()) inUse.add(sha);
      for (const sub of rt.subs) for (const sha of sub.constBlobs) inUse.add(sha);
      for (const sub of rt.subs) for (const v of sub.votes ?? []) for (const sha of Object.values(v.outputs)) inUse.add(sha);
    }
    for (const l of this.leases.values()) for (const sha of l.uploaded?.keys() ?? []) inUse.add(sha);
    return inUse;
  }

  /** Waits for a deletion of blobs to end before a write that names stored blobs. */
  private async notRemoving(): Promise<void> {
    for (let i = 0; i < 1000 && this.removing; i++) await this.removing;
  }

  /**
   * A write of blobs outside the group commit (a blob stored already is not written again):
   * they count as in use from now on, and it waits for a deletion under way to end.
   */
  private async writingBlobs<T>(shas: readonly string[], write: () => Promise<T>): Promise<T> {
    for (const sha of shas) this.uploading.set(sha, (this.uploading.get(sha) ?? 0) + 1);
    try {
      await this.notRemoving();
      return await write();
    } finally {
      for (const sha of shas) {
        const n = this.uploading.get(sha)! - 1;
        if (n) this.uploading.set(sha, n);
        else this.uploading.delete(sha);
      }
    }
  }

  /** Deletes those of these blobs that no result, persisted value, requester's upload or running graph names. Returns how many. */
  private async dropUnusedBlobs(trx: Kysely<Database>, shas: readonly string[], inUse: Set<string>): Promise<number> {
    let dropped = 0;
    for (const part of chunks([...new Set(shas)].filter((sha) => !inUse.has(sha)))) {
      const r = await trx
        .deleteFrom('blobs')
        .where('sha256', 'in', part)
        .where(({ not, exists, selectFrom }) => not(exists(selectFrom('results').select('results.sha256').whereRef('results.sha256', '=', 'blobs.sha256'))))
        .where(({ not, exists, selectFrom }) => not(exists(selectFrom('persisted').select('persisted.sha256').whereRef('persisted.sha256', '=', 'blobs.sha256'))))
        .where(({ not, exists, selectFrom }) => not(exists(selectFrom('blob_owners').select('blob_owners.sha256').whereRef('blob_owners.sha256', '=', 'blobs.sha256'))))
        .executeTakeFirst();
      dropped += Number(r.numDeletedRows);
    }
    return dropped;
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
    await this.writingBlobs([sha], () =>
      this.db.transaction().execute(async (trx) => {
        await trx.insertInto('blobs').values({ sha256: sha, size: whole.length, dtype: meta.dtype, shape: JSON.stringify(meta.shape), data: whole, created_at: now }).onConflict((oc) => oc.column('sha256').doNothing()).execute();
        await trx.insertInto('blob_owners').values({ sha256: sha, owner, used_at: now }).onConflict((oc) => oc.columns(['sha256', 'owner']).doUpdateSet({ used_at: now })).execute();
        await trx.deleteFrom('upload_parts').where('owner', '=', owner).where('sha256', '=', sha).execute();
        await trx.deleteFrom('uploads').where('owner', '=', owner).where('sha256', '=', sha).execute();
      }),
    );
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
    await this.loaded;
    const now = Date.now();
    const row = await this.db.selectFrom('providers').select('token').where('id', '=', conn.id).executeTakeFirst();
    if (row && row.token !== conn.token) throw forbidden(`provider id ${conn.id} belongs to another provider token`);
    const cap = JSON.stringify(conn.capability);
    await this.db
      .insertInto('providers')
      .values({ id: conn.id, token: conn.token, name: conn.name, capability: cap, gflops: conn.capability.gflops, memory_bytes: conn.capability.memory_bytes, connected: 1, last_seen: now, subgraphs_done: 0, flops_done: 0, busy_ms: 0, disputed: 0, created_at: now })
      .onConflict((oc) => oc.column('id').doUpdateSet({ name: conn.name, capability: cap, gflops: conn.capability.gflops, memory_bytes: conn.capability.memory_bytes }))
      .execute();
    // Connected-ness goes through the group commit, so it lands after an earlier disconnect of the same provider.
    this.markProvider(conn.id, { connected: 1, last_seen: now });
    this.lastSeenWritten.set(conn.id, now);
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
    for (const id of leases.slice(0, 64)) {
      const l = this.leases.get(id);
      if (!l || l.state !== 'active' || l.token !== conn.token || l.provider_id !== conn.id) continue;
      l.expires_at = now + this.opts.leaseMs;
      conn.leases.add(id);
      resumed.push(id);
    }
    this.opts.log(`provider ${conn.name} (${conn.id}) connected: ${conn.capability.gflops.toFixed(1)} GFLOP/s, ${(conn.capability.memory_bytes / 2 ** 20).toFixed(0)} MiB${resumed.length ? `, resumed ${resumed.length} lease(s)` : ''}`);
    return resumed;
  }

  /** Extends the leases a provider says it is working on (in memory: a restart gives every active lease a fresh lease time anyway). */
  async heartbeat(conn: ProviderConn, leases: readonly string[]): Promise<void> {
    const now = Date.now();
    for (const id of leases) {
      if (!conn.leases.has(id)) continue;
      const l = this.leases.get(id);
      if (l?.state === 'active' && l.created_at > now + this.opts.leaseMs - this.opts.maxLeaseMs) l.expires_at = now + this.opts.leaseMs;
    }
    if (now - (this.lastSeenWritten.get(conn.id) ?? 0) >= LAST_SEEN_EVERY_MS) {
      this.lastSeenWritten.set(conn.id, now);
      this.markProvider(conn.id, { last_seen: now });
    }
  }

  async disconnected(conn: ProviderConn): Promise<void> {
    conn.open = false;
    if (this.providers.get(conn.id) !== conn) return; // replaced by a newer connection
    this.providers.delete(conn.id);
    if (this.closed) return;
    this.markProvider(conn.id, { connected: 0, last_seen: Date.now() });
    // Its work goes back to the queue at once: nothing it sends for these leases is accepted any more.
    for (const l of [...conn.leases]) this.endLease(l, 'expired', 'the provider disconnected');
    this.opts.log(`provider ${conn.name} (${conn.id}) disconnected`);
  }

  /** The lease in memory, or its row from the database once it ended; 404 or 403 when it is not this token's. */
  private async lookupLease(token: string, leaseId: string): Promise<LeaseRt | LeasesTable> {
    const l = this.leases.get(leaseId) ?? (await this.db.selectFrom('leases').selectAll().where('id', '=', leaseId).executeTakeFirst());
    if (!l) throw notFound(`no lease ${leaseId}`);
    if (l.token !== token) throw forbidden(`lease ${leaseId} belongs to another provider`);
    return l;
  }

  private ended(l: LeaseRt | LeasesTable, what: string): ApiError {
    // A lease active in the database but not in memory is not this coordinator's to serve.
    const state = l.state === 'active' && !('uploaded' in l) ? 'not held by this coordinator' : l.state;
    return new ApiError(409, 'ERR_LEASE_ENDED', `lease ${l.id} is ${state}${what}`);
  }

  /** The active lease (in memory) or a 409 ERR_LEASE_ENDED. */
  private async liveLease(token: string, leaseId: string, what: string): Promise<LeaseRt> {
    const l = await this.lookupLease(token, leaseId);
    if (!('uploaded' in l) || l.state !== 'active' || !this.subOf(l)) throw this.ended(l, what);
    return l;
  }

  private subOf(l: LeasesTable): { rt: GraphRt; sub: SubRt } | null {
    const rt = this.graphs.get(l.graph_id);
    const sub = rt?.subs[l.idx];
    return rt && sub ? { rt, sub } : null;
  }

  /** The blobs a lease's provider may download: the subgraph's constants and its inputs' results. */
  private allowedFor(l: LeaseRt): Set<string> {
    if (l.allowed) return l.allowed;
    const { rt, sub } = this.subOf(l)!;
    l.allowed = new Set(sub.constBlobs);
    for (const ref of sub.spec.inputs) {
      const sha = rt.results.get(refKey(ref));
      if (sha) l.allowed.add(sha);
    }
    return l.allowed;
  }

  /** Blobs a lease's provider asks for, each one it may read (its subgraph's constants and inputs). */
  async leaseBlobs(token: string, leaseId: string, shas: readonly string[]): Promise<{ sha256: string; bytes: Uint8Array }[]> {
    await this.loaded;
    const l = await this.liveLease(token, leaseId, '');
    const allowed = this.allowedFor(l);
    const denied = shas.find((s) => !allowed.has(s));
    if (denied) throw forbidden(`blob ${denied} is not an input of lease ${leaseId}`);
    const data = await this.blobData([...new Set(shas)]);
    return shas.map((sha) => ({ sha256: sha, bytes: data.get(sha)! }));
  }

  /** Checks result blobs against their SHA-256 and against the outputs the lease's subgraph makes. */
  private checkResults(leaseId: string, sub: SubRt, blobs: readonly { sha256: string; bytes: Uint8Array }[]): { write: BlobWrite; info: ResultInfo }[] {
    const kinds = new Set(sub.outputs.map((o) => `${o.dtype}${JSON.stringify(o.shape)}`));
    const budget = sub.outputs.reduce((n, o) => n + blobBytesFor(o.shape), 0);
    const total = blobs.reduce((n, b) => n + b.bytes.length, 0);
    if (total > budget) throw new ApiError(413, 'ERR_TOO_LARGE', `lease ${leaseId}: ${total} bytes of results, more than its outputs can take (${budget})`);
    const now = Date.now();
    return blobs.map(({ sha256: sha, bytes }) => {
      const got = sha256(bytes);
      if (got !== sha) throw new ApiError(400, 'ERR_HASH_MISMATCH', `result ${sha}: the bytes received have SHA-256 ${got}`);
      let meta;
      try {
        meta = blobMeta(bytes);
      } catch (err) {
        throw new ApiError(400, 'ERR_BLOB', `result ${sha}: not a ravdl blob: ${(err as Error).message}`);
      }
      const shape = JSON.stringify(meta.shape);
      if (!kinds.has(`${meta.dtype}${shape}`)) throw new ApiError(400, 'ERR_BLOB', `result ${sha} holds [${meta.shape.join(', ')}] ${meta.dtype}, which no output of lease ${leaseId} is`);
      const data = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const scalar = meta.dtype === 'float32' && numel(meta.shape) === 1 ? scalarOf(bytes) : null;
      return { write: { sha256: sha, size: bytes.length, dtype: meta.dtype, shape, data, created_at: now }, info: { dtype: meta.dtype, shape, size: bytes.length, scalar } };
    });
  }

  /** Result blobs of an active lease (uploaded over HTTP before its completion): stored at once. */
  async putResults(token: string, leaseId: string, blobs: readonly { sha256: string; bytes: Uint8Array }[]): Promise<void> {
    await this.loaded;
    const l = await this.liveLease(token, leaseId, ': its results are ignored');
    const checked = this.checkResults(leaseId, this.subOf(l)!.sub, blobs);
    await this.writingBlobs(
      checked.map((c) => c.write.sha256),
      async () => {
        for (const part of chunks(checked.map((c) => c.write), 50)) await this.db.insertInto('blobs').values(part).onConflict((oc) => oc.column('sha256').doNothing()).execute();
      },
    );
    for (const c of checked) {
      (l.uploaded ??= new Map()).set(c.write.sha256, c.info);
      this.cache.put(c.write.sha256, c.write.data);
      this.unclaimed.add(c.write.sha256);
    }
  }

  /**
   * A provider finished a lease: `outputs` names each output's result blob. Accepted once, only
   * for an active lease; a repeated call for a lease already done answers 'duplicate'. Answers
   * once the outcome is committed.
   */
  async complete(token: string, leaseId: string, outputs: Record<string, string>, inline?: readonly { sha256: string; bytes: Uint8Array }[]): Promise<{ status: CompletionStatus }> {
    const r = await this.accept(token, leaseId, outputs, inline);
    await r.durable;
    return { status: r.status };
  }

  /** complete() without waiting for the commit: the outcome, and when it is durable. */
  async accept(token: string, leaseId: string, outputs: Record<string, string>, inline?: readonly { sha256: string; bytes: Uint8Array }[]): Promise<{ status: CompletionStatus; durable: Promise<void> }> {
    await this.loaded;
    let l = await this.lookupLease(token, leaseId);
    if (l.state === 'done') return { status: 'duplicate', durable: ('uploaded' in l ? l.durable : null) ?? Promise.resolve() };
    if (!('uploaded' in l) || l.state !== 'active' || !this.subOf(l)) throw this.ended(l, ': its results are ignored');
    const { sub } = this.subOf(l)!;
    const names = Object.keys(outputs);
    if (names.length !== sub.outputs.length || !sub.outputs.every((o) => Object.hasOwn(outputs, o.ref))) {
      throw badRequest(`lease ${leaseId}: outputs must name exactly ${sub.outputs.map((o) => o.ref).slice(0, 8).join(', ')}${sub.outputs.length > 8 ? ', ...' : ''} (${sub.outputs.length})`);
    }
    const fresh = inline?.length ? this.checkResults(leaseId, sub, inline) : [];
    const info = new Map<string, ResultInfo>(l.uploaded ?? []);
    for (const f of fresh) info.set(f.write.sha256, f.info);
    const unknown = [...new Set(Object.values(outputs))].filter((s) => !info.has(s));
    if (unknown.length) {
      // Results stored earlier (by another lease, or before a restart).
      await this.notRemoving();
      const epoch = this.blobEpoch;
      for (const part of chunks(unknown)) {
        for (const r of await this.db.selectFrom('blobs').select(['sha256', 'dtype', 'shape', 'size']).where('sha256', 'in', part).execute()) info.set(r.sha256, { dtype: r.dtype, shape: r.shape, size: r.size, scalar: null });
      }
      for (const [sha, m] of info) {
        if (!unknown.includes(sha) || m.dtype !== 'float32' || numel(JSON.parse(m.shape) as number[]) !== 1) continue;
        m.scalar = scalarOf((await this.blobData([sha])).get(sha)!);
      }
      const again = this.leases.get(leaseId);
      // Its end was committed meanwhile, or blobs were deleted since they were looked up: from the start.
      if (!again || this.blobEpoch !== epoch) return this.accept(token, leaseId, outputs, inline);
      l = again;
      if (again.state === 'done') return { status: 'duplicate', durable: again.durable ?? Promise.resolve() };
      if (again.state !== 'active' || !this.subOf(again)) throw this.ended(again, ': its results are ignored');
    }
    for (const o of sub.outputs) {
      const m = info.get(outputs[o.ref]!);
      if (!m) throw new ApiError(409, 'ERR_MISSING_BLOBS', `lease ${leaseId}: result ${outputs[o.ref]} of output ${o.ref} was not uploaded`);
      if (m.dtype !== o.dtype || m.shape !== JSON.stringify(o.shape)) throw new ApiError(400, 'ERR_BLOB', `lease ${leaseId}: output ${o.ref} must be [${o.shape.join(', ')}] ${o.dtype}, its result holds ${m.shape} ${m.dtype}`);
    }
    // From here on nothing waits: the lease and its subgraph change together, once.
    return this.finish(l as LeaseRt, outputs, fresh, info);
  }

  private finish(l: LeaseRt, outputs: Record<string, string>, fresh: { write: BlobWrite }[], info: Map<string, ResultInfo>): { status: CompletionStatus; durable: Promise<void> } {
    const { rt, sub } = this.subOf(l)!;
    const now = Date.now();
    l.state = 'done';
    l.finished_at = now;
    this.dirty.leases.add(l);
    this.providers.get(l.provider_id)?.leases.delete(l.id);
    sub.active--;
    rt.active--;
    sub.leasedTokens?.delete(l.token);
    let status: CompletionStatus = 'ignored'; // another lease of it finished first
    if (sub.state === 'leased') {
      status = 'accepted';
      if (rt.replicas > 1) this.vote(rt, sub, l, outputs, fresh, info, now);
      else this.settle(rt, sub, l.id, outputs, fresh, info, now, [{ provider: l.provider_id, ms: now - l.created_at }]);
    }
    l.durable = this.durable();
    // Its provider waits for the next subgraph: assigned now, not after the other messages of this turn.
    try {
      this.dispatchNow();
    } catch (err) {
      this.opts.log(`dispatch failed: ${(err as Error).stack ?? err}`);
    }
    return { status, durable: l.durable };
  }

  /** A subgraph's results are decided: stored, its persisted values filled, its dependents released, its providers credited. */
  private settle(rt: GraphRt, sub: SubRt, leaseId: string, outputs: Record<string, string>, fresh: readonly { write: BlobWrite }[], info: Map<string, ResultInfo>, now: number, by: readonly { provider: string; ms: number }[]): void {
    sub.state = 'done';
    sub.doneBy = by[0]!.provider;
    sub.updatedAt = now;
    this.dirty.subs.add(sub);
    this.keepBlobs(fresh);
    let filled = 0;
    for (const o of sub.outputs) {
      const sha = outputs[o.ref]!;
      const m = info.get(sha)!;
      this.unclaimed.delete(sha); // a result names it: housekeeping need not look at it
      rt.results.set(o.ref, sha);
      rt.sizes.set(sha, m.size);
      this.dirty.results.push({ graph_id: rt.id, ref: o.ref, sha256: sha, lease_id: leaseId, created_at: now });
      for (const name of rt.unfilled.get(o.ref) ?? []) {
        this.dirty.persisted.push({ graph_id: rt.id, name, sha256: sha, scalar: m.scalar, ready_at: now });
        rt.fresh.push({ name, sha256: sha, dtype: o.dtype, shape: o.shape });
        filled++;
      }
      rt.unfilled.delete(o.ref);
    }
    for (const d of sub.dependents) {
      const ds = rt.subs[d]!;
      ds.depsLeft--;
      ds.updatedAt = now;
      if (ds.depsLeft === 0 && ds.state === 'waiting') {
        ds.state = 'ready';
        this.enqueue(rt, ds);
      }
      this.dirty.subs.add(ds);
    }
    const s = rt.summary;
    s.nodes_done += sub.nodeCount;
    s.subgraphs_done++;
    s.persisted_done += filled;
    s.updated_at = now;
    if (s.subgraphs_done === s.subgraphs_total && s.status === 'running') {
      s.status = 'done';
      this.stopRunning(rt);
    }
    this.dirty.graphs.add(rt);
    for (const b of by) this.markProvider(b.provider, { credit: [1, sub.flops, b.ms] });
    sub.votes = null;
  }

  /**
   * Verification by replication (a graph run with replicas > 1): a completion is a vote. The
   * subgraph is decided once providers with `replicas` different tokens returned the same
   * results (byte for byte: the same engine computes the same bits); until then it goes to a
   * provider of another token. Those whose results lost are counted as disputed. When too many
   * tokens disagree, the graph fails rather than guess.
   */
  private vote(rt: GraphRt, sub: SubRt, l: LeaseRt, outputs: Record<string, string>, fresh: readonly { write: BlobWrite }[], info: Map<string, ResultInfo>, now: number): void {
    const key = sub.outputs.map((o) => outputs[o.ref]).join(',');
    this.keepBlobs(fresh); // stored now: a later decision may take them
    for (const f of fresh) this.unclaimed.add(f.write.sha256); // (or not)
    const votes = (sub.votes ??= []);
    votes.push({ key, token: l.token, provider: l.provider_id, lease: l.id, outputs, info, ms: now - l.created_at });
    const agreeing = votes.filter((v) => v.key === key);
    const tokens = new Set(agreeing.map((v) => v.token));
    if (tokens.size >= rt.replicas) {
      const by = [...new Map(agreeing.map((v) => [v.token, { provider: v.provider, ms: v.ms }])).values()];
      for (const v of votes) if (v.key !== key) this.disputed(rt, sub, v.provider, v.token);
      // (No replica of it is still running: at most `replicas` minus the tokens that voted run at once.)
      this.settle(rt, sub, agreeing[0]!.lease, outputs, [], info, now, by);
      return;
    }
    const voters = new Set(votes.map((v) => v.token)).size;
    const results = new Set(votes.map((v) => v.key)).size;
    if (voters >= rt.replicas + this.opts.maxFailures) {
      this.failGraph(rt, `subgraph ${sub.idx}: ${voters} provider tokens returned ${results} different results, no ${rt.replicas} of them the same`);
      return;
    }
    if (sub.active === 0) {
      sub.state = 'ready'; // to a provider of another token
      this.enqueue(rt, sub);
    }
    sub.updatedAt = now;
    this.dirty.subs.add(sub);
  }

  /** Result blobs received with a completion: written with the next batch, and cached for the assignments that read them. */
  private keepBlobs(fresh: readonly { write: BlobWrite }[]): void {
    for (const f of fresh) {
      this.dirty.blobs.set(f.write.sha256, f.write);
      this.cache.put(f.write.sha256, f.write.data);
    }
  }

  /** A provider's result lost a vote: counted against it (npx ravdl token list, the dashboard) and logged. */
  private disputed(rt: GraphRt, sub: SubRt, provider: string, token: string): void {
    this.opts.log(`graph ${rt.id}, subgraph ${sub.idx}: the result of provider ${provider} (token ${token.slice(0, 12)}) disagrees with ${rt.replicas} others: disputed`);
    void this.db
      .updateTable('providers')
      .set((eb) => ({ disputed: eb('disputed', '+', 1) }))
      .where('id', '=', provider)
      .execute()
      .catch((err) => this.opts.log(`counting a disputed result: ${(err as Error).message}`));
  }

  /** A provider reports that it could not compute a lease. */
  async failed(conn: ProviderConn, leaseId: string, error: { code: string; message: string }): Promise<void> {
    if (!conn.leases.has(leaseId)) return;
    this.endLease(leaseId, 'failed', `${error.code}: ${error.message}`.slice(0, 2000));
  }

  /** Ends an active lease that produced no result; its subgraph goes back to the queue (or fails its graph). */
  private endLease(leaseId: string, state: 'expired' | 'failed' | 'cancelled', why: string): void {
    const l = this.leases.get(leaseId);
    const conn = l ? this.providers.get(l.provider_id) : undefined;
    if (!l || l.state !== 'active') return;
    const now = Date.now();
    l.state = state;
    l.finished_at = now;
    this.dirty.leases.add(l);
    conn?.leases.delete(leaseId);
    const at = this.subOf(l);
    let fatal: string | null = null;
    if (at) {
      const { rt, sub } = at;
      sub.active--;
      rt.active--;
      sub.leasedTokens?.delete(l.token);
      // The next lease of it goes to another provider when there is one.
      if (state !== 'cancelled') sub.excluded.add(l.provider_id);
      if (state === 'failed') {
        sub.failures++;
        sub.failedBy.add(l.provider_id);
        sub.lastError = why;
        // A graph fails when a subgraph failed on maxFailures different providers, never because one provider failed it
        // repeatedly; the bound on attempts only stops a network whose every fitting provider failed it from looping.
        const on = sub.failedBy.size;
        if (on >= this.opts.maxFailures || sub.failures >= this.opts.maxFailures * FAILED_ATTEMPTS_PER_PROVIDER)
          fatal = `subgraph ${l.idx} failed on ${on} provider${on === 1 ? '' : 's'}${sub.failures > on ? ` (${sub.failures} attempts)` : ''}; last: ${why}`;
      }
      if (sub.active === 0 && sub.state === 'leased') {
        sub.state = 'ready';
        this.enqueue(rt, sub);
      }
      sub.updatedAt = now;
      this.dirty.subs.add(sub);
      if (fatal) this.failGraph(rt, fatal);
    }
    if (state !== 'cancelled') this.opts.log(`lease ${leaseId} (graph ${l.graph_id}, subgraph ${l.idx}) ${state}: ${why}`);
    if (conn?.open) conn.send({ type: 'cancel', lease: leaseId, reason: `${state}: ${why}` });
    this.dispatch();
  }

  private failGraph(rt: GraphRt, error: string): void {
    const s = rt.summary;
    if (s.status !== 'running') return;
    s.status = 'failed';
    s.error = error;
    s.updated_at = Date.now();
    this.dirty.graphs.add(rt);
    this.stopRunning(rt);
    for (const l of [...this.leases.values()]) if (l.graph_id === rt.id && l.state === 'active') this.endLease(l.id, 'cancelled', `graph ${rt.id} failed`);
    this.opts.log(`graph ${rt.id} failed: ${error}`);
  }

  /** A requester's token was revoked: its running graphs fail (their leases are cancelled), as will any it was starting. Returns how many. */
  revokeOwner(owner: string): number {
    this.revokedOwners.add(owner);
    let n = 0;
    for (const rt of [...this.running]) if (rt.owner === owner) (this.failGraph(rt, REVOKED), n++);
    if (n) this.kick();
    void this.federated.failOwner(owner, REVOKED).catch((err) => this.opts.log(`failing the federated graphs of a revoked requester: ${(err as Error).message}`));
    return n;
  }

  /** Ends the leases whose time ran out (no heartbeat, or longer than maxLeaseMs). */
  async expireDue(): Promise<number> {
    const now = Date.now();
    let n = 0;
    for (const l of [...this.leases.values()]) {
      if (l.state !== 'active' || l.expires_at >= now) continue;
      this.endLease(l.id, 'expired', 'no heartbeat before the lease ran out');
      n++;
    }
    return n;
  }

  // ---------------------------------------------------------------- running graphs in memory

  private addRuntime(owner: string, replicas: number, summary: GraphSummary, g: GraphData, subs: { row: SubgraphsTable; spec: Subgraph }[], results: Map<string, string>, sizes: Map<string, number>, unfilled: readonly (readonly [string, string])[]): GraphRt {
    const rt: GraphRt = { id: summary.id, owner, replicas, summary: { ...summary }, g, subs: [], ready: new ReadyQueue(), active: 0, servedAt: 0, results, sizes, unfilled: new Map(), fresh: [], announced: new Map() };
    for (const [ref, name] of unfilled) {
      const names = rt.unfilled.get(ref);
      if (names) names.push(name);
      else rt.unfilled.set(ref, [name]);
    }
    rt.subs = subs.map(({ row, spec }, i) => {
      if (row.idx !== i) throw new GraphError(`graph ${rt.id}: subgraph rows are not numbered 0..${subs.length - 1}`);
      return {
        graphId: rt.id, idx: row.idx, state: row.state, depsLeft: row.deps_left, dependents: JSON.parse(row.dependents) as number[], spec, outputs: JSON.parse(row.outputs) as OutputMetaRow[],
        constBlobs: JSON.parse(row.const_blobs) as string[], peakBytes: row.peak_bytes, flops: row.flops, nodeCount: row.node_count, attempts: row.attempts, failures: row.failures,
        excluded: new Set(JSON.parse(row.excluded) as string[]), failedBy: new Set<string>(), lastError: row.last_error, doneBy: row.done_by, updatedAt: row.updated_at, active: 0, queued: false, votes: null, leasedTokens: null,
      };
    });
    for (const sub of rt.subs) if (sub.state === 'ready') this.enqueue(rt, sub);
    this.graphs.set(rt.id, rt);
    // In age order: of graphs never served yet, the older goes first.
    let at = this.running.length;
    while (at > 0 && this.running[at - 1]!.summary.created_at > rt.summary.created_at) at--;
    this.running.splice(at, 0, rt);
    return rt;
  }

  /** Reads the running graphs, their subgraphs, results and active leases into memory. */
  private async load(): Promise<void> {
    const now = Date.now();
    this.graphs.clear();
    this.running = [];
    this.leases.clear();
    // Federated graphs are not loaded: their state is all in the database (federated.ts).
    const rows = await this.db.selectFrom('graphs').select([...SUMMARY_COLS, 'owner', 'graph_json']).where('status', '=', 'running').where('approach', '!=', 'federated').orderBy('created_at').execute();
    for (const row of rows) {
      const g = await this.parsed(row.id, row.graph_json);
      const subRows = await this.db.selectFrom('subgraphs').selectAll().where('graph_id', '=', row.id).orderBy('idx').execute();
      const results = new Map<string, string>();
      for (const r of await this.db.selectFrom('results').select(['ref', 'sha256']).where('graph_id', '=', row.id).execute()) results.set(r.ref, r.sha256);
      const unfilled = (await this.db.selectFrom('persisted').select(['ref', 'name']).where('graph_id', '=', row.id).where('sha256', 'is', null).orderBy('position').execute()).map((p) => [p.ref, p.name] as const);
      const shas = [...new Set([...subRows.flatMap((s) => JSON.parse(s.const_blobs) as string[]), ...results.values()])];
      const sizes = new Map<string, number>();
      for (const part of chunks(shas)) for (const b of await this.db.selectFrom('blobs').select(['sha256', 'size']).where('sha256', 'in', part).execute()) sizes.set(b.sha256, b.size);
      await this.cacheSmallBlobs(shas.filter((s) => (sizes.get(s) ?? Infinity) <= INLINE_BLOB_BYTES));
      const summary = Object.fromEntries(SUMMARY_COLS.map((k) => [k, row[k]])) as unknown as GraphSummary;
      this.addRuntime(row.owner, row.replicas, summary, g, subRows.map((r) => ({ row: r, spec: JSON.parse(r.spec) as Subgraph })), results, sizes, unfilled);
    }
    for (const rt of this.running) {
      for (const f of await this.db.selectFrom('leases').select(['idx', 'provider_id']).where('graph_id', '=', rt.id).where('state', '=', 'failed').execute())
        rt.subs[f.idx]?.failedBy.add(f.provider_id);
    }
    for (const r of await this.db.selectFrom('leases').selectAll().where('state', '=', 'active').execute()) {
      const l: LeaseRt = { ...r, expires_at: now + this.opts.leaseMs, uploaded: null, allowed: null, durable: null };
      const at = this.subOf(l);
      if (!at) {
        // A lease of a graph that is not running any more.
        await this.db.updateTable('leases').set({ state: 'cancelled', finished_at: now }).where('id', '=', l.id).where('state', '=', 'active').execute();
        continue;
      }
      this.leases.set(l.id, l);
      at.sub.active++;
      at.rt.active++;
      if (at.rt.replicas > 1) (at.sub.leasedTokens ??= new Set()).add(l.token);
    }
    for (const rt of this.running) {
      for (const sub of rt.subs) {
        if (sub.state !== 'leased' || sub.active > 0) continue;
        sub.state = 'ready'; // leased with no active lease: cannot happen with group commits, but nothing must get stuck
        this.enqueue(rt, sub);
        this.dirty.subs.add(sub);
      }
    }
    if (rows.length) this.opts.log(`resumed ${rows.length} running graph(s) with ${this.leases.size} active lease(s) from the database`);
  }

  private enqueue(rt: GraphRt, sub: SubRt): void {
    if (sub.queued) return;
    sub.queued = true;
    rt.ready.push(sub.idx);
  }

  private stopRunning(rt: GraphRt): void {
    const i = this.running.indexOf(rt);
    if (i >= 0) this.running.splice(i, 1);
  }

  /** Drops a graph from memory (it is being deleted): its leases are cancelled, its unwritten changes dropped. */
  private forget(rt: GraphRt, reason: string): void {
    this.stopRunning(rt);
    this.graphs.delete(rt.id);
    for (const l of [...this.leases.values()]) {
      if (l.graph_id !== rt.id) continue;
      this.leases.delete(l.id);
      const conn = this.providers.get(l.provider_id);
      if (l.state === 'active' && conn) {
        conn.leases.delete(l.id);
        if (conn.open) conn.send({ type: 'cancel', lease: l.id, reason });
      }
      l.state = 'cancelled';
    }
    const d = this.dirty;
    for (const l of d.leases) if (l.graph_id === rt.id) d.leases.delete(l);
    for (const s of d.subs) if (s.graphId === rt.id) d.subs.delete(s);
    d.graphs.delete(rt);
    d.results = d.results.filter((r) => r.graph_id !== rt.id);
    d.persisted = d.persisted.filter((p) => p.graph_id !== rt.id);
  }

  private markProvider(id: string, m: { connected?: number; last_seen?: number; credit?: [number, number, number] }): void {
    let w = this.dirty.providers.get(id);
    if (!w) this.dirty.providers.set(id, (w = { id, connected: null, last_seen: null, subgraphs_done: 0, flops_done: 0, busy_ms: 0 }));
    if (m.connected !== undefined) w.connected = m.connected;
    if (m.last_seen !== undefined) w.last_seen = m.last_seen;
    if (m.credit) {
      w.subgraphs_done += m.credit[0];
      w.flops_done += m.credit[1];
      w.busy_ms += m.credit[2];
    }
    this.kick();
  }

  // ---------------------------------------------------------------- group commit

  /** Runs a dispatch and a flush soon (once for everything that happens in this turn of the event loop). */
  private kick(): void {
    if (this.tickScheduled) return;
    this.tickScheduled = true;
    setImmediate(() => {
      this.tickScheduled = false;
      if (this.wantDispatch) {
        this.wantDispatch = false;
        try {
          this.dispatchNow();
        } catch (err) {
          this.opts.log(`dispatch failed: ${(err as Error).stack ?? err}`);
        }
      }
      this.flush();
    });
  }

  /** Resolves when everything changed so far is committed; rejects if that commit fails. */
  private durable(): Promise<void> {
    // One promise for every change until the next batch is collected (no allocation per completion).
    if (!this.waiters.length) {
      const w = { resolve: () => {}, reject: (_: Error) => {}, promise: null as unknown as Promise<void> };
      w.promise = quiet(new Promise<void>((resolve, reject) => ((w.resolve = resolve), (w.reject = reject))));
      this.waiters.push(w);
    }
    this.kick();
    return this.waiters[0]!.promise!;
  }

  /** Resolves when no batch is being written. */
  private async settled(): Promise<void> {
    for (let i = 0; i < 1000 && this.inFlight; i++) await this.inFlight.catch(() => {});
  }

  private flush(): void {
    if (this.inFlight) {
      this.flushAgain = true;
      return;
    }
    if (this.removing) return; // kicked again when the deletion ends
    if (!isDirty(this.dirty) && !this.waiters.length) return;
    if (!this.journal.ready()) {
      this.flushTimer ??= setTimeout(() => {
        this.flushTimer = null;
        this.flush();
      }, 2);
      return;
    }
    const waiters = this.waiters;
    this.waiters = [];
    const c = this.collect();
    if (!c) {
      for (const w of waiters) w.resolve();
      return;
    }
    // Only `after` is kept for the commit's end: the batch's rows may be collected while it is written.
    const after = c.after;
    this.inFlight = this.journal.commit(c.batch).then(
      () => {
        this.inFlight = null;
        for (const w of waiters) w.resolve();
        after();
        if (this.flushAgain || isDirty(this.dirty) || this.waiters.length) {
          this.flushAgain = false;
          this.kick();
        }
      },
      (err: Error) => {
        this.inFlight = null;
        this.flushAgain = false;
        for (const w of waiters) w.reject(err);
        this.commitFailed(err);
      },
    );
  }

  /** The batch of everything changed since the last one (each row's values now), and what to do once it is committed. */
  private collect(): { batch: Batch; after: () => void } | null {
    const d = this.dirty;
    if (!isDirty(d)) return null;
    this.dirty = newDirty();
    const batch: Batch = {
      leases: [...d.leases].map((l) => ({ id: l.id, graph_id: l.graph_id, idx: l.idx, provider_id: l.provider_id, token: l.token, state: l.state, expires_at: l.expires_at, created_at: l.created_at, finished_at: l.finished_at })),
      subgraphs: [...d.subs].map((s) => ({ graph_id: s.graphId, idx: s.idx, state: s.state, deps_left: s.depsLeft, attempts: s.attempts, failures: s.failures, excluded: JSON.stringify([...s.excluded]), last_error: s.lastError, done_by: s.doneBy, updated_at: s.updatedAt })),
      blobs: [...d.blobs.values()],
      results: d.results,
      persisted: d.persisted,
      graphs: [...d.graphs].map((g) => ({ id: g.id, status: g.summary.status, error: g.summary.error, nodes_done: g.summary.nodes_done, subgraphs_done: g.summary.subgraphs_done, persisted_done: g.summary.persisted_done, updated_at: g.summary.updated_at })),
      providers: [...d.providers.values()],
    };
    const events = [...d.graphs].map((rt) => ({ rt, summary: { ...rt.summary }, fresh: rt.fresh.splice(0) }));
    const ended = [...d.leases].filter((l) => l.state !== 'active');
    return {
      batch,
      after: () => {
        for (const l of ended) if (this.leases.get(l.id) === l) this.leases.delete(l.id);
        for (const { rt, summary, fresh } of events) {
          for (const p of fresh) {
            rt.announced.set(p.name, p.sha256);
            this.attachData(p);
            this.emit(rt.id, { type: 'persisted', value: p });
          }
          this.emit(rt.id, { type: 'progress', graph: summary });
          if (summary.status === 'done' || summary.status === 'failed') {
            if (summary.status === 'done') this.opts.log(`graph ${rt.id} ('${summary.name}') done: ${summary.subgraphs_total} subgraph(s)`);
            this.emit(rt.id, { type: 'end', graph: summary });
            if (this.graphs.get(rt.id) === rt) this.graphs.delete(rt.id);
          }
        }
      },
    };
  }

  /**
   * A batch was not written: memory is ahead of the database. Everything in memory is dropped and
   * read again from the database; providers reconnect and name their leases, and what the database
   * did not take is redone (nothing of it was acknowledged).
   */
  private commitFailed(err: Error): void {
    if (this.closed) {
      this.opts.log(`a database write failed while closing: ${err.message}`);
      return;
    }
    if (this.reloading) return;
    this.opts.log(`a database write failed (${err.message}): reloading the running state from the database`);
    this.reloading = true;
    for (const w of this.waiters.splice(0)) w.reject(err);
    this.dirty = newDirty();
    for (const l of this.leases.values()) if (l.state === 'active') l.state = 'expired'; // the objects some requests still hold
    for (const p of [...this.providers.values()]) {
      p.open = false;
      p.close(1012, 'the coordinator reloads its state');
    }
    this.providers.clear();
    this.loaded = (async () => {
      for (let attempt = 1; !this.closed; attempt++) {
        try {
          await this.load();
          break;
        } catch (e) {
          this.opts.log(`reloading from the database failed (${(e as Error).message}); retrying`);
          await new Promise((r) => setTimeout(r, Math.min(5000, 200 * attempt)));
        }
      }
      this.reloading = false;
      this.dispatch();
    })();
  }

  // ---------------------------------------------------------------- assignment

  /** Gives ready subgraphs to providers with a free slot and the memory they need (soon, once for all that became ready now). */
  dispatch(): void {
    if (this.closed) return;
    this.wantDispatch = true;
    this.kick();
  }

  /**
   * Requesters share the providers: each free slot goes to the requester with the fewest subgraphs
   * running now, and among equals to the graph served least recently, so a small job is not stuck
   * behind another requester's large one (and many graphs get a requester no larger share).
   */
  private dispatchNow(): void {
    if (this.closed || this.reloading) return;
    const free: ProviderConn[] = [];
    for (const p of this.providers.values()) if (p.open && p.leases.size < p.capability.slots) free.push(p);
    if (!free.length) return;
    const wanting = this.running.filter((rt) => rt.ready.size && rt.summary.status === 'running');
    if (!wanting.length) return;
    const now = Date.now();
    const share = new Map<string, number>();
    for (const rt of this.running) share.set(rt.owner, (share.get(rt.owner) ?? 0) + rt.active);
    // Subgraphs that fit no free provider now, by graph: back in their queues at the end.
    const skipped = new Map<GraphRt, number[]>();
    // At most one grant per free slot: a grant that fails puts its subgraph back in the queue.
    let slots = free.reduce((n, p) => n + p.capability.slots - p.leases.size, 0);
    while (free.length && slots > 0 && wanting.length) {
      let k = 0;
      for (let i = 1; i < wanting.length; i++) {
        const a = share.get(wanting[i]!.owner)!;
        const b = share.get(wanting[k]!.owner)!;
        if (a < b || (a === b && wanting[i]!.servedAt < wanting[k]!.servedAt)) k = i;
      }
      const rt = wanting[k]!;
      const idx = rt.ready.pop()!;
      const sub = rt.subs[idx]!;
      sub.queued = false;
      if (sub.state === 'ready') {
        const conn = this.pick(free, sub);
        if (!conn) {
          const s = skipped.get(rt);
          if (s) s.push(idx);
          else skipped.set(rt, [idx]);
        }
        // A replicated subgraph runs on as many other tokens at once as its vote still needs.
        for (let p: ProviderConn | null = conn; p; p = this.wantsReplica(rt, sub) && slots > 0 ? this.pick(free, sub) : null) {
          this.grant(rt, sub, p, now);
          share.set(rt.owner, share.get(rt.owner)! + 1);
          rt.servedAt = ++this.served;
          slots--;
          if (!p.open || p.leases.size >= p.capability.slots) free.splice(free.indexOf(p), 1);
        }
      }
      if (!rt.ready.size || rt.summary.status !== 'running' || (skipped.get(rt)?.length ?? 0) >= 256) wanting.splice(k, 1);
    }
    for (const [rt, idxs] of skipped) for (const idx of idxs) this.enqueue(rt, rt.subs[idx]!);
  }

  /** Whether a leased subgraph of a replicated run needs one more lease now (to a provider of another token). */
  private wantsReplica(rt: GraphRt, sub: SubRt): boolean {
    return rt.replicas > 1 && sub.state === 'leased' && sub.active + new Set(sub.votes?.map((v) => v.token)).size < rt.replicas;
  }

  /**
   * A provider that fits, preferring those that never lost or failed this subgraph, then the least loaded, then the fastest.
   * One that failed it waits while a connected provider that fits and has not failed it exists (busy or not).
   */
  private pick(free: readonly ProviderConn[], sub: SubRt): ProviderConn | null {
    let best: ProviderConn | null = null;
    let bestExcluded = false;
    let healthyElsewhere: boolean | null = null;
    for (const p of free) {
      if (p.capability.memory_bytes < sub.peakBytes) continue;
      if (sub.votes?.some((v) => v.token === p.token) || sub.leasedTokens?.has(p.token)) continue; // a replicated subgraph goes to another token
      if (sub.failedBy.has(p.id)) {
        healthyElsewhere ??= [...this.providers.values()].some((q) => q.open && !sub.failedBy.has(q.id) && q.capability.memory_bytes >= sub.peakBytes);
        if (healthyElsewhere) continue;
      }
      const ex = sub.excluded.has(p.id);
      const better =
        !best || (ex !== bestExcluded ? !ex : p.leases.size !== best.leases.size ? p.leases.size < best.leases.size : p.capability.gflops > best.capability.gflops);
      if (better) {
        best = p;
        bestExcluded = ex;
      }
    }
    return best;
  }

  /** Leases a subgraph to a provider and sends the assignment; one that cannot be sent ends at once. */
  private grant(rt: GraphRt, sub: SubRt, conn: ProviderConn, now: number): void {
    const l: LeaseRt = {
      id: randomUUID(), graph_id: rt.id, idx: sub.idx, provider_id: conn.id, token: conn.token, state: 'active', expires_at: now + this.opts.leaseMs, created_at: now, finished_at: null,
      uploaded: null, allowed: null, durable: null,
    };
    this.leases.set(l.id, l);
    conn.leases.add(l.id);
    sub.state = 'leased';
    sub.attempts++;
    sub.active++;
    rt.active++;
    if (rt.replicas > 1) (sub.leasedTokens ??= new Set()).add(conn.token);
    sub.updatedAt = now;
    this.dirty.leases.add(l);
    this.dirty.subs.add(sub);
    let frame: string | Buffer;
    try {
      frame = this.assignment(rt, sub, l, conn);
    } catch (err) {
      this.opts.log(`lease ${l.id}: cannot build the assignment: ${(err as Error).message}`);
      this.endLease(l.id, 'failed', `coordinator: ${(err as Error).message}`);
      return;
    }
    if (!conn.open || !conn.sendRaw(frame)) {
      conn.open = false; // its socket is closing: no more work for it (its 'close' still ends the connection)
      this.endLease(l.id, 'expired', 'the provider went away before the assignment reached it');
    }
  }

  /** The assignment message: JSON (protocol 1), or a binary frame with the small inputs inline (protocol 2; 3: with the answers waiting for it). */
  private assignment(rt: GraphRt, sub: SubRt, l: LeaseRt, conn: ProviderConn): string | Buffer {
    const sg = subgraphGraph(rt.g, sub.spec, (ref: ValueRef) => {
      const sha = rt.results.get(refKey(ref));
      if (!sha) throw new GraphError(`subgraph ${sub.idx}: input ${refKey(ref)} has no result yet`);
      return sha;
    });
    const shas = [...new Set(sg.nodes.flatMap((n) => (n.kind === 'const' ? [n.blob!] : [])))];
    l.allowed = new Set(shas);
    const msg: Assignment = {
      type: 'assign', lease: l.id, graph_id: rt.id, subgraph: sub.idx, graph: graphJson(sg), blobs: shas.map((sha) => ({ sha256: sha, size: rt.sizes.get(sha) ?? 0 })),
      outputs: sub.spec.outputs.map(refKey), expires_in_ms: this.opts.leaseMs,
    };
    if (conn.protocol < 2) return JSON.stringify(msg);
    const inline: { sha256: string; bytes: Uint8Array }[] = [];
    let total = 0;
    for (const b of msg.blobs) {
      const bytes = b.size <= INLINE_BLOB_BYTES ? this.cache.get(b.sha256) : undefined;
      if (!bytes || total + bytes.length > INLINE_TOTAL_BYTES) continue;
      inline.push({ sha256: b.sha256, bytes });
      total += bytes.length;
    }
    // Taken last: nothing after this can fail before the frame is sent (a frame not sent drops them; see ws.ts).
    const acks = conn.protocol >= 3 ? conn.takeAcks?.() : null;
    if (acks) msg.acks = acks;
    return encodeFrame(msg, inline);
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
      // The subgraphs that failed a failed graph (a running graph's failures are retried).
      const failedIds = graphs.filter((g) => g.status === 'failed').map((g) => g.id);
      const failed = !failedIds.length ? [] : await this.db
        .selectFrom('subgraphs')
        .select(['graph_id', 'state', (eb) => eb.fn.countAll<number>().as('n')])
        .where('graph_id', 'in', failedIds)
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
