// The coordinator's tables, one schema for SQLite and PostgreSQL (Kysely types). Times are
// milliseconds since the epoch; JSON columns are text; flags are 0/1 integers, so both
// databases read the same values.
export interface TokensTable {
  /** SHA-256 (hex) of the token; the token itself is never stored. */
  hash: string;
  role: 'requester' | 'provider';
  label: string;
  created_at: number;
  /** When it was revoked (npx ravdl token revoke); null while it is valid. */
  revoked_at: number | null;
}

export interface GraphsTable {
  id: string;
  /** Hash of the requester token that uploaded it. */
  owner: string;
  name: string;
  algorithm: string;
  approach: string;
  /** Providers of different tokens whose results must agree (verification by replication; 1: none). */
  replicas: number;
  /** uploaded -> running -> done | failed */
  status: 'uploaded' | 'running' | 'done' | 'failed';
  graph_json: string;
  /** SHA-256 of graph_json (a retried upload with the same id must match it). */
  json_sha256: string;
  nodes_total: number;
  /** Constants plus the op nodes of finished subgraphs. */
  nodes_done: number;
  const_nodes: number;
  subgraphs_total: number;
  subgraphs_done: number;
  persisted_total: number;
  persisted_done: number;
  error: string | null;
  created_at: number;
  updated_at: number;
  /** When the results only its run needed (not persisted) were deleted, once it ended; null before. */
  pruned_at: number | null;
}

export interface BlobsTable {
  sha256: string;
  size: number;
  dtype: string;
  /** JSON array. */
  shape: string;
  data: Buffer;
  created_at: number;
}

/** Which requester may read (and use in graphs) which uploaded blob. */
export interface BlobOwnersTable {
  sha256: string;
  owner: string;
  /** When it was uploaded or last named by an uploaded graph (housekeeping releases it after --keep-days). */
  used_at: number | null;
}

/** A resumable upload in progress: its parts are kept until the last one arrives. */
export interface UploadsTable {
  sha256: string;
  owner: string;
  total: number;
  received: number;
  updated_at: number;
}

export interface UploadPartsTable {
  sha256: string;
  owner: string;
  offset: number;
  data: Buffer;
}

export interface SubgraphsTable {
  graph_id: string;
  idx: number;
  /** waiting (for inputs) -> ready -> leased -> done; back to ready when a lease ends without result. */
  state: 'waiting' | 'ready' | 'leased' | 'done';
  /** The partitioner's Subgraph (nodes, inputs, outputs, deps, costs) as JSON. */
  spec: string;
  /** JSON: the subgraphs that read its outputs. */
  dependents: string;
  deps_left: number;
  /** JSON: [{ ref, shape, dtype }] of its outputs, to check uploaded results against. */
  outputs: string;
  /** JSON: constant blob SHA-256s it reads. */
  const_blobs: string;
  node_count: number;
  flops: number;
  /** Estimated peak bytes of values alive at once while it runs. */
  peak_bytes: number;
  attempts: number;
  failures: number;
  /** JSON: provider ids whose lease of it failed or ran out (given it again only when no other provider fits). */
  excluded: string;
  last_error: string | null;
  /** The provider whose result was accepted. */
  done_by: string | null;
  updated_at: number;
}

export interface LeasesTable {
  id: string;
  graph_id: string;
  idx: number;
  provider_id: string;
  /** Hash of the provider's token. */
  token: string;
  /** active -> done | expired | failed | cancelled */
  state: 'active' | 'done' | 'expired' | 'failed' | 'cancelled';
  expires_at: number;
  created_at: number;
  finished_at: number | null;
}

export interface ResultsTable {
  graph_id: string;
  /** "node:output" of the full graph. */
  ref: string;
  sha256: string;
  lease_id: string;
  created_at: number;
}

export interface PersistedTable {
  graph_id: string;
  name: string;
  ref: string;
  position: number;
  sha256: string | null;
  /** The value when it is one number (batch losses), for the dashboard. */
  scalar: number | null;
  ready_at: number | null;
}

export interface ProvidersTable {
  id: string;
  token: string;
  name: string;
  capability: string;
  gflops: number;
  memory_bytes: number;
  connected: number;
  last_seen: number;
  subgraphs_done: number;
  flops_done: number;
  busy_ms: number;
  /** Its results that lost a vote of a replicated run. */
  disputed: number;
  created_at: number;
}

/** A provider's statistics for a federated graph (graph/federated.ts): one per graph and provider token. */
export interface FederatedContributionsTable {
  graph_id: string;
  /** Hash of the provider's token. */
  token: string;
  /** The provider's name, as it gave it. */
  provider: string;
  rows: number;
  /** JSON { mean: number[], m2: number[] } in the order of the rules' sorted columns. */
  stats: string;
  created_at: number;
}

export interface Database {
  tokens: TokensTable;
  graphs: GraphsTable;
  blobs: BlobsTable;
  blob_owners: BlobOwnersTable;
  uploads: UploadsTable;
  upload_parts: UploadPartsTable;
  subgraphs: SubgraphsTable;
  leases: LeasesTable;
  results: ResultsTable;
  persisted: PersistedTable;
  providers: ProvidersTable;
  federated_contributions: FederatedContributionsTable;
}
