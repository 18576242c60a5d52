// The ravdl command: token create prints a token once and stores only its hash; token list and
// revoke; graphs lists and deletes a requester's graphs; a provider whose token the coordinator
// refuses (unknown, revoked) stops with a clear message; bad arguments print the usage.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../lib/ravenverse/db/open.js';
import { sha256 } from '../../lib/ravenverse/protocol.js';
import { haveDataset } from '../helpers/datasets.js';
import { join } from 'node:path';
import * as R from '../../lib/index.js';
import { graphJson } from '../../lib/graph/format.js';
import { createToken } from '../../lib/ravenverse/db/tokens.js';
import { Child, ROOT, api, backends } from './helpers.js';

async function exitOf(c: Child): Promise<number | null> {
  return c.kill('SIGCONT'); // a harmless signal: just wait for the exit
}

describe('npx ravdl', () => {
  let spec: string;
  let drop: () => Promise<void>;
  let mineToken = '';
  beforeAll(async () => ({ spec, drop } = await backends()[0]!.create()));
  afterAll(async () => drop?.());

  it('token create prints a random token once and stores only its hash, with its role', async () => {
    const a = new Child(['token', 'create', '--role', 'provider', '--db', spec, '--label', 'mine'], {}, 60_000);
    const b = new Child(['token', 'create', '--role', 'requester', '--db', spec], {}, 60_000);
    expect(await exitOf(a)).toBe(0);
    expect(await exitOf(b)).toBe(0);
    const ta = a.out.split('\n')[0]!.trim();
    mineToken = ta;
    const tb = b.out.split('\n')[0]!.trim();
    expect(ta).toMatch(/^rv_p_[A-Za-z0-9_-]{43}$/);
    expect(tb).toMatch(/^rv_r_[A-Za-z0-9_-]{43}$/);
    const db = await openDatabase(spec);
    const rows = await db.db.selectFrom('tokens').selectAll().execute();
    await db.close();
    expect(rows.map((r) => [r.hash, r.role]).sort()).toEqual([[sha256(ta), 'provider'], [sha256(tb), 'requester']].sort());
    expect(JSON.stringify(rows)).not.toContain(ta.slice(5));
  }, 60_000);

  it('token list shows each token by id (the start of its hash) with its role, label and use; token revoke takes an id, refusing unknown and ambiguous ones', async () => {
    const db = await openDatabase(spec);
    // Two tokens whose hashes share their first 6 digits (written directly: real hashes would not).
    await db.db.insertInto('tokens').values([0, 1].map((i) => ({ hash: `abcdef${i}`.padEnd(64, '0'), role: 'requester' as const, label: `twin${i}`, created_at: Date.now(), revoked_at: null }))).execute();
    const [mine] = await db.db.selectFrom('tokens').select('hash').where('label', '=', 'mine').execute();
    await db.close();
    const list = new Child(['token', 'list', '--db', spec], {}, 60_000);
    expect(await exitOf(list)).toBe(0);
    expect(list.out).toMatch(/^id +role +label +created \(UTC\) +revoked \(UTC\) +use$/m);
    const id = mine!.hash.slice(0, 12);
    expect(list.out).toMatch(new RegExp(`^${id}  provider +mine +\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d  - +0 provider\\(s\\), 0 subgraph\\(s\\)`, 'm'));
    const ambiguous = new Child(['token', 'revoke', 'abcdef', '--db', spec], {}, 60_000);
    expect(await exitOf(ambiguous)).toBe(2);
    expect(ambiguous.out).toMatch(/the id abcdef names more than one token/);
    const unknown = new Child(['token', 'revoke', '0123456789', '--db', spec], {}, 60_000);
    expect(await exitOf(unknown)).toBe(2);
    expect(unknown.out).toMatch(/no token has the id 0123456789/);
    const revoke = new Child(['token', 'revoke', id, '--db', spec], {}, 60_000);
    expect(await exitOf(revoke)).toBe(0);
    expect(revoke.out).toMatch(new RegExp(`revoked the provider token ${id} \\(mine\\)`));
    const json = new Child(['token', 'list', '--db', spec, '--json'], {}, 60_000);
    expect(await exitOf(json)).toBe(0);
    const rows = JSON.parse(json.out.slice(json.out.indexOf('['))) as { id: string; label: string; revoked_at: number | null }[];
    expect(rows.find((r) => r.id === id)!.revoked_at).toBeGreaterThan(0);
    expect(rows.filter((r) => r.revoked_at === null).map((r) => r.label).sort()).toEqual(['', 'twin0', 'twin1']);
  }, 60_000);

  it.runIf(haveDataset('digits'))('demo: an embedded coordinator and two providers run the CNN script, print the dashboard and the results, and stop', async () => {
    const demo = new Child(['demo', '--epochs', '2'], {}, 170_000);
    expect(await exitOf(demo)).toBe(0);
    expect(demo.out).toMatch(/dashboard: http:\/\/127\.0\.0\.1:\d+\/dashboard\//);
    expect(demo.out).toMatch(/graph 'cnn' \[=+\] 100%/);
    expect(demo.out).toMatch(/validation_loss_epoch_2: \d+\.\d+/);
    expect(demo.out).toMatch(/prediction: 718 x 10; test accuracy 0\.\d+/);
    expect(demo.out).toMatch(/provider-1: \d+ subgraph/);
    expect(demo.out).toMatch(/ravdl demo: done, everything stopped/);
  }, 180_000);

  it('provider --list-federated shows the federated graphs waiting for data; --federated GRAPH --data FILE sends the statistics of its rows and exits', async () => {
    const db = await openDatabase(spec);
    const requester = await createToken(db.db, 'requester');
    const provider = await createToken(db.db, 'provider', 'federated');
    await db.close();
    const coord = new Child(['coordinator', '--db', spec, '--port', '0']);
    const url = (await coord.waitOutput(/listening on (http:\/\/\S+)/))[1]!;
    try {
      R.flush();
      new R.Graph({ name: 'Office Data', approach: 'federated', rules: { rules: { age: { min: 18, max: 80 }, salary: {} }, max_clients: 2 } });
      R.federated_mean().persist_op('mean');
      R.activate();
      const doc = graphJson(R.Graph.current()!.data);
      R.flush();
      expect((await api(url, '/v1/graphs/g_cli_federated_0001', requester, { method: 'PUT', body: doc })).status).toBe(201);
      expect((await api(url, '/v1/graphs/g_cli_federated_0001/execute', requester, { method: 'POST' })).json.graph.status).toBe('running');
      const list = new Child(['provider', '--server', url, '--token', provider, '--list-federated'], {}, 60_000);
      expect(await exitOf(list)).toBe(0);
      expect(list.out).toMatch(/^g_cli_federated_0001 +'Office Data' +0\/2 contributions +columns: age \[18, 80\], salary$/m);
      const send = new Child(['provider', '--server', url, '--token', provider, '--federated', 'g_cli_federated_0001', '--data', join(ROOT, 'examples/data/office_a.csv')], {}, 60_000);
      expect(await exitOf(send)).toBe(0);
      expect(send.out).toMatch(/sharing 22 row\(s\)' statistics \(2 left out by the rules\)[\s\S]*contribution 1 of 2/);
      const twice = new Child(['provider', '--server', url, '--token', provider, '--federated', 'g_cli_federated_0001', '--data', join(ROOT, 'examples/data/office_a.csv')], {}, 60_000);
      expect(await exitOf(twice)).toBe(2);
      expect(twice.out).toMatch(/no federated graph g_cli_federated_0001 waits for this provider/);
      const noData = new Child(['provider', '--server', url, '--token', provider, '--federated', 'g_cli_federated_0001'], {}, 60_000);
      expect(await exitOf(noData)).toBe(1);
      expect(noData.out).toMatch(/needs --data FILE\.csv/);
    } finally {
      await coord.stop();
    }
  }, 60_000);

  it('graphs lists a requester\'s graphs on a coordinator and deletes them; a wrong token or id is a clear error', async () => {
    const db = await openDatabase(spec);
    const requester = await createToken(db.db, 'requester');
    const other = await createToken(db.db, 'requester');
    await db.close();
    const coord = new Child(['coordinator', '--db', spec, '--port', '0']);
    const url = (await coord.waitOutput(/listening on (http:\/\/\S+)/))[1]!;
    try {
      R.flush();
      new R.Graph({ name: 'Survey', approach: 'federated', rules: { rules: { age: { min: 18, max: 80 } }, max_clients: 3 } });
      R.federated_mean().persist_op('mean');
      R.activate();
      const doc = graphJson(R.Graph.current()!.data);
      R.flush();
      for (const id of ['g_cli_graphs_run01', 'g_cli_graphs_up001']) expect((await api(url, `/v1/graphs/${id}`, requester, { method: 'PUT', body: doc })).status).toBe(201);
      expect((await api(url, '/v1/graphs/g_cli_graphs_run01/execute', requester, { method: 'POST' })).json.graph.status).toBe('running');
      const list = new Child(['graphs', '--server', url], { RAVDL_TOKEN: requester }, 60_000);
      expect(await exitOf(list)).toBe(0);
      expect(list.out).toMatch(/^id +name +status +subgraphs +persisted +created \(UTC\) +error$/m);
      expect(list.out).toMatch(/^g_cli_graphs_run01 +Survey +running +0\/3 +0\/1 +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d +$/m);
      expect(list.out).toMatch(/^g_cli_graphs_up001 +Survey +uploaded /m);
      const theirs = new Child(['graphs', '--server', url, '--token', other, '--json'], {}, 60_000);
      expect(await exitOf(theirs)).toBe(0);
      expect(JSON.parse(theirs.out)).toEqual([]); // another requester sees none of them
      const del = new Child(['graphs', 'delete', 'g_cli_graphs_run01', '--server', url, '--token', requester], {}, 60_000);
      expect(await exitOf(del)).toBe(0);
      expect(del.out).toMatch(/deleted g_cli_graphs_run01/);
      const after = new Child(['graphs', '--server', url, '--token', requester, '--json'], {}, 60_000);
      expect(await exitOf(after)).toBe(0);
      expect((JSON.parse(after.out) as { id: string }[]).map((g) => g.id)).toEqual(['g_cli_graphs_up001']);
      const gone = new Child(['graphs', 'delete', 'g_cli_graphs_run01', '--server', url, '--token', requester], {}, 60_000);
      expect(await exitOf(gone)).toBe(2);
      expect(gone.out).toMatch(/ravdl graphs: .*404.*g_cli_graphs_run01/);
      const wrong = new Child(['graphs', '--server', url, '--token', 'rv_r_not-a-token-not-a-token-not-a-token00'], {}, 60_000);
      expect(await exitOf(wrong)).toBe(2);
      expect(wrong.out).toMatch(/ravdl graphs: .*401.*unknown token/);
      const noToken = new Child(['graphs', '--server', url], { RAVDL_TOKEN: '' }, 60_000);
      expect(await exitOf(noToken)).toBe(1);
      expect(noToken.out).toMatch(/--token TOKEN \(or RAVDL_TOKEN\) is required/);
    } finally {
      await coord.stop();
    }
  }, 60_000);

  it('bad arguments print the usage; a provider with a refused token stops with the reason', async () => {
    const bad = new Child(['token', 'create', '--role', 'admin', '--db', spec], {}, 60_000);
    expect(await exitOf(bad)).toBe(1);
    expect(bad.out).toMatch(/--role must be requester or provider/);
    const unknown = new Child(['frobnicate'], {}, 60_000);
    expect(await exitOf(unknown)).toBe(1);
    expect(unknown.out).toMatch(/unknown command "frobnicate"[\s\S]*npx ravdl coordinator/);
    const keep = new Child(['coordinator', '--db', spec, '--port', '0', '--keep-days=-1'], {}, 60_000);
    expect(await exitOf(keep)).toBe(1);
    expect(keep.out).toMatch(/--keep-days must be a non-negative number, got "-1"/);

    const coord = new Child(['coordinator', '--db', spec, '--port', '0']);
    const url = (await coord.waitOutput(/listening on (http:\/\/\S+)/))[1]!;
    try {
      const p = new Child(['provider', '--server', url, '--token', 'rv_p_not-a-token-not-a-token-not-a-token00', '--threads', '1'], {}, 60_000);
      expect(await exitOf(p)).toBe(2);
      expect(p.out).toMatch(/refused this provider \(401\).*unknown token/);
      // The token revoked in the test before: refused as such.
      const revoked = new Child(['provider', '--server', url, '--token', mineToken, '--threads', '1'], {}, 60_000);
      expect(await exitOf(revoked)).toBe(2);
      expect(revoked.out).toMatch(/refused this provider \(401\).*this token was revoked/);
    } finally {
      await coord.stop();
    }
  }, 60_000);
});
