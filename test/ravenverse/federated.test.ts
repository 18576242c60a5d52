// Federated analytics (approach 'federated'): the seed's requester script (R.Graph with rules,
// R.federated_mean / _variance / _standard_deviation, execute, fetch) run against a coordinator
// while providers contribute statistics of their own CSV files. The fetched values equal the
// statistics of all the providers' rows that pass the rules, computed directly; the rows never
// reach the coordinator. Bad rules, bad contributions and a restart midway are covered too.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main as federatedExample } from '../../examples/federated_analytics.js';
import * as R from '../../lib/index.js';
import { combineStats, localStats, normalizeRules, parseCsv } from '../../lib/graph/federated.js';
import { graphJson } from '../../lib/graph/format.js';
import { validateGraphJson } from '../../lib/graph/validate.js';
import '../../lib/ravenverse/client.js';
import { type Coordinator, startCoordinator } from '../../lib/ravenverse/coordinator/server.js';
import { createToken } from '../../lib/ravenverse/db/tokens.js';
import { listFederatedGraphs, participate } from '../../lib/ravenverse/provider/federated.js';
import { ROOT, api, backends, waitFor, within } from './helpers.js';

const RULES = { rules: { age: { min: 18, max: 80 }, salary: { min: 1, max: 5 }, bonus: { min: 0, max: 10 }, fund: {} }, max_clients: 3 };

/** A provider's CSV: n records of which some break the rules (out of bounds, empty, not a number); columns in a shuffled order plus one the graph does not ask for. */
function csvOf(seed: number, n: number): string {
  let s = seed;
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const lines = ['name,bonus,"age",fund,salary'];
  for (let i = 0; i < n; i++) {
    const age = i % 11 === 3 ? 12 : Math.floor(18 + rnd() * 70); // some under 18
    const salary = i % 13 === 5 ? '' : (1 + rnd() * 4).toFixed(2);
    const bonus = i % 17 === 7 ? 'n/a' : (rnd() * 10).toFixed(1);
    const fund = (rnd() * 1e6 - 2e5).toFixed(0);
    lines.push(`"person ${i}, the ${seed}th",${bonus},${age},${fund},${salary}`);
  }
  return lines.join(seed % 2 === 0 ? '\r\n' : '\n') + '\n'; // both line ends
}

/** The statistics computed directly (two passes, float64) over every provider's rows that pass the rules. */
function direct(csvs: string[]): { columns: string[]; mean: number[]; variance: number[] } {
  const rules = normalizeRules(RULES);
  const columns = Object.keys(rules.rules);
  const rows: number[][] = [];
  for (const text of csvs) {
    const [header, ...recs] = parseCsv(text);
    const at = columns.map((c) => header!.indexOf(c));
    for (const r of recs) {
      const v = at.map((k) => (r[k]!.trim() === '' ? NaN : Number(r[k])));
      if (v.every((x, j) => Number.isFinite(x) && x >= (rules.rules[columns[j]!]!.min ?? -Infinity) && x <= (rules.rules[columns[j]!]!.max ?? Infinity))) rows.push(v);
    }
  }
  const mean = columns.map((_, j) => rows.reduce((a, r) => a + r[j]!, 0) / rows.length);
  const variance = columns.map((_, j) => rows.reduce((a, r) => a + (r[j]! - mean[j]!) ** 2, 0) / rows.length);
  return { columns, mean, variance };
}

const close = (got: ArrayLike<number>, want: number[]) => want.forEach((w, j) => expect(Math.abs(got[j]! - w)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(w))));

