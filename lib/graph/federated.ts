// Federated analytics (the seed's approach: 'federated'): statistics over data that stays on the
// providers' machines. A federated graph declares rules (the columns it wants, each with optional
// bounds, and how many providers must contribute); its nodes are federated_mean, _variance and
// _standard_deviation, each one value per column. A provider reads its own CSV, keeps the rows
// whose every rule column is a number within bounds, and shares only per-column aggregates (row
// count, mean, sum of squared deviations); the coordinator combines them once max_clients have
// contributed. Variance is the population variance (divided by n), as in the original.
import { GraphError } from '../errors.js';

export const FEDERATED_STATS = ['federated_mean', 'federated_variance', 'federated_standard_deviation'] as const;
export type FederatedStat = (typeof FEDERATED_STATS)[number];
export const isFederatedStat = (op: string): op is FederatedStat => (FEDERATED_STATS as readonly string[]).includes(op);

export const MAX_FEDERATED_COLUMNS = 256;
export const MAX_CLIENTS = 10_000;

export interface ColumnRule {
  min?: number;
  max?: number;
}

/** A federated graph's rules, normalized: columns sorted by name (the order of every statistic's values). */
export interface FederatedRules {
  rules: Record<string, ColumnRule>;
  max_clients: number;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Checks and normalizes rules given as an object or as its JSON text (the seed passes
 * json.dumps({ rules: { age: { min: 18, max: 80 }, fund: {} }, max_clients: 1 })).
 */
export function normalizeRules(raw: unknown, where = 'Graph: rules'): FederatedRules {
  let v = raw;
  if (typeof v === 'string') {
    try {
      v = JSON.parse(v);
    } catch {
      throw new GraphError(`${where}: not valid JSON`);
    }
  }
  if (!isObject(v)) throw new GraphError(`${where}: must be { rules: { column: { min?, max? } }, max_clients }`);
  for (const k of Object.keys(v)) if (k !== 'rules' && k !== 'max_clients') throw new GraphError(`${where}: unknown key ${JSON.stringify(k).slice(0, 60)} (it takes rules and max_clients)`);
  const cols = v.rules;
  if (!isObject(cols)) throw new GraphError(`${where}: rules must map column names to { min?, max? }`);
  const names = Object.keys(cols).sort();
  if (!names.length) throw new GraphError(`${where}: rules name no column`);
  if (names.length > MAX_FEDERATED_COLUMNS) throw new GraphError(`${where}: ${names.length} columns, the most is ${MAX_FEDERATED_COLUMNS}`);
  const rules: Record<string, ColumnRule> = {};
  for (const name of names) {
    if (name === '' || name.length > 200) throw new GraphError(`${where}: a column name must be 1 to 200 characters, got ${JSON.stringify(name.slice(0, 60))}`);
    const r = cols[name];
    if (!isObject(r)) throw new GraphError(`${where}: column '${name}': must be { min?, max? } ({} for no bounds)`);
    const rule: ColumnRule = {};
    for (const [k, b] of Object.entries(r)) {
      if (k !== 'min' && k !== 'max') throw new GraphError(`${where}: column '${name}': unknown bound ${JSON.stringify(k).slice(0, 40)} (min or max)`);
      if (typeof b !== 'number' || !Number.isFinite(b)) throw new GraphError(`${where}: column '${name}': ${k} must be a finite number, got ${JSON.stringify(b)?.slice(0, 40)}`);
      rule[k] = b;
    }
    if (rule.min !== undefined && rule.max !== undefined && rule.min > rule.max) throw new GraphError(`${where}: column '${name}': min ${rule.min} is above max ${rule.max}`);
    rules[name] = rule;
  }
  const m = v.max_clients;
  if (!Number.isSafeInteger(m) || (m as number) < 1 || (m as number) > MAX_CLIENTS) throw new GraphError(`${where}: max_clients (how many providers must contribute) must be an integer from 1 to ${MAX_CLIENTS}, got ${JSON.stringify(m)}`);
  return { rules, max_clients: m as number };
}

export const ruleColumns = (r: FederatedRules): string[] => Object.keys(r.rules);

/** Rows, per-column means and sums of squared deviations from the mean: what a provider shares. */
export interface ColumnStats {
  columns: string[];
  rows: number;
  mean: number[];
  m2: number[];
}

/** Splits CSV text into rows of fields (RFC 4180: quoted fields may hold commas, quotes as "", line breaks). */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let i = 0;
  const endField = () => (row.push(field), (field = ''));
  const endRow = () => {
    endField();
    if (row.length > 1 || row[0] !== '') rows.push(row);
    row = [];
  };
  if (text.charCodeAt(0) === 0xfeff) i = 1; // a byte-order mark
  for (; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c !== '"') field += c;
      else if (text[i + 1] === '"') (field += '"'), i++;
      else quoted = false;
    } else if (c === '"' && field === '') quoted = true;
    else if (c === ',') endField();
    else if (c === '\n') endRow();
    else if (c !== '\r') field += c;
  }
  if (quoted) throw new GraphError('CSV: a quoted field is not closed');
  if (field !== '' || row.length) endRow();
  return rows;
}

