// Opens the coordinator's database: one SQLite file by default (better-sqlite3), PostgreSQL
// when given a postgres:// URL (pg). The schema is created or brought up to date at open by
// Kysely's migrator (which locks on PostgreSQL, so coordinators may start side by side).
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, type Migration, Migrator, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import type { Database } from './schema.js';

export type DbKind = 'sqlite' | 'postgres';

export interface Db {
  db: Kysely<Database>;
  kind: DbKind;
  /** The connection under Kysely (SQLite), for the coordinator's group commits (db/journal.ts). */
  sqlite?: BetterSqlite3.Database;
  /** The pool under Kysely (PostgreSQL). */
  pool?: pg.Pool;
  /** The file or the URL without its password. */
  where: string;
  close(): Promise<void>;
}

export const isPostgresUrl = (spec: string): boolean => /^postgres(ql)?:\/\//i.test(spec);

export async function openDatabase(spec: string): Promise<Db> {
  let db: Kysely<Database>;
  let kind: DbKind;
  let where: string;
  let sqlite: BetterSqlite3.Database | undefined;
  let pool: pg.Pool | undefined;
  if (isPostgresUrl(spec)) {
    kind = 'postgres';
    const url = new URL(spec);
    url.password = url.password ? '***' : '';
    where = url.toString();
    // int8 (bigint) columns hold times and sizes well below 2^53: read them as numbers.
    const types = { getTypeParser: (oid: number, format?: 'text' | 'binary') => (oid === 20 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text')) };
    pool = new pg.Pool({ connectionString: spec, max: 12, types: types as pg.CustomTypesConfig });
    pool.on('error', (err) => console.error(`ravdl coordinator: PostgreSQL connection error: ${err.message}`));
    db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  } else {
    kind = 'sqlite';
    where = resolve(spec);
    mkdirSync(dirname(where), { recursive: true });
    sqlite = new BetterSqlite3(where);
    // First, so that switching to WAL waits for another process opening the same new file.
    sqlite.pragma('busy_timeout = 5000');
    // WAL with synchronous=FULL: a commit is on disk (fsync of the WAL) before it returns, so an
    // acknowledged result survives a power cut too; the coordinator commits in groups (journal.ts),
    // which makes that one fsync per group rather than per result.
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = FULL');
    db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
  }
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations(kind) } });
  // Two processes opening a new database at once race to create the migrator's own tables: the
  // loser tries again and finds the schema in place.
  for (let attempt = 1; ; attempt++) {
    const { error } = await migrator.migrateToLatest();
    if (!error) break;
    if (attempt >= 8) {
      await db.destroy();
      throw new Error(`cannot prepare the database ${where}: ${(error as Error).message ?? error}`);
    }
    await new Promise((r) => setTimeout(r, 25 * attempt + Math.random() * 50));
  }
  return { db, kind, where, sqlite, pool, close: () => db.destroy() };
}