describe('federated statistics', () => {
  it('each provider shares row count, means and squared deviations; combined they equal the statistics of all the rows', () => {
    const csvs = [csvOf(1, 40), csvOf(2, 25), csvOf(3, 61)];
    const rules = normalizeRules(JSON.stringify(RULES));
    const parts = csvs.map((c) => localStats(c, rules));
    expect(parts.map((p) => p.skipped).every((k) => k > 0)).toBe(true);
    const all = combineStats(parts);
    const want = direct(csvs);
    expect(all.columns).toEqual(['age', 'bonus', 'fund', 'salary']);
    close(all.mean, want.mean);
    close(all.m2.map((m) => m / all.rows), want.variance);
    // Quoted fields keep their commas; a missing column is named.
    expect(parseCsv('a,"b,c",d\r\n1,"x ""y""",3\n')).toEqual([['a', 'b,c', 'd'], ['1', 'x "y"', '3']]);
    expect(() => localStats('age,salary\n1,2\n', rules)).toThrow(/no column 'bonus'/);
  });

  it('rules are checked: each mistake is a GraphError naming it', () => {
    const bad: [unknown, RegExp][] = [
      ['{not json', /not valid JSON/],
      [{ rules: {}, max_clients: 1 }, /name no column/],
      [{ rules: { a: { min: 2, max: 1 } }, max_clients: 1 }, /min 2 is above max 1/],
      [{ rules: { a: { min: '1' } }, max_clients: 1 }, /min must be a finite number/],
      [{ rules: { a: { low: 1 } }, max_clients: 1 }, /unknown bound "low"/],
      [{ rules: { a: {} }, max_clients: 0 }, /max_clients .* from 1 to/],
      [{ rules: { a: {} } }, /max_clients/],
      [{ rules: { a: {} }, max_clients: 1, extra: 1 }, /unknown key "extra"/],
    ];
    for (const [rules, msg] of bad) expect(() => normalizeRules(rules), JSON.stringify(rules)).toThrow(msg);
  });

  it('a federated graph records only federated statistics, survives graph.json, and does not run in this process', async () => {
    R.flush();
    expect(() => new R.Graph({ name: 'x', approach: 'federated' })).toThrow(/needs rules/);
    expect(() => new R.Graph({ name: 'x', rules: RULES })).toThrow(/rules are for approach 'federated'/);
    const g = new R.Graph({ name: 'Office Data', approach: 'federated', rules: JSON.stringify(RULES) });
    R.federated_mean().persist_op('mean');
    R.federated_standard_deviation().persist_op('standard_deviation');
    expect(() => R.federated_variance().add(1)).toThrow(/federated: it holds only federated_mean/);
    expect(() => R.t([1, 2]).persist_op('c')).toThrow(/federated/);
    R.activate();
    expect(g.federatedColumns).toEqual(['age', 'bonus', 'fund', 'salary']);
    const doc = JSON.parse(JSON.stringify(graphJson(g.data)));
    expect(validateGraphJson(doc).info.rules).toEqual(normalizeRules(RULES));
    const tamper = (f: (d: any) => void) => {
      const d = JSON.parse(JSON.stringify(doc));
      f(d);
      return () => validateGraphJson(d);
    };
    expect(tamper((d) => (d.nodes[0].outputs[0].shape = [3]))).toThrow(/one value per rule column/);
    expect(tamper((d) => (d.nodes[0].op = 'add'))).toThrow(/holds only federated_mean/);
    expect(tamper((d) => delete d.rules)).toThrow(/rules/);
    expect(tamper((d) => (d.approach = 'distributed'))).toThrow(/rules are for approach 'federated'|unknown op/);
    expect(() => R.execute()).toThrow(/federated: .* runs on a coordinator/);
    R.flush();
    new R.Graph({ name: 'plain' });
    expect(() => R.federated_mean()).toThrow(/is not federated/);
    R.flush();
  });
});