/**
 * The statistics a provider shares: over the rows of its CSV (a header row naming the columns,
 * then one row per record) whose every rule column holds a number within that column's bounds.
 */
export function localStats(csv: string, rules: FederatedRules): ColumnStats & { skipped: number } {
  const [header, ...records] = parseCsv(csv);
  if (!header) throw new GraphError('CSV: the file is empty (it needs a header row naming its columns)');
  const columns = ruleColumns(rules);
  const at = columns.map((c) => {
    const k = header.findIndex((h) => h.trim() === c);
    if (k < 0) throw new GraphError(`CSV: no column '${c}' (the graph's rules need ${columns.map((x) => `'${x}'`).join(', ')}; the file has ${header.slice(0, 20).map((x) => `'${x.trim()}'`).join(', ')})`);
    return k;
  });
  const C = columns.length;
  const mean = new Float64Array(C);
  const m2 = new Float64Array(C);
  const x = new Float64Array(C);
  let rows = 0;
  let skipped = 0;
  for (const rec of records) {
    let ok = true;
    for (let j = 0; j < C && ok; j++) {
      const s = rec[at[j]!]?.trim() ?? '';
      const v = s === '' ? NaN : Number(s);
      const r = rules.rules[columns[j]!]!;
      ok = Number.isFinite(v) && (r.min === undefined || v >= r.min) && (r.max === undefined || v <= r.max);
      x[j] = v;
    }
    if (!ok) {
      skipped++;
      continue;
    }
    rows++;
    // Welford's update: stable in one pass.
    for (let j = 0; j < C; j++) {
      const d = x[j]! - mean[j]!;
      mean[j]! += d / rows;
      m2[j]! += d * (x[j]! - mean[j]!);
    }
  }
  return { columns, rows, mean: Array.from(mean), m2: Array.from(m2), skipped };
}

/** Several providers' statistics as one (Chan et al.'s pairwise combination). */
export function combineStats(parts: readonly ColumnStats[]): ColumnStats {
  if (!parts.length) throw new GraphError('combineStats: no statistics to combine');
  const { columns } = parts[0]!;
  const mean = new Float64Array(columns.length);
  const m2 = new Float64Array(columns.length);
  let rows = 0;
  for (const p of parts) {
    if (p.columns.join('\u0000') !== columns.join('\u0000')) throw new GraphError('combineStats: the parts have different columns');
    if (!p.rows) continue;
    const n = rows + p.rows;
    for (let j = 0; j < columns.length; j++) {
      const d = p.mean[j]! - mean[j]!;
      m2[j] = m2[j]! + p.m2[j]! + (d * d * rows * p.rows) / n;
      mean[j] = mean[j]! + (d * p.rows) / n;
    }
    rows = n;
  }
  return { columns, rows, mean: Array.from(mean), m2: Array.from(m2) };
}

/** A federated node's values from combined statistics (one per column, in column order). */
export function statValues(stat: FederatedStat, s: ColumnStats): number[] {
  if (stat === 'federated_mean') return s.mean;
  const variance = s.m2.map((v) => v / s.rows);
  return stat === 'federated_variance' ? variance : variance.map(Math.sqrt);
}

/**
 * Whether a contribution is possible under the rules (a provider's numbers are not trusted): each
 * mean within its column's bounds, each spread at most what the bounds allow (Popoviciu: a
 * variance is at most (max - min)^2 / 4). Returns why not, or null.
 */
export function implausible(s: ColumnStats, rules: FederatedRules): string | null {
  for (let j = 0; j < s.columns.length; j++) {
    const r = rules.rules[s.columns[j]!]!;
    const mean = s.mean[j]!;
    const variance = s.m2[j]! / s.rows;
    const slack = 1e-9 * Math.max(1, Math.abs(mean));
    if ((r.min !== undefined && mean < r.min - slack) || (r.max !== undefined && mean > r.max + slack)) return `column '${s.columns[j]}': mean ${mean} is outside the rules' bounds`;
    if (r.min !== undefined && r.max !== undefined && variance > ((r.max - r.min) ** 2 / 4) * (1 + 1e-9) + 1e-12) return `column '${s.columns[j]}': variance ${variance} is more than values within [${r.min}, ${r.max}] can have`;
  }
  return null;
}
