// The requester client against an in-process coordinator and provider (a worker thread): the
// seed's workflow with R.initialize(token, { server }) gives a local run's persisted values and
// leaves the model with the same trained weights; persisted values are there during the run;
// large blobs go up in parts; bad tokens and an unreachable coordinator are typed errors.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as R from '../../lib/index.js';
import { remoteExecutor } from '../../lib/ravenverse/client.js';
import { type Coordinator, startCoordinator } from '../../lib/ravenverse/coordinator/server.js';
import { createToken } from '../../lib/ravenverse/db/tokens.js';
import { RemoteError } from '../../lib/ravenverse/http.js';
import { type Provider, startProvider } from '../../lib/ravenverse/provider/provider.js';
import { NeuralNetwork } from '../../lib/v2/index.js';
import { Activation, BatchNormalization1D, Dense, Dropout } from '../../lib/v2/layers/index.js';
import { RMSprop } from '../../lib/v2/optimizers/index.js';
import { backends, waitFor } from './helpers.js';

const bits = (t: R.Tensor) => Array.from(new Uint32Array(new Float32Array(t.data() as Float32Array).buffer));
const [sqlite] = backends();

/** Records the seed's workflow: a model trained in a graph, its prediction persisted. */
async function define(): Promise<{ model: NeuralNetwork; X: R.Tensor }> {
  R.flush();
  new R.Graph({ name: 'client', algorithm: 'mlp', approach: 'distributed' });
  R.manual_seed(3);
  const model = new NeuralNetwork(new RMSprop(), 'SquareLoss');
  model.add(new Dense(12, { input_shape: [20] }));
  model.add(new BatchNormalization1D());
  model.add(new Activation('relu'));
  model.add(new Dropout(0.2));
  model.add(new Dense(2));
  const X = R.t(Array.from({ length: 64 }, (_, i) => Array.from({ length: 20 }, (_, j) => Math.cos(i * 3 + j)))); // 5 KB: more than one upload part
  const y = R.t(Array.from({ length: 64 }, (_, i) => [Math.sin(i), Math.cos(i)]));
  await model.fit(X, y, { n_epochs: 6, batch_size: 16, verbose: false });
  model.predict(X).persist_op('prediction');
  R.activate();
  return { model, X };
}

async function run(server: string | null, token: string | null, replicas?: number) {
  R.initialize(token, { server, replicas });
  const { model, X } = await define();
  let during = 0;
  const done = R.execute();
  await R.track_progress({
    stream: null,
    onProgress: (p) => {
      if (p.status !== 'running' || p.persistedDone === 0) return;
      try {
        R.fetch_persisting_op('training_loss_epoch_1_batch_1');
        during++;
      } catch {
        /* not yet */
      }
    },
  });
  await done;
  const g = R.Graph.current()!;
  const persisted = new Map([...g.data.persist.keys()].map((k) => [k, bits(R.fetch_persisting_op(k))]));
  // After the run the model holds its trained weights: an eager prediction shows them.
  const after = bits(model.predict(X));
  return { persisted, after, during };
}