describe.each(backends().map((b) => [b.name, b] as const))('federated analytics on a coordinator on %s', (_name, backend) => {
  let c: Coordinator | null;
  let drop: () => Promise<void>;
  let spec: string;
  let requester: string;
  let providers: string[];
  const opts = () => ({ db: spec, port: 0, log: null });

  beforeAll(async () => {
    ({ spec, drop } = await backend.create());
    c = await startCoordinator(opts());
    requester = await createToken(c.db.db, 'requester', 'analyst');
    providers = [await createToken(c.db.db, 'provider', 'p1'), await createToken(c.db.db, 'provider', 'p2'), await createToken(c.db.db, 'provider', 'p3')];
  }, 60_000);

  afterAll(async () => {
    R.flush();
    R.initialize(null);
    await c?.close();
    await drop?.();
  });

  it("the seed's federated script: three providers contribute, a restart midway loses nothing, the fetched statistics are those of all their rows", async () => {
    R.initialize(requester, { server: c!.url });
    R.flush();
    new R.Graph({ name: 'Office Data', approach: 'federated', rules: JSON.stringify(RULES) });
    const mean = R.federated_mean();
    const variance = R.federated_variance();
    const sd = R.federated_standard_deviation();
    mean.persist_op('mean');
    variance.persist_op('variance');
    sd.persist_op('standard_deviation');
    R.activate();
    const run = R.execute();
    const progress: number[] = [];
    const tracked = R.track_progress({ stream: null, onProgress: (p) => progress.push(p.nodesDone) });
    const url = c!.url;
    const open = await waitFor('the graph to be open for contributions', async () => (await listFederatedGraphs({ server: url, token: providers[0]! })).find((g) => g.name === 'Office Data'));
    expect(open).toMatchObject({ contributions: 0, max_clients: 3, rules: normalizeRules(RULES) });
    const csvs = [csvOf(11, 40), csvOf(12, 33), csvOf(13, 57)];
    const first = await participate({ server: url, token: providers[0]!, graphId: open.id, csv: csvs[0], name: 'clinic-a', log: null });
    expect(first).toMatchObject({ contributions: 1, max_clients: 3, done: false });
    // The same token again: refused; the others no longer see it listed for the first.
    await expect(participate({ server: url, token: providers[0]!, graphId: open.id, csv: csvs[0], log: null })).rejects.toThrow(/no federated graph .* waits for this provider/);
    const again = await api(url, `/v1/federated/${open.id}/contributions`, providers[0]!, { method: 'POST', body: { rows: 10, columns: ['age', 'bonus', 'fund', 'salary'], mean: [30, 5, 0, 3], m2: [1, 1, 1, 1] } });
    expect(`${again.status} ${again.json.error.code}`).toBe('409 ERR_CONFLICT');
    // Contributions that cannot be right are refused with the reason, and count for nothing.
    const bad = async (body: unknown) => {
      const r = await api(url, `/v1/federated/${open.id}/contributions`, providers[1]!, { method: 'POST', body });
      return `${r.status} ${r.json.error.code} ${r.json.error.message}`;
    };
    expect(await bad({ rows: 10, columns: ['age', 'salary'], mean: [30, 3], m2: [1, 1] })).toMatch(/^400 ERR_BAD_REQUEST .*columns/);
    expect(await bad({ rows: 10, columns: ['age', 'bonus', 'fund', 'salary'], mean: [90, 5, 0, 3], m2: [1, 1, 1, 1] })).toMatch(/^400 ERR_BAD_REQUEST .*'age': mean 90 is outside/);
    expect(await bad({ rows: 10, columns: ['age', 'bonus', 'fund', 'salary'], mean: [30, 5, 0, 3], m2: [1, 1, 1, 1000] })).toMatch(/^400 ERR_BAD_REQUEST .*'salary': variance 100 is more than/);
    expect(await bad({ rows: 0, columns: ['age', 'bonus', 'fund', 'salary'], mean: [30, 5, 0, 3], m2: [1, 1, 1, 1] })).toMatch(/^400 ERR_BAD_REQUEST/);
    expect(await bad({ rows: 10, columns: ['age', 'bonus', 'fund', 'salary'], mean: [30, 5, 0, 3], m2: [1, 1, -1, 1] })).toMatch(/^400 ERR_BAD_REQUEST .*m2 not negative/);
    expect((await api(url, `/v1/federated/${open.id}/contributions`, requester, { method: 'POST', body: { rows: 1, columns: [], mean: [], m2: [] } })).status).toBe(403);
    expect((await api(url, '/v1/federated/g_nonexistent_graph_0001/contributions', providers[1]!, { method: 'POST', body: { rows: 1, columns: [], mean: [], m2: [] } })).json.error.code).toBe('ERR_NOT_FOUND');
    // Too few rows pass the rules: the provider refuses to share them.
    await expect(participate({ server: url, token: providers[1]!, graphId: open.id, csv: csvOf(14, 3), log: null })).rejects.toThrow(/only \d row\(s\) .* fewer than 5 would reveal them/);

    // The coordinator stops and comes back: the contribution is kept, the requester's run goes on.
    const port = c!.port;
    await c!.close();
    c = await startCoordinator({ ...opts(), port });
    expect((await participate({ server: url, token: providers[1]!, graphId: open.id, csv: csvs[1], log: null })).contributions).toBe(2);
    const last = await participate({ server: url, token: providers[2]!, graphId: open.id, csv: csvs[2], log: null });
    expect(last).toMatchObject({ contributions: 3, done: true });
    await within('the run to end', 30_000, run);
    await tracked;
    expect(progress.at(-1)).toBe(3);
    const want = direct(csvs);
    close(R.fetch_persisting_op('mean').toArray() as number[], want.mean);
    close(R.fetch_persisting_op('variance').toArray() as number[], want.variance);
    close(R.fetch_persisting_op({ op_name: 'standard_deviation' }).toArray() as number[], want.variance.map(Math.sqrt));
    // Done: no longer listed, no more contributions.
    expect((await listFederatedGraphs({ server: url, token: providers[0]! })).find((g) => g.id === open.id)).toBeUndefined();
    const late = await api(url, `/v1/federated/${open.id}/contributions`, (await createToken(c!.db.db, 'provider')), { method: 'POST', body: { rows: 10, columns: ['age', 'bonus', 'fund', 'salary'], mean: [30, 5, 0, 3], m2: [1, 1, 1, 1] } });
    expect(`${late.status} ${late.json.error.code} ${late.json.error.message}`).toMatch(/^409 ERR_CONFLICT .*done: it takes no more contributions/);
    // Only aggregates were stored.
    const stored = await c!.db.db.selectFrom('federated_contributions').selectAll().where('graph_id', '=', open.id).execute();
    expect(stored.map((s) => s.provider).sort()).toEqual(['', '', 'clinic-a']);
    expect(JSON.stringify(stored)).not.toContain('person');
    // R.flush() deletes it with its contributions.
    R.flush();
    await waitFor('the graph to be deleted', async () => !(await c!.db.db.selectFrom('federated_contributions').select('graph_id').where('graph_id', '=', open.id).executeTakeFirst()));
  }, 90_000);

  it('examples/federated_analytics.ts (npm run example:federated) with the two sample CSV files of examples/data', async () => {
    process.env.RAVDL_SERVER = c!.url;
    process.env.TOKEN = requester;
    try {
      const run = federatedExample({ max_clients: 2, verbose: false });
      const open = await waitFor('the example graph', async () => (await listFederatedGraphs({ server: c!.url, token: providers[0]! })).find((g) => g.name === 'Office Data'));
      const files = ['office_a', 'office_b'].map((f) => join(ROOT, 'examples', 'data', `${f}.csv`));
      for (const [k, file] of files.entries()) await participate({ server: c!.url, token: providers[k]!, graphId: open.id, file, log: null });
      const out = await within('the example to end', 30_000, run);
      const want = direct(files.map((f) => readFileSync(f, 'utf8')));
      close(out.mean!, want.mean);
      close(out.variance!, want.variance);
      close(out.standard_deviation!, want.variance.map(Math.sqrt));
    } finally {
      delete process.env.RAVDL_SERVER;
      delete process.env.TOKEN;
      R.flush();
    }
  }, 60_000);
});
