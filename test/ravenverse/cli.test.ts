// The ravdl command: token create prints a token once and stores only its hash; a provider whose
// token the coordinator refuses stops with a clear message; bad arguments print the usage.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../lib/ravenverse/db/open.js';
import { sha256 } from '../../lib/ravenverse/protocol.js';
import { haveDataset } from '../helpers/datasets.js';
import { Child, backends } from './helpers.js';

async function exitOf(c: Child): Promise<number | null> {
  return c.kill('SIGCONT'); // a harmless signal: just wait for the exit
}

describe('npx ravdl', () => {
  let spec: string;
  let drop: () => Promise<void>;
  beforeAll(async () => ({ spec, drop } = await backends()[0]!.create()));
  afterAll(async () => drop?.());

  it('token create prints a random token once and stores only its hash, with its role', async () => {
    const a = new Child(['token', 'create', '--role', 'provider', '--db', spec, '--label', 'mine'], {}, 60_000);
    const b = new Child(['token', 'create', '--role', 'requester', '--db', spec], {}, 60_000);
    expect(await exitOf(a)).toBe(0);
    expect(await exitOf(b)).toBe(0);
    const ta = a.out.split('\n')[0]!.trim();
    const tb = b.out.split('\n')[0]!.trim();
    expect(ta).toMatch(/^rv_p_[A-Za-z0-9_-]{43}$/);
    expect(tb).toMatch(/^rv_r_[A-Za-z0-9_-]{43}$/);
    const db = await openDatabase(spec);
    const rows = await db.db.selectFrom('tokens').selectAll().execute();
    await db.close();
    expect(rows.map((r) => [r.hash, r.role]).sort()).toEqual([[sha256(ta), 'provider'], [sha256(tb), 'requester']].sort());
    expect(JSON.stringify(rows)).not.toContain(ta.slice(5));
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

  it('bad arguments print the usage; a provider with a refused token stops with the reason', async () => {
    const bad = new Child(['token', 'create', '--role', 'admin', '--db', spec], {}, 60_000);
    expect(await exitOf(bad)).toBe(1);
    expect(bad.out).toMatch(/--role must be requester or provider/);
    const unknown = new Child(['frobnicate'], {}, 60_000);
    expect(await exitOf(unknown)).toBe(1);
    expect(unknown.out).toMatch(/unknown command "frobnicate"[\s\S]*npx ravdl coordinator/);

    const coord = new Child(['coordinator', '--db', spec, '--port', '0']);
    const url = (await coord.waitOutput(/listening on (http:\/\/\S+)/))[1]!;
    try {
      const p = new Child(['provider', '--server', url, '--token', 'rv_p_not-a-token-not-a-token-not-a-token00', '--threads', '1'], {}, 60_000);
      expect(await exitOf(p)).toBe(2);
      expect(p.out).toMatch(/refused this provider \(401\).*unknown token/);
    } finally {
      await coord.stop();
    }
  }, 60_000);
});