function migrations(kind: DbKind): Record<string, Migration> {
  const bytes = kind === 'postgres' ? 'bytea' : 'blob';
  return {
    '001_initial': {
      async up(db: Kysely<any>) {
        const s = db.schema;
        await s
          .createTable('tokens')
          .addColumn('hash', 'text', (c) => c.primaryKey())
          .addColumn('role', 'text', (c) => c.notNull())
          .addColumn('label', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();
        await s
          .createTable('graphs')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('owner', 'text', (c) => c.notNull())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('algorithm', 'text', (c) => c.notNull())
          .addColumn('approach', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('graph_json', 'text', (c) => c.notNull())
          .addColumn('json_sha256', 'text', (c) => c.notNull())
          .addColumn('nodes_total', 'integer', (c) => c.notNull())
          .addColumn('nodes_done', 'integer', (c) => c.notNull())
          .addColumn('const_nodes', 'integer', (c) => c.notNull())
          .addColumn('subgraphs_total', 'integer', (c) => c.notNull())
          .addColumn('subgraphs_done', 'integer', (c) => c.notNull())
          .addColumn('persisted_total', 'integer', (c) => c.notNull())
          .addColumn('persisted_done', 'integer', (c) => c.notNull())
          .addColumn('error', 'text')
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .execute();
        await s.createIndex('graphs_owner').on('graphs').column('owner').execute();
        await s
          .createTable('blobs')
          .addColumn('sha256', 'text', (c) => c.primaryKey())
          .addColumn('size', 'bigint', (c) => c.notNull())
          .addColumn('dtype', 'text', (c) => c.notNull())
          .addColumn('shape', 'text', (c) => c.notNull())
          .addColumn('data', bytes, (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();
        await s
          .createTable('blob_owners')
          .addColumn('sha256', 'text', (c) => c.notNull())
          .addColumn('owner', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('blob_owners_pk', ['sha256', 'owner'])
          .execute();
        await s
          .createTable('uploads')
          .addColumn('sha256', 'text', (c) => c.notNull())
          .addColumn('owner', 'text', (c) => c.notNull())
          .addColumn('total', 'bigint', (c) => c.notNull())
          .addColumn('received', 'bigint', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('uploads_pk', ['sha256', 'owner'])
          .execute();
        await s
          .createTable('upload_parts')
          .addColumn('sha256', 'text', (c) => c.notNull())
          .addColumn('owner', 'text', (c) => c.notNull())
          .addColumn('offset', 'bigint', (c) => c.notNull())
          .addColumn('data', bytes, (c) => c.notNull())
          .addPrimaryKeyConstraint('upload_parts_pk', ['sha256', 'owner', 'offset'])
          .execute();
        await s
          .createTable('subgraphs')
          .addColumn('graph_id', 'text', (c) => c.notNull())
          .addColumn('idx', 'integer', (c) => c.notNull())
          .addColumn('state', 'text', (c) => c.notNull())
          .addColumn('spec', 'text', (c) => c.notNull())
          .addColumn('dependents', 'text', (c) => c.notNull())
          .addColumn('deps_left', 'integer', (c) => c.notNull())
          .addColumn('outputs', 'text', (c) => c.notNull())
          .addColumn('const_blobs', 'text', (c) => c.notNull())
          .addColumn('node_count', 'integer', (c) => c.notNull())
          .addColumn('flops', 'double precision', (c) => c.notNull())
          .addColumn('peak_bytes', 'bigint', (c) => c.notNull())
          .addColumn('attempts', 'integer', (c) => c.notNull())
          .addColumn('failures', 'integer', (c) => c.notNull())
          .addColumn('excluded', 'text', (c) => c.notNull())
          .addColumn('last_error', 'text')
          .addColumn('done_by', 'text')
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('subgraphs_pk', ['graph_id', 'idx'])
          .execute();
        await s.createIndex('subgraphs_state').on('subgraphs').columns(['state', 'graph_id', 'idx']).execute();
        await s
          .createTable('leases')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('graph_id', 'text', (c) => c.notNull())
          .addColumn('idx', 'integer', (c) => c.notNull())
          .addColumn('provider_id', 'text', (c) => c.notNull())
          .addColumn('token', 'text', (c) => c.notNull())
          .addColumn('state', 'text', (c) => c.notNull())
          .addColumn('expires_at', 'bigint', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('finished_at', 'bigint')
          .execute();
        await s.createIndex('leases_state').on('leases').columns(['state', 'expires_at']).execute();
        await s.createIndex('leases_subgraph').on('leases').columns(['graph_id', 'idx']).execute();
        await s
          .createTable('results')
          .addColumn('graph_id', 'text', (c) => c.notNull())
          .addColumn('ref', 'text', (c) => c.notNull())
          .addColumn('sha256', 'text', (c) => c.notNull())
          .addColumn('lease_id', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('results_pk', ['graph_id', 'ref'])
          .execute();
        await s.createIndex('results_sha').on('results').column('sha256').execute();
        await s
          .createTable('persisted')
          .addColumn('graph_id', 'text', (c) => c.notNull())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('ref', 'text', (c) => c.notNull())
          .addColumn('position', 'integer', (c) => c.notNull())
          .addColumn('sha256', 'text')
          .addColumn('scalar', 'double precision')
          .addColumn('ready_at', 'bigint')
          .addPrimaryKeyConstraint('persisted_pk', ['graph_id', 'name'])
          .execute();
        await s.createIndex('persisted_ref').on('persisted').columns(['graph_id', 'ref']).execute();
        await s
          .createTable('providers')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('token', 'text', (c) => c.notNull())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('capability', 'text', (c) => c.notNull())
          .addColumn('gflops', 'double precision', (c) => c.notNull())
          .addColumn('memory_bytes', 'bigint', (c) => c.notNull())
          .addColumn('connected', 'integer', (c) => c.notNull())
          .addColumn('last_seen', 'bigint', (c) => c.notNull())
          .addColumn('subgraphs_done', 'integer', (c) => c.notNull())
          .addColumn('flops_done', 'double precision', (c) => c.notNull())
          .addColumn('busy_ms', 'bigint', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();
      },
    },
    '002_token_revocation': {
      async up(db: Kysely<any>) {
        await db.schema.alterTable('tokens').addColumn('revoked_at', 'bigint').execute();
      },
    },
    '003_federated': {
      async up(db: Kysely<any>) {
        await db.schema
          .createTable('federated_contributions')
          .addColumn('graph_id', 'text', (c) => c.notNull())
          .addColumn('token', 'text', (c) => c.notNull())
          .addColumn('provider', 'text', (c) => c.notNull())
          .addColumn('rows', 'bigint', (c) => c.notNull())
          .addColumn('stats', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('federated_contributions_pk', ['graph_id', 'token'])
          .execute();
      },
    },
    '004_replication': {
      async up(db: Kysely<any>) {
        await db.schema.alterTable('graphs').addColumn('replicas', 'integer', (c) => c.notNull().defaultTo(1)).execute();
        await db.schema.alterTable('providers').addColumn('disputed', 'integer', (c) => c.notNull().defaultTo(0)).execute();
      },
    },
    '005_retention': {
      async up(db: Kysely<any>) {
        await db.schema.alterTable('graphs').addColumn('pruned_at', 'bigint').execute();
      },
    },
    '006_upload_use': {
      async up(db: Kysely<any>) {
        await db.schema.alterTable('blob_owners').addColumn('used_at', 'bigint').execute();
        await db.updateTable('blob_owners').set({ used_at: Date.now() }).execute(); // uploads from before: their time starts now
      },
    },
  };
}
