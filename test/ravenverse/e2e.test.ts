// End to end, as separate processes on loopback: a coordinator (`ravdl coordinator`), three
// providers (`ravdl provider`), and the seed's iris requester script (examples/graph_ann.ts) in
// this process with R.initialize(token, { server }). The remote run gives the local run's
// persisted values bit for bit (a local graph run equals eager mode: test/graph/), persisted
// values can be fetched while it runs, and `kill -9` of a provider or of the coordinator (then a
// restart on the same database) mid-run ends with the same results, each subgraph's result
// accepted exactly once.
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as R from '../../lib/index.js';
import { main as irisScript } from '../../examples/graph_ann.js';
import { openDatabase } from '../../lib/ravenverse/db/open.js';
import { createToken } from '../../lib/ravenverse/db/tokens.js';
import { haveDataset } from '../helpers/datasets.js';
import { Child, backends, sleep, waitFor } from './helpers.js';

const bitsOf = (t: R.Tensor) => Array.from(new Uint32Array(new Float32Array(t.data() as Float32Array).buffer));

/** Every persisted value of the current graph, as bits. */
function persistedBits(): Map<string, number[]> {
  const g = R.Graph.current()!;
  return new Map([...g.data.persist.keys()].map((k) => [k, bitsOf(R.fetch_persisting_op(k))]));
}

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });

/** Runs the iris script against `server`; `during` runs while it is in progress. */
async function runRemote(server: string, token: string, during?: () => Promise<void>): Promise<{ accuracy: number; fetchedDuringRun: number }> {
  const saved = { RAVDL_SERVER: process.env.RAVDL_SERVER, TOKEN: process.env.TOKEN };
  process.env.RAVDL_SERVER = server;
  process.env.TOKEN = token;
  let fetchedDuringRun = 0;
  let running = true;
  // Read a persisted loss whenever the run says one is ready, while it is still going.
  const poll = (async () => {
    for (let i = 0; i < 20_000 && running; i++) {
      const g = R.Graph.current();
      if (g?.status === 'running' && g.snapshot().persistedDone > 0) {
        const name = 'training_loss_epoch_1_batch_1';
        try {
          if (Number.isFinite(R.fetch_persisting_op({ op_name: name }).item())) fetchedDuringRun++;
        } catch {
          /* not that one yet */
        }
      }
      await sleep(10);
    }
  })();
  try {
    const run = irisScript({ verbose: false });
    const side = during ? during() : Promise.resolve();
    const [accuracy] = await Promise.all([run, side]);
    return { accuracy, fetchedDuringRun };
  } finally {
    running = false;
    await poll;
    process.env.RAVDL_SERVER = saved.RAVDL_SERVER;
    process.env.TOKEN = saved.TOKEN;
    if (saved.RAVDL_SERVER === undefined) delete process.env.RAVDL_SERVER;
    if (saved.TOKEN === undefined) delete process.env.TOKEN;
  }
}

/** Waits until the run is at least `frac` done. */
const progressAtLeast = (frac: number) =>
  waitFor(`the run to reach ${frac * 100}%`, () => {
    const g = R.Graph.current();
    const p = g?.snapshot();
    // A run that ended first (too fast to be caught mid-run, or failed) says so now, not after the timeout.
    if (g?.status === 'done' || g?.status === 'failed') throw new Error(`the run ended (${g.status}) before the wait saw it at ${frac * 100}%: ${JSON.stringify(p)}`);
    return g?.status === 'running' && p && p.nodesTotal > 0 && p.nodesDone / p.nodesTotal >= frac;
  }, 60_000);