describe('the requester client', () => {
  let c: Coordinator;
  let drop: () => Promise<void>;
  let provider: Provider;
  let token: string;

  beforeAll(async () => {
    const db = await sqlite!.create();
    drop = db.drop;
    c = await startCoordinator({ db: db.spec, port: 0, log: null, bytesPerSecond: 1e12, plan: 'per-step', maxChunkBytes: 4096 });
    token = await createToken(c.db.db, 'requester');
    provider = await startProvider({ server: c.url, token: await createToken(c.db.db, 'provider'), threads: 1, log: null });
  }, 60_000);

  afterAll(async () => {
    R.initialize(null);
    R.flush();
    await provider?.stop();
    await c?.close();
    await drop?.();
  });

  it('R.initialize(token, { server }) runs the seed workflow on the coordinator: a local run\'s values, the same trained weights, values during the run, blobs in parts', async () => {
    const local = await run(null, null);
    const remote = await run(c.url, token);
    expect(remote.persisted).toEqual(local.persisted);
    expect(remote.after).toEqual(local.after);
    expect(remote.during).toBeGreaterThan(0);
    // Protocol 3: the last answers reach the provider up to 20 ms after the run ends.
    await waitFor('the provider counted its accepted results', () => provider.completed > 1, 10_000);
  }, 60_000);

  it('R.initialize(token, { server, replicas: 2 }): providers of two tokens compute every subgraph and agree; the run gives a local run\'s values', async () => {
    expect(() => R.initialize(token, { replicas: 2 })).toThrow(/replicas .* needs a server/);
    expect(() => R.initialize(token, { server: c.url, replicas: 4 })).toThrow(/replicas must be an integer from 1 to 3/);
    const second = await startProvider({ server: c.url, token: await createToken(c.db.db, 'provider'), threads: 1, log: null });
    try {
      const local = await run(null, null);
      const remote = await run(c.url, token, 2);
      expect(remote.persisted).toEqual(local.persisted);
      expect(remote.after).toEqual(local.after);
      const [g] = await c.db.db.selectFrom('graphs').select(['id', 'replicas', 'subgraphs_total']).where('name', '=', 'client').orderBy('created_at', 'desc').limit(1).execute();
      expect(g!.replicas).toBe(2);
      await c.state.idle();
      const leases = await c.db.db.selectFrom('leases').select(['idx', 'token']).where('graph_id', '=', g!.id).where('state', '=', 'done').execute();
      for (let i = 0; i < g!.subgraphs_total; i++) expect(new Set(leases.filter((l) => l.idx === i).map((l) => l.token)).size, `subgraph ${i}`).toBe(2);
    } finally {
      R.initialize(null);
      await second.stop();
    }
  }, 90_000);

  it('small persisted values come with their announcement; larger ones are downloaded, in bundles', async () => {
    const record = () => {
      R.flush();
      new R.Graph({ name: 'inline', algorithm: 'sizes', approach: 'distributed' });
      const x = R.t(Array.from({ length: 64 }, (_, i) => Array.from({ length: 20 }, (_, j) => Math.sin(i + j / 7))));
      R.sum(x).persist_op('small'); // a scalar: about 100 bytes as a blob
      R.mul(x, 2).persist_op('big'); // 5,120 bytes of data: more than INLINE_EVENT_BYTES
      R.activate();
    };
    R.initialize(null);
    record();
    await R.execute();
    const local = { small: bits(R.fetch_persisting_op('small')), big: bits(R.fetch_persisting_op('big')) };
    const downloaded: string[] = [];
    const realFetch = globalThis.fetch;
    globalThis.fetch = (async (url: string | URL | Request, init?: RequestInit) => {
      if (String(url).endsWith('/persisted') && init?.method === 'POST') downloaded.push(...(JSON.parse(String(init.body)) as { names: string[] }).names);
      return realFetch(url, init);
    }) as typeof fetch;
    try {
      R.initialize(token, { server: c.url });
      record();
      await R.execute();
    } finally {
      globalThis.fetch = realFetch;
    }
    expect({ small: bits(R.fetch_persisting_op('small')), big: bits(R.fetch_persisting_op('big')) }).toEqual(local);
    expect(downloaded).toEqual(['big']);
  }, 60_000);

  it('a malformed event from the coordinator ends the run with a typed ERR_PROTOCOL, not a TypeError', async () => {
    const realFetch = globalThis.fetch;
    for (const body of ['event: progress\ndata: null\n\n', 'event: persisted\ndata: {"name":1}\n\n', 'event: progress\ndata: {not json\n\n', 'event: end\ndata: []\n\n']) {
      // The coordinator's event stream, replaced by one malformed event.
      globalThis.fetch = (async (url: string | URL | Request, init?: RequestInit) =>
        String(url).endsWith('/events') ? new Response(body, { headers: { 'content-type': 'text/event-stream' } }) : realFetch(url, init)) as typeof fetch;
      try {
        R.initialize(token, { server: c.url });
        await define();
        const err = await R.execute().catch((e) => e);
        expect(err, body).toBeInstanceOf(RemoteError);
        expect(err.remoteCode, `${body}: ${err.message}`).toBe('ERR_PROTOCOL');
      } finally {
        globalThis.fetch = realFetch;
      }
    }
  }, 60_000);

  it('R.flush() deletes the graph on the coordinator too (its results and the blobs only it used)', async () => {
    await run(c.url, token);
    const list = async () => ((await (await fetch(`${c.url}/v1/graphs`, { headers: { authorization: `Bearer ${token}` } })).json()) as { graphs: { id: string }[] }).graphs.map((g) => g.id);
    const before = await list();
    expect(before.length).toBeGreaterThan(0);
    const results = async () => Number((await c.db.db.selectFrom('results').select((e) => e.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
    expect(await results()).toBeGreaterThan(0);
    R.flush();
    // In the background: flush is synchronous.
    await waitFor('the graphs deleted on the coordinator', async () => (await list()).length === 0, 10_000);
    expect(await results()).toBe(0);
  }, 60_000);

  it('R.execute({ signal }): aborting a run on a coordinator stops it there and deletes its copy, and execute() rejects with an AbortError', async () => {
    // A coordinator of its own with no provider: the graph waits there until it is stopped.
    const db = await sqlite!.create();
    const idle = await startCoordinator({ db: db.spec, port: 0, log: null, bytesPerSecond: 1e12, plan: 'per-step' });
    try {
      const tok = await createToken(idle.db.db, 'requester');
      const list = async () => ((await (await fetch(`${idle.url}/v1/graphs`, { headers: { authorization: `Bearer ${tok}` } })).json()) as { graphs: { id: string; status: string }[] }).graphs;
      R.initialize(tok, { server: idle.url });
      await define();
      const ac = new AbortController();
      const run = R.execute({ signal: ac.signal });
      await waitFor('the graph running on the coordinator', async () => (await list()).some((g) => g.status === 'running'), 20_000);
      const [{ id }] = await list();
      ac.abort();
      const err = await run.catch((e) => e);
      expect(err).toBeInstanceOf(R.AbortError);
      expect(err.message).toBe(`execute: aborted; the coordinator stopped graph ${id} and deleted it`);
      expect(await list()).toEqual([]);
      expect(R.Graph.current()!.status).toBe('failed');
    } finally {
      R.initialize(token, { server: c.url });
      R.flush();
      await idle.close();
      await db.drop();
    }
  }, 60_000);

  it('a wrong token and an unreachable coordinator are typed errors', async () => {
    R.initialize('rv_r_wrong-wrong-wrong-wrong-wrong', { server: c.url });
    await define();
    const err = await R.execute().catch((e) => e);
    expect(err).toBeInstanceOf(RemoteError);
    expect(err).toBeInstanceOf(R.GraphError);
    expect(`${err.status} ${err.remoteCode}`).toBe('401 ERR_UNAUTHORIZED');
    expect(() => R.fetch_persisting_op('prediction')).toThrow(/failed/);

    await define();
    const g = R.Graph.current()!;
    const down = await g.execute(remoteExecutor('http://127.0.0.1:9', token, { retryMs: 300 })).catch((e) => e);
    expect(down).toBeInstanceOf(RemoteError);
    expect(down.remoteCode).toBe('ERR_UNREACHABLE');
  }, 60_000);
});
