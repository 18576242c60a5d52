// Randomized abuse of a running coordinator, bounded in count and time, with a seeded generator
// (RAVDL_FUZZ_SEED picks another; a failure names its seed):
// - providers with valid tokens take real assignments and answer them with mangled frames (bytes
//   flipped, cut short or appended, header fields replaced, results of the wrong shape, another
//   provider's lease, JSON and bytes where neither belongs);
// - requests with mangled bodies against the requester API.
// Each must be refused with a typed error (never ERR_INTERNAL, never a 5xx) or its connection
// closed with a protocol code, and never accepted; afterwards an honest provider finishes the graph
// with the local run's bits, and the coordinator still answers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as R from '../../lib/index.js';
import { encodeBlob } from '../../lib/graph/format.js';
import { type Coordinator, startCoordinator } from '../../lib/ravenverse/coordinator/server.js';
import { createToken } from '../../lib/ravenverse/db/tokens.js';
import { type Assignment, type CoordinatorMessage, encodeFrame } from '../../lib/ravenverse/protocol.js';
import { type Provider, startProvider } from '../../lib/ravenverse/provider/provider.js';
import { NeuralNetwork } from '../../lib/v2/index.js';
import { Activation, Dense } from '../../lib/v2/layers/index.js';
import { Adam } from '../../lib/v2/optimizers/index.js';
import { type Rng, mangleJson, rng } from '../helpers/mangle.js';
import { FakeProvider, api, backends, waitFor } from './helpers.js';

const SEED = Number(process.env.RAVDL_FUZZ_SEED ?? 20261202);
const ROUNDS = 120;
const BUDGET_MS = 25_000;

/** The honest completion frame of an assignment, and mangled ones. */
function mangleFrame(honest: Buffer, a: Assignment, outs: { name: string; sha256: string; bytes: Uint8Array }[], r: Rng, stolen: string | null): { what: string; data: Buffer | string } {
  const header = { type: 'complete', lease: a.lease, outputs: Object.fromEntries(outs.map((o) => [o.name, o.sha256])) };
  switch (r.int(8)) {
    case 0: {
      const b = Buffer.from(honest);
      const n = 1 + r.int(4);
      for (let i = 0; i < n; i++) b[r.int(b.length)]! ^= 1 + r.int(255);
      return { what: `${n} byte(s) flipped`, data: b };
    }
    case 1: {
      // In the results (after the header): the hashes and blob checks, not the frame's JSON, see it.
      const b = Buffer.from(honest);
      const from = 4 + b.readUInt32LE(0);
      b[from + r.int(b.length - from)]! ^= 1 + r.int(255);
      return { what: 'a result byte flipped', data: b };
    }
    case 2:
      return r.int(2) ? { what: 'cut short', data: honest.subarray(0, r.int(honest.length)) } : { what: 'bytes appended', data: Buffer.concat([honest, Buffer.from(Array.from({ length: 1 + r.int(100) }, () => r.int(256)))]) };
    case 3:
      return { what: 'header mangled', data: encodeFrame(mangleJson(header, r) as object, outs) };
    case 4: {
      // Hashes that match, data of the wrong shape: a provider that computed something else.
      const wrong = outs.map((o) => {
        const rows = 1 + r.int(5);
        return { name: o.name, ...encodeBlob([rows, 3], new Float32Array(3 * rows).fill(1)) };
      });
      return { what: 'results of the wrong shape', data: encodeFrame({ ...header, outputs: Object.fromEntries(wrong.map((o) => [o.name, o.sha256])) }, wrong) };
    }
    case 5:
      return stolen ? { what: "another provider's lease", data: encodeFrame({ ...header, lease: stolen }, outs) } : { what: 'results left out', data: encodeFrame(header, []) };
    case 6:
      return { what: 'a mangled JSON message', data: JSON.stringify(mangleJson(r.pick([{ type: 'heartbeat', leases: [a.lease] }, { type: 'failed', lease: a.lease, error: { code: 'E', message: 'm' } }, header]), r)) };
    default:
      return { what: 'random bytes', data: Buffer.from(Array.from({ length: 1 + r.int(300) }, () => r.int(256))) };
  }
}

/** Records a small training run (per op, it is a few hundred subgraphs); its persisted losses and prediction. */
async function define(): Promise<void> {
  R.flush();
  new R.Graph({ name: 'fuzz', algorithm: 'mlp', approach: 'distributed' });
  R.manual_seed(5);
  const model = new NeuralNetwork(new Adam({ lr: 0.01 }), 'CrossEntropy');
  model.add(new Dense(8, { input_shape: [4] }));
  model.add(new Activation('relu'));
  model.add(new Dense(3));
  const X = R.t(Array.from({ length: 24 }, (_, i) => Array.from({ length: 4 }, (_, j) => Math.sin(i * 5 + j))));
  const y = R.t(Array.from({ length: 24 }, (_, i) => i % 3), { dtype: 'int32' });
  await model.fit(X, y, { n_epochs: 2, batch_size: 12, verbose: false });
  model.predict(X).persist_op('prediction');
  R.activate();
}