describe.runIf(haveDataset('iris')).each(backends().map((b) => [b.name, b] as const))('a coordinator, three providers and the iris requester script on %s', (_name, backend) => {
  let spec: string;
  let drop: () => Promise<void>;
  let port: number;
  let requester: string;
  let providerToken: string;
  let coordinator: Child;
  let url: string;
  const providers = new Map<string, Child>();
  let local: Map<string, number[]>;
  let localAccuracy: number;

  const coordinatorArgs = () => ['coordinator', '--db', spec, '--port', String(port), '--lease-ms', '2000', '--heartbeat-ms', '300', '--bandwidth', '1e12', '--plan', 'per-step'];
  const startProvider = async (name: string) => {
    const p = new Child(['provider', '--server', url, '--threads', '1', '--name', name], { RAVDL_TOKEN: providerToken });
    providers.set(name, p);
    await p.waitOutput(/connected to/);
    return p;
  };
  /** progressAtLeast, whose timeout says where the run stood and what the processes printed last. */
  const reach = (frac: number) =>
    progressAtLeast(frac).catch(async (err: Error) => {
      const g = R.Graph.current();
      const dash = await fetch(`${url}/api/dashboard`).then((r) => r.text(), (e: Error) => e.message);
      const tails = [...providers].map(([name, p]) => `--- ${name} (${p.alive ? 'alive' : 'exited'}):\n${p.out.slice(-1500)}`).join('\n');
      throw new Error(`${err.message}; the graph: ${g?.status} ${JSON.stringify(g?.snapshot())}\n--- dashboard: ${dash.slice(0, 3000)}\n--- coordinator:\n${coordinator.out.slice(-3000)}\n${tails}`);
    });

  /** Each subgraph of the graph was accepted exactly once. */
  async function acceptedOnce(): Promise<{ subgraphs: number; lost: number }> {
    const db = await openDatabase(spec);
    try {
      const g = await db.db.selectFrom('graphs').select(['id', 'status', 'subgraphs_total']).orderBy('created_at', 'desc').executeTakeFirstOrThrow();
      expect(g.status).toBe('done');
      const done = await db.db.selectFrom('leases').select(['idx']).where('graph_id', '=', g.id).where('state', '=', 'done').execute();
      expect(done.map((l) => l.idx).sort((a, b) => a - b)).toEqual(Array.from({ length: g.subgraphs_total }, (_, i) => i));
      const results = await db.db.selectFrom('results').select('ref').where('graph_id', '=', g.id).execute();
      const lost = await db.db.selectFrom('leases').select('id').where('graph_id', '=', g.id).where('state', '!=', 'done').execute();
      expect(new Set(results.map((r) => r.ref)).size).toBe(results.length);
      return { subgraphs: g.subgraphs_total, lost: lost.length };
    } finally {
      await db.close();
    }
  }

  /** The time from `since` to the first lease that took over work a lease lost at or after `since` (the recovery time). */
  async function reassignedAfterMs(since: number): Promise<string> {
    // (A log line, not an assertion: a time.)
    const db = await openDatabase(spec);
    try {
      const all = await db.db.selectFrom('leases').select(['graph_id', 'idx', 'state', 'created_at', 'finished_at']).where('created_at', '>=', since - 60_000).execute();
      const lostAt = all.filter((l) => l.state === 'expired' && (l.finished_at ?? 0) >= since);
      const next = lostAt.map((l) => Math.min(...all.filter((m) => m.graph_id === l.graph_id && m.idx === l.idx && m.created_at >= (l.finished_at ?? 0)).map((m) => m.created_at)));
      return next.length ? `${Math.max(...next) - since} ms` : 'no time: none was lost';
    } finally {
      await db.close();
    }
  }

  beforeAll(async () => {
    // The local run first: the reference.
    localAccuracy = await irisScript({ verbose: false });
    local = persistedBits();
    R.flush();
    ({ spec, drop } = await backend.create());
    const db = await openDatabase(spec);
    requester = await createToken(db.db, 'requester');
    providerToken = await createToken(db.db, 'provider');
    await db.close();
    port = await freePort();
    coordinator = new Child(coordinatorArgs());
    url = (await coordinator.waitOutput(/listening on (http:\/\/\S+)/))[1]!;
    await Promise.all(['p1', 'p2', 'p3'].map(startProvider));
  }, 120_000);

  afterAll(async () => {
    R.flush();
    await Promise.all([...providers.values()].map((p) => p.stop()));
    await coordinator?.stop();
    await drop?.();
  });

  it('gives the local run\'s losses and prediction bit for bit; persisted values can be fetched while it runs', async () => {
    const { accuracy, fetchedDuringRun } = await runRemote(url, requester);
    expect(accuracy).toBe(localAccuracy);
    expect(persistedBits()).toEqual(local);
    expect(fetchedDuringRun).toBeGreaterThan(0);
    const { subgraphs } = await acceptedOnce();
    expect(subgraphs).toBeGreaterThan(3);
  }, 120_000);

  it('kill -9 of a provider mid-run: its work goes to another, same results', async () => {
    let killed = '';
    let killedAt = 0;
    const { accuracy } = await runRemote(url, requester, async () => {
      await reach(0.25);
      // The provider holding a lease now.
      const holder = await waitFor('a provider holding a lease', async () => {
        const d = (await (await fetch(`${url}/api/dashboard`)).json()) as { providers: { name: string; connected: boolean; leases: number }[] };
        return d.providers.find((p) => p.connected && p.leases > 0 && providers.get(p.name)?.alive)?.name;
      }, 30_000);
      killed = holder;
      killedAt = Date.now();
      await providers.get(holder)!.kill('SIGKILL');
    });
    expect(killed).not.toBe('');
    expect(accuracy).toBe(localAccuracy);
    expect(persistedBits()).toEqual(local);
    const { lost } = await acceptedOnce();
    console.log(`kill -9 of provider ${killed} (${backend.name}): ${lost} lease(s) lost and reassigned, the last ${await reassignedAfterMs(killedAt)} after the kill`);
    await startProvider(`${killed}-again`);
  }, 120_000);

  it('kill -9 of the coordinator mid-run, then a restart on the same database: the run resumes, same results, each result accepted once', async () => {
    const { accuracy } = await runRemote(url, requester, async () => {
      await reach(0.25);
      await coordinator.kill('SIGKILL');
      await sleep(500);
      coordinator = new Child(coordinatorArgs());
      await coordinator.waitOutput(/listening on/);
    });
    expect(accuracy).toBe(localAccuracy);
    expect(persistedBits()).toEqual(local);
    const { lost } = await acceptedOnce();
    console.log(`kill -9 of the coordinator (${backend.name}): ${lost} lease(s) ended without result`);
    // The providers came back to the new coordinator.
    await waitFor('three providers connected again', async () => ((await (await fetch(`${url}/v1/health`)).json()) as { providers: number }).providers === 3, 60_000).catch((err: Error) => {
      const tails = [...providers].map(([name, p]) => `--- ${name} (${p.alive ? 'alive' : 'exited'}):\n${p.out.slice(-1500)}`).join('\n');
      throw new Error(`${err.message}\n--- coordinator:\n${coordinator.out.slice(-3000)}\n${tails}`);
    });
  }, 120_000);
});
