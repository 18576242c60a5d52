// Group commit: the coordinator keeps its running state in memory and writes every change of it
// to the database in batches, one transaction per batch, before it acknowledges anything that
// depends on the change (a provider's result is answered only once its batch is committed).
// A batch holds each row's final values (a lease granted and completed in one batch is one insert
// of a done lease). SQLite: prepared statements in one transaction, one fsync (synchronous=FULL),
// in a worker thread.
// PostgreSQL: one statement (data-modifying CTEs over arrays), so a batch is one round trip.
// A lease is only ever inserted or moved from active: a batch that finds one otherwise (the
// memory no longer matches the database) is rolled back whole with a JournalConflict.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Db } from './open.js';
import type { BlobsTable, GraphsTable, LeasesTable, PersistedTable, ResultsTable, SubgraphsTable } from './schema.js';

export type LeaseWrite = LeasesTable;
export type SubgraphWrite = Pick<SubgraphsTable, 'graph_id' | 'idx' | 'state' | 'deps_left' | 'attempts' | 'failures' | 'excluded' | 'last_error' | 'done_by' | 'updated_at'>;
export type ResultWrite = ResultsTable;
export type BlobWrite = BlobsTable;
export type PersistedWrite = Pick<PersistedTable, 'graph_id' | 'name' | 'sha256' | 'scalar' | 'ready_at'>;
export type GraphWrite = Pick<GraphsTable, 'id' | 'status' | 'error' | 'nodes_done' | 'subgraphs_done' | 'persisted_done' | 'updated_at'>;
/** connected and last_seen are set when given; the counters are added. */
export interface ProviderWrite {
  id: string;
  connected: number | null;
  last_seen: number | null;
  subgraphs_done: number;
  flops_done: number;
  busy_ms: number;
}

export interface Batch {
  leases: LeaseWrite[];
  subgraphs: SubgraphWrite[];
  blobs: BlobWrite[];
  results: ResultWrite[];
  persisted: PersistedWrite[];
  graphs: GraphWrite[];
  providers: ProviderWrite[];
}

export const emptyBatch = (): Batch => ({ leases: [], subgraphs: [], blobs: [], results: [], persisted: [], graphs: [], providers: [] });
export const batchSize = (b: Batch): number => b.leases.length + b.subgraphs.length + b.blobs.length + b.results.length + b.persisted.length + b.graphs.length + b.providers.length;

/** The database no longer holds what the coordinator's memory expects (another writer, or a lost write). */
export class JournalConflict extends Error {}

export interface Journal {
  /** Whether a batch may be written now (SQLite: not inside another transaction on the connection). */
  ready(): boolean;
  /** Writes the batch in one transaction; rejects (nothing written) on any failure. */
  commit(b: Batch): Promise<void>;
  /** Stops its writer (after the last commit resolved). */
  close?(): Promise<void>;
}

export function openJournal(store: Db): Journal {
  if (store.sqlite) return sqliteJournal(store);
  if (store.pool) return postgresJournal(store);
  throw new Error('the coordinator needs a SQLite or PostgreSQL database it opened itself');
}

