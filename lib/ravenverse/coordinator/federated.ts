// Federated graphs on the coordinator (graph/federated.ts has the statistics). Nothing is leased:
// a running federated graph waits for max_clients providers to send their statistics; each
// contribution is checked against the rules and stored (one per provider token), and the one
// that completes the set computes every statistic, stores it as the persisted values and ends
// the graph, in one transaction. The state lives only in the database, so a restart loses
// nothing. Progress counts contributions (nodes_done / nodes_total = contributions / max_clients).
import type { Kysely } from 'kysely';
import { encodeBlob } from '../../graph/format.js';
import { type ColumnStats, type FederatedRules, combineStats, implausible, isFederatedStat, ruleColumns, statValues } from '../../graph/federated.js';
import type { GraphData } from '../../graph/graph-data.js';
import type { Database } from '../db/schema.js';
import { INLINE_EVENT_BYTES } from '../protocol.js';
import { refKey } from '../subgraph.js';
import { ApiError, badRequest, conflict, notFound } from './errors.js';
import type { GraphEvent, GraphSummary, PersistedInfo } from './state.js';

/** What a provider sends: its statistics over the rows of its data that pass the rules. */
export interface Contribution {
  provider?: string;
  rows: number;
  columns: string[];
  mean: number[];
  m2: number[];
}

export interface FederatedListing {
  id: string;
  name: string;
  algorithm: string;
  rules: FederatedRules;
  contributions: number;
  max_clients: number;
  created_at: number;
}

interface Context {
  db: Kysely<Database>;
  /** PostgreSQL locks the graph's row for a contribution (SQLite writes one transaction at a time anyway). */
  lockRows: boolean;
  emit(id: string, e: GraphEvent): void;
  summaryOf(id: string): Promise<GraphSummary | null>;
}

const rulesOf = (graphJson: string): FederatedRules => (JSON.parse(graphJson) as { rules: FederatedRules }).rules;

export class FederatedRuns {
  constructor(private ctx: Context) {}

  /** execute() of an uploaded federated graph: it runs (waits for contributions) from now on. */
  async start(id: string, g: GraphData): Promise<boolean> {
    const rules = g.info.rules!;
    const now = Date.now();
    let position = 0;
    const persistRows = [...g.persist].map(([name, [node, output]]) => ({ graph_id: id, name, ref: refKey([node, output]), position: position++, sha256: null, scalar: null, ready_at: null }));
    return this.ctx.db.transaction().execute(async (trx) => {
      const upd = await trx
        .updateTable('graphs')
        .set({ status: 'running', nodes_total: rules.max_clients, nodes_done: 0, subgraphs_total: rules.max_clients, subgraphs_done: 0, persisted_done: 0, updated_at: now })
        .where('id', '=', id)
        .where('status', '=', 'uploaded')
        .executeTakeFirst();
      if (Number(upd.numUpdatedRows) !== 1) return false; // another call started it
      if (persistRows.length) await trx.insertInto('persisted').values(persistRows).execute();
      return true;
    });
  }

  /** The running federated graphs still waiting for contributions, less those this provider token contributed to. */
  async open(token: string): Promise<FederatedListing[]> {
    const rows = await this.ctx.db
      .selectFrom('graphs')
      .select(['id', 'name', 'algorithm', 'graph_json', 'subgraphs_done', 'subgraphs_total', 'created_at'])
      .where('approach', '=', 'federated')
      .where('status', '=', 'running')
      .where(({ not, exists, selectFrom }) => not(exists(selectFrom('federated_contributions').select('graph_id').whereRef('federated_contributions.graph_id', '=', 'graphs.id').where('federated_contributions.token', '=', token))))
      .orderBy('created_at')
      .limit(1000)
      .execute();
    return rows.map((r) => ({ id: r.id, name: r.name, algorithm: r.algorithm, rules: rulesOf(r.graph_json), contributions: r.subgraphs_done, max_clients: r.subgraphs_total, created_at: Number(r.created_at) }));
  }