const persistedBits = () => new Map([...R.Graph.current()!.data.persist.keys()].map((k) => [k, Array.from(new Uint32Array(new Float32Array(R.fetch_persisting_op(k).data() as Float32Array).buffer))]));

describe(`fuzzing the coordinator (seed ${SEED})`, () => {
  const [sqlite] = backends();
  let c: Coordinator;
  let drop: () => Promise<void>;
  let requester: string;
  let prov: string;
  const logs: string[] = [];

  beforeAll(async () => {
    const db = await sqlite!.create();
    drop = db.drop;
    c = await startCoordinator({ db: db.spec, port: 0, log: (l) => logs.push(l), leaseMs: 3000, plan: 'per-op', rateLimit: { max: 1e6, windowMs: 1000 } });
    requester = await createToken(c.db.db, 'requester');
    prov = await createToken(c.db.db, 'provider');
  }, 60_000);

  afterAll(async () => {
    R.initialize(null);
    R.flush();
    await c?.close();
    await drop?.();
  });

  it('refuses every mangled completion and message with a typed error or a protocol close, accepts none, and finishes the graph with the local bits', async () => {
    R.initialize(null);
    await define();
    await R.execute();
    const local = persistedBits();

    R.initialize(requester, { server: c.url });
    await define();
    const run = R.execute();
    run.catch(() => {});
    const r = rng(SEED);
    const outcomes = new Map<string, number>();
    const count = (k: string) => outcomes.set(k, (outcomes.get(k) ?? 0) + 1);
    const fakes: FakeProvider[] = [];
    const fresh = async () => {
      const p = await new FakeProvider(c.url, prov, {}, 3).connect();
      fakes.push(p);
      return p;
    };
    let p = await fresh();
    let other = await fresh(); // holds leases to steal
    const end = Date.now() + BUDGET_MS;
    let rounds = 0;
    for (; rounds < ROUNDS && Date.now() < end; rounds++) {
      let a: Assignment;
      try {
        a = await p.next(3000);
      } catch {
        // No work reached this provider (another holds it): start over with new ones.
        p.close();
        other.close();
        p = await fresh();
        other = await fresh();
        continue;
      }
      const outs = await p.compute(a);
      const honest = encodeFrame({ type: 'complete', lease: a.lease, outputs: Object.fromEntries(outs.map((o) => [o.name, o.sha256])) }, outs);
      const stolen = other.assignments.at(-1)?.lease ?? null;
      const m = mangleFrame(honest, a, outs, r, stolen);
      const seen = p.messages.length;
      p.ws.send(m.data, { binary: typeof m.data !== 'string' });
      const answered = () => {
        const got = p.messages.slice(seen).find((x) => (x.type === 'completed' && x.lease !== undefined) || x.type === 'error') as { type: 'completed' | 'error'; error?: { code: string; message: string } } | undefined;
        if (got) return got;
        return p.closed ? { type: 'closed' as const, code: p.closed.code } : undefined;
      };
      // A mangled JSON message may still be a valid one (a heartbeat, a failure report): those get no answer.
      const valid = typeof m.data === 'string' ? await waitFor('', answered, 1500).then(() => false, () => true) : false;
      if (valid) {
        count(`${m.what}: taken (still a valid message)`);
        p.close();
        p = await fresh();
        continue;
      }
      const answer = await waitFor(`an answer to '${m.what}' (seed ${SEED}, round ${rounds})`, answered, 10_000);
      if (answer.type === 'closed') count(`${m.what}: closed ${answer.code}`);
      else {
        const error = answer.error;
        expect(error, `'${m.what}' was accepted (seed ${SEED}, round ${rounds}): ${JSON.stringify(answer)}`).toBeDefined();
        expect(error!.code, `'${m.what}' (seed ${SEED}, round ${rounds}): ${error!.message}`).toMatch(/^ERR_(?!INTERNAL)[A-Z_]+$/);
        count(`${m.what}: ${error!.code}`);
      }
      if (answer.type === 'closed') expect([1002, 1007, 1008, 1009], `'${m.what}' closed with ${answer.code}`).toContain(answer.code);
      // Its leases go back to the queue with it.
      p.close();
      p = await fresh();
    }
    for (const f of fakes) f.close();
    console.log(`fuzz (seed ${SEED}): ${rounds} rounds: ${[...outcomes].map(([k, n]) => `${k} x${n}`).join(', ')}`);
    expect(rounds).toBeGreaterThanOrEqual(20);
    expect(new Set([...outcomes.keys()].map((k) => k.split(': ')[1])).size).toBeGreaterThanOrEqual(3);

    // The requester API, with mangled bodies: never a 5xx, every refusal typed.
    const graphs = (await api(c.url, '/v1/graphs', requester)).json.graphs as { id: string }[];
    const id = graphs[0]!.id;
    const doc = { graph: { info: { name: 'x' }, nodes: [{ kind: 'const', shape: [2], dtype: 'float32', blob: 'a'.repeat(64) }, { kind: 'op', op: 'add', inputs: [[0, 0], [0, 0]], attrs: {} }], persist: { out: [1, 0] } } };
    // A federated graph waiting for contributions, for the providers' federated routes.
    const fed = `g_fuzz_federated_${SEED}`;
    // (Written out: R's current graph is the run in progress.)
    const fedDoc = {
      format: 'ravdl-graph', version: 1, name: 'fuzz-federated', algorithm: '', approach: 'federated', rules: { rules: { a: { min: 0, max: 10 }, b: {} }, max_clients: 1000 },
      nodes: [{ op: 'federated_mean', attrs: {}, inputs: [], outputs: [{ shape: [2], dtype: 'float32' }] }], persist: [{ name: 'mean', node: 0, output: 0 }],
    };
    expect((await api(c.url, `/v1/graphs/${fed}`, requester, { method: 'PUT', body: fedDoc })).status).toBe(201);
    expect((await api(c.url, `/v1/graphs/${fed}/execute`, requester, { method: 'POST' })).status).toBe(200);
    const requests = [
      () => ({ method: 'PUT', path: `/v1/graphs/g_fuzz${r.int(1e9)}`, body: mangleJson(doc, r) }),
      () => ({ method: 'PUT', path: `/v1/graphs/g_fuzz${r.int(1e9)}`, body: mangleJson(fedDoc, r) }),
      () => ({ method: 'POST', path: `/v1/federated/${r.pick([fed, id, 'g_none', '..'])}/contributions`, body: mangleJson({ provider: 'f', rows: 10, columns: ['a', 'b'], mean: [5, 1], m2: [20, 3] }, r) }),
      () => ({ method: 'GET', path: '/v1/federated', body: undefined }),
      () => ({ method: 'POST', path: `/v1/graphs/${id}/persisted`, body: mangleJson({ names: ['prediction', 'training_loss_epoch_1_batch_1'] }, r) }),
      () => ({ method: 'POST', path: `/v1/graphs/${r.pick([id, 'g_none', '..', '%00'])}/execute`, body: mangleJson({}, r) }),
      () => ({ method: 'POST', path: `/v1/leases/${r.pick(fakes).assignments[0]?.lease ?? 'none'}/blobs`, body: mangleJson({ sha256: ['a'.repeat(64)] }, r) }),
    ];
    for (let i = 0; i < 60; i++) {
      const q = r.pick(requests)();
      const res = await api(c.url, q.path, /^\/v1\/(leases|federated)/.test(q.path) ? prov : requester, { method: q.method, body: q.body });
      expect(res.status, `${q.method} ${q.path} ${String(JSON.stringify(q.body)).slice(0, 300)} (seed ${SEED})`).toBeLessThan(500);
      if (res.status >= 400) expect(res.json?.error?.code, `${q.method} ${q.path}: ${JSON.stringify(res.json)}`).toMatch(/^ERR_(?!INTERNAL)[A-Z_]+$/);
    }

    // An honest provider finishes the run: the local bits, every subgraph done by it.
    let honest: Provider | null = null;
    try {
      honest = await startProvider({ server: c.url, token: prov, threads: 1, log: null });
      await run;
      expect(persistedBits()).toEqual(local);
    } finally {
      await honest?.stop();
    }
    const done = await c.db.db.selectFrom('subgraphs').select('done_by').execute();
    expect(done.length).toBeGreaterThan(50);
    expect(done.filter((s) => !s.done_by || s.done_by.startsWith('p_fake'))).toEqual([]);
    expect((await api(c.url, '/v1/health', null)).status).toBe(200);
    // Untyped errors are logged with their stack (a failure a provider reports is logged too, and fine).
    expect(logs.filter((l) => /completion of lease .* failed|dispatch failed|ERR_INTERNAL|TypeError|RangeError|ReferenceError/.test(l))).toEqual([]);
  }, 120_000);
});