// SQLite: the batches are written by a worker thread on its own connection to the file, so the
// fsync of a commit never stalls the event loop (assignments keep going out meanwhile). WAL lets
// the coordinator's connection read while it writes; a write of either waits for the other's
// (busy_timeout). The worker is plain JavaScript (it only needs better-sqlite3), so it runs the
// same from the sources and from the built package.
const SQLITE_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const db = new (require(workerData.module))(workerData.file);
db.pragma('busy_timeout = 5000');
db.pragma('journal_mode = WAL');
db.pragma('synchronous = FULL');
const lease = db.prepare(\`INSERT INTO leases (id, graph_id, idx, provider_id, token, state, expires_at, created_at, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (id) DO UPDATE SET state = excluded.state, expires_at = excluded.expires_at, finished_at = excluded.finished_at WHERE leases.state = 'active'\`);
const sub = db.prepare('UPDATE subgraphs SET state = ?, deps_left = ?, attempts = ?, failures = ?, excluded = ?, last_error = ?, done_by = ?, updated_at = ? WHERE graph_id = ? AND idx = ?');
const blob = db.prepare('INSERT INTO blobs (sha256, size, dtype, shape, data, created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (sha256) DO NOTHING');
const result = db.prepare('INSERT INTO results (graph_id, ref, sha256, lease_id, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (graph_id, ref) DO NOTHING');
const persisted = db.prepare('UPDATE persisted SET sha256 = ?, scalar = ?, ready_at = ? WHERE graph_id = ? AND name = ?');
const graph = db.prepare('UPDATE graphs SET status = ?, error = ?, nodes_done = ?, subgraphs_done = ?, persisted_done = ?, updated_at = ? WHERE id = ?');
const provider = db.prepare('UPDATE providers SET connected = coalesce(?, connected), last_seen = max(last_seen, coalesce(?, last_seen)), subgraphs_done = subgraphs_done + ?, flops_done = flops_done + ?, busy_ms = busy_ms + ? WHERE id = ?');
class Conflict extends Error {}
const write = db.transaction((b) => {
  for (const l of b.leases) {
    if (lease.run(l.id, l.graph_id, l.idx, l.provider_id, l.token, l.state, l.expires_at, l.created_at, l.finished_at).changes !== 1) throw new Conflict('lease ' + l.id + ' is not active in the database');
  }
  for (const s of b.subgraphs) sub.run(s.state, s.deps_left, s.attempts, s.failures, s.excluded, s.last_error, s.done_by, s.updated_at, s.graph_id, s.idx);
  for (const x of b.blobs) blob.run(x.sha256, x.size, x.dtype, x.shape, Buffer.from(x.data.buffer, x.data.byteOffset, x.data.byteLength), x.created_at);
  for (const r of b.results) result.run(r.graph_id, r.ref, r.sha256, r.lease_id, r.created_at);
  for (const p of b.persisted) persisted.run(p.sha256, p.scalar, p.ready_at, p.graph_id, p.name);
  for (const g of b.graphs) graph.run(g.status, g.error, g.nodes_done, g.subgraphs_done, g.persisted_done, g.updated_at, g.id);
  for (const p of b.providers) provider.run(p.connected, p.last_seen, p.subgraphs_done, p.flops_done, p.busy_ms, p.id);
});
parentPort.on('message', (m) => {
  if (m === 'close') return (db.close(), parentPort.close());
  try {
    write(m.batch);
    parentPort.postMessage({ id: m.id });
  } catch (e) {
    parentPort.postMessage({ id: m.id, error: String(e && e.message), conflict: e instanceof Conflict });
  }
});
`;

function sqliteJournal(store: Db): Journal {
  const worker = new Worker(SQLITE_WORKER, { eval: true, workerData: { module: createRequire(import.meta.url).resolve('better-sqlite3'), file: store.where } });
  // The thread keeps the process alive only while a batch is in flight.
  worker.unref();
  const pending = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  let next = 0;
  let dead: Error | null = null;
  const failAll = (err: Error) => {
    dead = err;
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  };
  worker.on('message', (m: { id: number; error?: string; conflict?: boolean }) => {
    const p = pending.get(m.id);
    pending.delete(m.id);
    if (!pending.size) worker.unref();
    if (!p) return;
    if (m.error === undefined) p.resolve();
    else p.reject(m.conflict ? new JournalConflict(m.error) : new Error(`SQLite: ${m.error}`));
  });
  worker.on('error', (err) => failAll(new Error(`the SQLite writer thread failed: ${err.message}`)));
  worker.on('exit', () => failAll(dead ?? new Error('the SQLite writer thread stopped')));
  return {
    ready: () => true,
    commit: (b) =>
      new Promise<void>((resolve, reject) => {
        if (dead) return reject(dead);
        const id = next++;
        if (!pending.size) worker.ref();
        pending.set(id, { resolve, reject });
        worker.postMessage({ id, batch: b });
      }),
    close: async () => {
      if (dead) return;
      const exited = new Promise((r) => worker.once('exit', r));
      worker.ref();
      worker.postMessage('close');
      await exited;
    },
  };
}

// One statement: every CTE runs to completion, and the final division fails the whole statement
// (so nothing of it is written) when a lease was not inserted or moved from active.
const PG_COMMIT = `
WITH l AS (
  INSERT INTO leases (id, graph_id, idx, provider_id, token, state, expires_at, created_at, finished_at)
  SELECT * FROM unnest($1::text[], $2::text[], $3::int4[], $4::text[], $5::text[], $6::text[], $7::int8[], $8::int8[], $9::int8[])
  ON CONFLICT (id) DO UPDATE SET state = EXCLUDED.state, expires_at = EXCLUDED.expires_at, finished_at = EXCLUDED.finished_at
  WHERE leases.state = 'active'
  RETURNING 1
), s AS (
  UPDATE subgraphs AS t SET state = v.state, deps_left = v.deps_left, attempts = v.attempts, failures = v.failures, excluded = v.excluded,
    last_error = v.last_error, done_by = v.done_by, updated_at = v.updated_at
  FROM unnest($10::text[], $11::int4[], $12::text[], $13::int4[], $14::int4[], $15::int4[], $16::text[], $17::text[], $18::text[], $19::int8[])
    AS v(graph_id, idx, state, deps_left, attempts, failures, excluded, last_error, done_by, updated_at)
  WHERE t.graph_id = v.graph_id AND t.idx = v.idx
  RETURNING 1
), b AS (
  INSERT INTO blobs (sha256, size, dtype, shape, data, created_at)
  SELECT * FROM unnest($20::text[], $21::int8[], $22::text[], $23::text[], $24::bytea[], $25::int8[])
  ON CONFLICT (sha256) DO NOTHING
  RETURNING 1
), r AS (
  INSERT INTO results (graph_id, ref, sha256, lease_id, created_at)
  SELECT * FROM unnest($26::text[], $27::text[], $28::text[], $29::text[], $30::int8[])
  ON CONFLICT (graph_id, ref) DO NOTHING
  RETURNING 1
), p AS (
  UPDATE persisted AS t SET sha256 = v.sha256, scalar = v.scalar, ready_at = v.ready_at
  FROM unnest($31::text[], $32::text[], $33::text[], $34::float8[], $35::int8[]) AS v(graph_id, name, sha256, scalar, ready_at)
  WHERE t.graph_id = v.graph_id AND t.name = v.name
  RETURNING 1
), g AS (
  UPDATE graphs AS t SET status = v.status, error = v.error, nodes_done = v.nodes_done, subgraphs_done = v.subgraphs_done,
    persisted_done = v.persisted_done, updated_at = v.updated_at
  FROM unnest($36::text[], $37::text[], $38::text[], $39::int4[], $40::int4[], $41::int4[], $42::int8[])
    AS v(id, status, error, nodes_done, subgraphs_done, persisted_done, updated_at)
  WHERE t.id = v.id
  RETURNING 1
), pr AS (
  UPDATE providers AS t SET connected = coalesce(v.connected, t.connected), last_seen = greatest(t.last_seen, v.last_seen),
    subgraphs_done = t.subgraphs_done + v.subgraphs_done, flops_done = t.flops_done + v.flops_done, busy_ms = t.busy_ms + v.busy_ms
  FROM unnest($43::text[], $44::int4[], $45::int8[], $46::int4[], $47::float8[], $48::int8[]) AS v(id, connected, last_seen, subgraphs_done, flops_done, busy_ms)
  WHERE t.id = v.id
  RETURNING 1
)
SELECT 1 / ((SELECT count(*) FROM l) = $49)::int AS ok`;

function postgresJournal(store: Db): Journal {
  const pool = store.pool!;
  const col = <T, K extends keyof T>(rows: readonly T[], k: K) => rows.map((r) => r[k]);
  return {
    ready: () => true,
    async commit(b) {
      const L = b.leases;
      const S = b.subgraphs;
      const B = b.blobs;
      const R = b.results;
      const P = b.persisted;
      const G = b.graphs;
      const V = b.providers;
      const values = [
        col(L, 'id'), col(L, 'graph_id'), col(L, 'idx'), col(L, 'provider_id'), col(L, 'token'), col(L, 'state'), col(L, 'expires_at'), col(L, 'created_at'), col(L, 'finished_at'),
        col(S, 'graph_id'), col(S, 'idx'), col(S, 'state'), col(S, 'deps_left'), col(S, 'attempts'), col(S, 'failures'), col(S, 'excluded'), col(S, 'last_error'), col(S, 'done_by'), col(S, 'updated_at'),
        col(B, 'sha256'), col(B, 'size'), col(B, 'dtype'), col(B, 'shape'), col(B, 'data'), col(B, 'created_at'),
        col(R, 'graph_id'), col(R, 'ref'), col(R, 'sha256'), col(R, 'lease_id'), col(R, 'created_at'),
        col(P, 'graph_id'), col(P, 'name'), col(P, 'sha256'), col(P, 'scalar'), col(P, 'ready_at'),
        col(G, 'id'), col(G, 'status'), col(G, 'error'), col(G, 'nodes_done'), col(G, 'subgraphs_done'), col(G, 'persisted_done'), col(G, 'updated_at'),
        col(V, 'id'), col(V, 'connected'), col(V, 'last_seen'), col(V, 'subgraphs_done'), col(V, 'flops_done'), col(V, 'busy_ms'),
        L.length,
      ];
      try {
        await pool.query({ name: 'ravdl_commit_1', text: PG_COMMIT, values });
      } catch (err) {
        if ((err as { code?: string }).code === '22012') throw new JournalConflict('a lease of the batch is not active in the database');
        throw err;
      }
    },
  };
}
