// A provider's side of federated analytics (the seed's ravpy list_graphs(approach='federated') and
// participate(graph_id, file_path)): it lists the federated graphs waiting for contributions and,
// for one, reads its own CSV, keeps the rows the graph's rules allow, and sends only the row count
// and each column's mean and sum of squared deviations. The data never leaves the machine.
import { readFileSync } from 'node:fs';
import { GraphError } from '../../errors.js';
import { type FederatedRules, localStats, normalizeRules } from '../../graph/federated.js';
import type { FederatedListing } from '../coordinator/federated.js';
import { API } from '../protocol.js';
import { Http } from '../http.js';

export interface ParticipateOptions {
  server: string;
  token: string;
  graphId: string;
  /** The CSV file (a header row naming the columns, then one row per record)... */
  file?: string;
  /** ...or its text. */
  csv?: string;
  /** The provider's name, shown to the coordinator's operator (default: none). */
  name?: string;
  /**
   * Fewest rows the statistics may cover (default 5): the mean of one row is that row, so a
   * provider shares nothing that would reveal a handful of its records.
   */
  minRows?: number;
  log?: ((line: string) => void) | null;
}

export interface ParticipateResult {
  rows: number;
  /** Rows left out by the rules (a value missing, not a number, or out of bounds). */
  skipped: number;
  columns: string[];
  contributions: number;
  max_clients: number;
  /** Whether this contribution completed the graph. */
  done: boolean;
}

/** The federated graphs waiting for contributions that this provider token has not contributed to. */
export async function listFederatedGraphs(opts: { server: string; token: string }): Promise<FederatedListing[]> {
  const http = new Http(opts.server.replace(/\/+$/, ''), opts.token);
  return (await http.json<{ graphs: FederatedListing[] }>(`${API}/federated`, { retryMs: 10_000 })).graphs;
}

/** Sends this provider's statistics over its data to federated graph `graphId`. */
export async function participate(opts: ParticipateOptions): Promise<ParticipateResult> {
  const log = opts.log === undefined ? (line: string) => console.log(line) : (opts.log ?? (() => {}));
  const minRows = opts.minRows ?? 5;
  if (!Number.isSafeInteger(minRows) || minRows < 1) throw new GraphError(`participate: minRows must be a positive integer, got ${minRows}`);
  if ((opts.file === undefined) === (opts.csv === undefined)) throw new GraphError('participate: give the data as file (a CSV path) or csv (its text)');
  const graphs = await listFederatedGraphs(opts);
  const g = graphs.find((x) => x.id === opts.graphId);
  if (!g) throw new GraphError(`participate: no federated graph ${opts.graphId} waits for this provider's contribution (it may be done, not started, or contributed to already; open ones: ${graphs.map((x) => x.id).slice(0, 10).join(', ') || 'none'})`);
  const rules: FederatedRules = normalizeRules(g.rules, `participate: graph ${g.id}: rules`);
  let text: string;
  try {
    text = opts.csv ?? readFileSync(opts.file!, 'utf8');
  } catch (err) {
    throw new GraphError(`participate: cannot read ${opts.file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  const s = localStats(text, rules);
  if (s.rows < minRows) throw new GraphError(`participate: only ${s.rows} row(s) of the data pass graph ${g.id}'s rules (${s.skipped} left out); sharing statistics of fewer than ${minRows} would reveal them`);
  log(`graph ${g.id} ('${g.name}'): sharing ${s.rows} row(s)' statistics (${s.skipped} left out by the rules): ${s.columns.map((c, j) => `${c} mean ${s.mean[j]!.toPrecision(6)}`).join(', ')}`);
  const http = new Http(opts.server.replace(/\/+$/, ''), opts.token);
  const r = await http.json<{ contributions: number; max_clients: number; done: boolean }>(`${API}/federated/${encodeURIComponent(g.id)}/contributions`, {
    method: 'POST',
    body: { ...(opts.name ? { provider: opts.name.slice(0, 200) } : {}), rows: s.rows, columns: s.columns, mean: s.mean, m2: s.m2 },
  });
  log(`graph ${g.id}: contribution ${r.contributions} of ${r.max_clients}${r.done ? ': the statistics are complete' : ''}`);
  return { rows: s.rows, skipped: s.skipped, columns: s.columns, ...r };
}