  /** A provider's statistics for graph `id`; the last one needed ends the graph with its values. */
  async contribute(token: string, id: string, c: Contribution): Promise<{ contributions: number; max_clients: number; done: boolean }> {
    const now = Date.now();
    const ended = await this.ctx.db.transaction().execute(async (trx) => {
      let q = trx.selectFrom('graphs').select(['status', 'approach', 'graph_json', 'owner', 'subgraphs_done', 'subgraphs_total']).where('id', '=', id);
      if (this.ctx.lockRows) q = q.forUpdate();
      const row = await q.executeTakeFirst();
      if (!row || row.approach !== 'federated') throw notFound(`no federated graph ${id}`);
      if (row.status !== 'running') throw conflict(`graph ${id} is ${row.status === 'uploaded' ? 'not running yet' : `${row.status}: it takes no more contributions`}`);
      const rules = rulesOf(row.graph_json);
      checkContribution(c, rules);
      const dup = await trx.selectFrom('federated_contributions').select('graph_id').where('graph_id', '=', id).where('token', '=', token).executeTakeFirst();
      if (dup) throw conflict(`this provider token already contributed to graph ${id}`);
      await trx
        .insertInto('federated_contributions')
        .values({ graph_id: id, token, provider: (c.provider ?? '').slice(0, 200), rows: c.rows, stats: JSON.stringify({ mean: c.mean, m2: c.m2 }), created_at: now })
        .execute();
      const count = row.subgraphs_done + 1;
      if (count < row.subgraphs_total) {
        await trx.updateTable('graphs').set({ subgraphs_done: count, nodes_done: count, updated_at: now }).where('id', '=', id).execute();
        return { count, total: row.subgraphs_total, values: null };
      }
      // The last contribution: every statistic from all of them.
      const parts: ColumnStats[] = (await trx.selectFrom('federated_contributions').select(['rows', 'stats']).where('graph_id', '=', id).execute()).map((p) => {
        const s = JSON.parse(p.stats) as { mean: number[]; m2: number[] };
        return { columns: ruleColumns(rules), rows: Number(p.rows), mean: s.mean, m2: s.m2 };
      });
      const all = combineStats(parts);
      const doc = JSON.parse(row.graph_json) as { nodes: { op: string }[]; persist: { name: string; node: number; output: number }[] };
      const values: PersistedInfo[] = [];
      for (const p of doc.persist) {
        const op = doc.nodes[p.node]!.op;
        if (!isFederatedStat(op)) throw new ApiError(500, 'ERR_INTERNAL', `graph ${id}: node ${p.node} is not a federated statistic`);
        const data = Float32Array.from(statValues(op, all));
        const { bytes, sha256 } = encodeBlob([data.length], data);
        await trx.insertInto('blobs').values({ sha256, size: bytes.length, dtype: 'float32', shape: JSON.stringify([data.length]), data: Buffer.from(bytes), created_at: now }).onConflict((oc) => oc.column('sha256').doNothing()).execute();
        await trx.insertInto('results').values({ graph_id: id, ref: refKey([p.node, p.output]), sha256, lease_id: 'federated', created_at: now }).onConflict((oc) => oc.columns(['graph_id', 'ref']).doNothing()).execute();
        await trx.updateTable('persisted').set({ sha256, scalar: data.length === 1 ? data[0]! : null, ready_at: now }).where('graph_id', '=', id).where('name', '=', p.name).execute();
        values.push({ name: p.name, sha256, dtype: 'float32', shape: [data.length], ...(bytes.length <= INLINE_EVENT_BYTES ? { data: Buffer.from(bytes).toString('base64') } : {}) });
      }
      await trx
        .updateTable('graphs')
        .set({ status: 'done', subgraphs_done: count, nodes_done: count, persisted_done: values.length, updated_at: now })
        .where('id', '=', id)
        .execute();
      return { count, total: row.subgraphs_total, values };
    });
    const summary = await this.ctx.summaryOf(id);
    if (summary) {
      for (const v of ended.values ?? []) this.ctx.emit(id, { type: 'persisted', value: v });
      this.ctx.emit(id, { type: 'progress', graph: summary });
      if (ended.values) this.ctx.emit(id, { type: 'end', graph: summary });
    }
    return { contributions: ended.count, max_clients: ended.total, done: ended.values !== null };
  }

  /** A revoked requester's running federated graphs fail. */
  async failOwner(owner: string, error: string): Promise<number> {
    const rows = await this.ctx.db.selectFrom('graphs').select('id').where('owner', '=', owner).where('approach', '=', 'federated').where('status', '=', 'running').execute();
    for (const { id } of rows) {
      await this.ctx.db.updateTable('graphs').set({ status: 'failed', error, updated_at: Date.now() }).where('id', '=', id).where('status', '=', 'running').execute();
      const summary = await this.ctx.summaryOf(id);
      if (summary) this.ctx.emit(id, { type: 'end', graph: summary });
    }
    return rows.length;
  }
}

/** A contribution must match the graph's columns and be possible under its rules. */
function checkContribution(c: Contribution, rules: FederatedRules): void {
  const columns = ruleColumns(rules);
  if (c.columns.length !== columns.length || c.columns.some((x, j) => x !== columns[j])) {
    throw badRequest(`the contribution's columns [${c.columns.slice(0, 10).join(', ')}] are not the graph's [${columns.join(', ')}] (sorted by name)`);
  }
  if (c.mean.length !== columns.length || c.m2.length !== columns.length) throw badRequest(`mean and m2 need one number per column (${columns.length})`);
  if (![...c.mean, ...c.m2].every(Number.isFinite) || c.m2.some((v) => v < 0)) throw badRequest('mean and m2 must be finite numbers, m2 not negative');
  const why = implausible({ columns, rows: c.rows, mean: c.mean, m2: c.m2 }, rules);
  if (why) throw badRequest(`the contribution is not possible under the graph's rules: ${why}`);
}

