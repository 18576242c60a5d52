// The coordinator's API on SQLite and PostgreSQL, driven by hand-written providers: a run from
// upload to results (bit for bit those of a local run, each result accepted once), leases that
// expire or are kept alive by heartbeats, a restart that resumes leases from the database,
// typed errors for bad input and bad tokens, reads scoped to their owner, rate limits, and a
// server that stays up through all of it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import * as R from '../../lib/index.js';
import { executeGraph } from '../../lib/graph/execute.js';
import { encodeBlob, graphJson, hashConstants } from '../../lib/graph/format.js';
import type { GraphData } from '../../lib/graph/graph-data.js';
import { type Coordinator, startCoordinator } from '../../lib/ravenverse/coordinator/server.js';
import type { ProviderConn } from '../../lib/ravenverse/coordinator/state.js';
import { type Journal, openJournal } from '../../lib/ravenverse/db/journal.js';
import { type Db, openDatabase } from '../../lib/ravenverse/db/open.js';
import { createToken, listTokens, revokeToken } from '../../lib/ravenverse/db/tokens.js';
import type { Assignment } from '../../lib/ravenverse/protocol.js';
import { startProvider } from '../../lib/ravenverse/provider/provider.js';
import { decodeBundle, encodeBundle, encodeFrame, sha256 } from '../../lib/ravenverse/protocol.js';
import { NeuralNetwork } from '../../lib/v2/index.js';
import { Activation, Dense } from '../../lib/v2/layers/index.js';
import { Adam } from '../../lib/v2/optimizers/index.js';
import { FakeProvider, api, backends, sleep, waitFor, within } from './helpers.js';

interface Recorded {
  g: GraphData;
  doc: Record<string, unknown>;
  blobs: Map<string, Buffer>;
  /** Each persisted value's bits from a local run. */
  local: Map<string, number[]>;
}

const bits = (d: ArrayLike<number> & { buffer: ArrayBufferLike; byteOffset: number; length: number }) => Array.from(new Uint32Array(d.buffer, d.byteOffset, d.length));

/** A small training run recorded as a graph (losses persisted), and its local results. */
async function record(seed: number): Promise<Recorded> {
  R.flush();
  new R.Graph({ name: `rv-${seed}`, algorithm: 'mlp', approach: 'distributed' });
  R.manual_seed(seed);
  const m = new NeuralNetwork(new Adam({ lr: 0.01 }), 'CrossEntropy');
  m.add(new Dense(16, { input_shape: [6] }));
  m.add(new Activation('relu'));
  m.add(new Dense(3));
  m.add(new Activation('softmax'));
  const X = R.t(Array.from({ length: 48 }, (_, i) => Array.from({ length: 6 }, (_, j) => Math.sin(i * 7 + j + seed))));
  const y = R.t(Array.from({ length: 48 }, (_, i) => i % 3), { dtype: 'int32' });
  await m.fit(X, y, { n_epochs: 4, batch_size: 16, verbose: false });
  m.predict(X).persist_op('prediction');
  R.activate();
  const g = R.Graph.current()!.data;
  R.flush();
  const run = await executeGraph(g, { constData: (n) => n.data! });
  return recorded(g, new Map([...run.persisted].map(([k, t]) => [k, bits(t._data)])));
}

/** A graph's upload: graph.json and its constants' blobs. */
function recorded(g: GraphData, local: Map<string, number[]>): Recorded {
  const blobs = new Map<string, Buffer>();
  hashConstants(g, (n) => n.data!, (sha, bytes) => blobs.set(sha, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)));
  return { g, doc: graphJson(g), blobs, local };
}

const gid = () => `g_${Math.random().toString(36).slice(2)}${Date.now().toString(36)}`;

/** Decodes a result blob (one float32 tensor named value) into its bits. */
function blobBits(bytes: Uint8Array): number[] {
  const b = Buffer.from(bytes);
  const n = Number(b.readBigUInt64LE(0));
  const data = b.subarray(8 + n);
  const copy = new Uint8Array(data); // aligned
  return Array.from(new Uint32Array(copy.buffer));
}

/** Uploads the graph and its blobs as `token`; returns its id. */
async function upload(c: Coordinator, token: string, rec: Recorded, id = gid()): Promise<string> {
  const put = await api(c.url, `/v1/graphs/${id}`, token, { method: 'PUT', body: rec.doc });
  expect(put.status).toBe(201);
  for (const sha of put.json.missing as string[]) expect((await api(c.url, `/v1/blobs/${sha}`, token, { method: 'PUT', raw: rec.blobs.get(sha)! })).status).toBe(201);
  return id;
}

/** Serves assignments with a fake provider until the graph is done (bounded). */
/** Results that differ in one bit of one value, each with its own (correct) SHA-256. */
const wrongBy1Bit = (outs: Awaited<ReturnType<FakeProvider['compute']>>) =>
  outs.map((o) => {
    const b = Buffer.from(o.bytes);
    b[b.length - 4]! ^= 1;
    return { name: o.name, bytes: b, sha256: sha256(b) };
  });

const storedBlobs = async (c: Coordinator, shas: Iterable<string>) => (await c.db.db.selectFrom('blobs').select('sha256').where('sha256', 'in', [...shas]).execute()).length;

async function serve(c: Coordinator, p: FakeProvider, requester: string, id: string, onEach?: (a: Assignment, outs: Awaited<ReturnType<FakeProvider['compute']>>) => Promise<void>): Promise<void> {
  for (let served = 0; served < 200; served++) {
    const g = await api(c.url, `/v1/graphs/${id}`, requester);
    if (g.json.graph.status === 'done') return;
    const a = await p.next();
    const outs = await p.compute(a);
    const r = await p.finish(a, outs);
    expect(r.up.status).toBe(201);
    expect(r.done.json).toEqual({ status: 'accepted' });
    await onEach?.(a, outs);
  }
  throw new Error('the graph did not finish after 200 subgraphs');
}

describe.each(backends().map((b) => [b.name, b] as const))('coordinator on %s', (_name, backend) => {
  let c: Coordinator;
  let drop: () => Promise<void>;
  let spec: string;
  let alice: string;
  let bob: string;
  let prov: string;
  let prov2: string;
  let rec: Recorded;
  /** Every persisted value of the graph holds the local run's bits. */
  const expectLocalBits = async (c: Coordinator, tok: string, id: string) => {
    for (const pv of (await api(c.url, `/v1/graphs/${id}`, tok)).json.persisted) expect(blobBits((await api(c.url, `/v1/graphs/${id}/persisted/${encodeURIComponent(pv.name)}`, tok)).bytes!)).toEqual(rec.local.get(pv.name));
  };
  const LEASE_MS = 3000; // long enough that a loaded machine (heartbeats every 200 ms) never expires a live lease

  beforeAll(async () => {
    ({ spec, drop } = await backend.create());
    c = await startCoordinator({ db: spec, port: 0, log: null, leaseMs: LEASE_MS, heartbeatMs: 200, bytesPerSecond: 1e12, plan: 'per-step', maxGraphBytes: 4 * 2 ** 20, maxBlobBytes: 2 ** 20, maxChunkBytes: 64 * 1024 });
    alice = await createToken(c.db.db, 'requester', 'alice');
    bob = await createToken(c.db.db, 'requester', 'bob');
    prov = await createToken(c.db.db, 'provider', 'p1');
    prov2 = await createToken(c.db.db, 'provider', 'p2');
    rec = await record(1);
  }, 60_000);

  afterAll(async () => {
    await c?.close();
    await drop?.();
  });

  it('runs a graph from upload to results: blobs de-duplicated per owner, persisted values readable as they come, each result accepted once, the same bits as a local run', async () => {
    const id = gid();
    const put = await api(c.url, `/v1/graphs/${id}`, alice, { method: 'PUT', body: rec.doc });
    expect(put.status).toBe(201);
    expect(new Set(put.json.missing)).toEqual(new Set(rec.blobs.keys()));
    // Retrying the same upload is fine; a different graph under the same id is not.
    expect((await api(c.url, `/v1/graphs/${id}`, alice, { method: 'PUT', body: rec.doc })).status).toBe(200);
    expect((await api(c.url, `/v1/graphs/${id}`, alice, { method: 'PUT', body: { ...rec.doc, name: 'other' } })).json.error.code).toBe('ERR_CONFLICT');
    for (const sha of put.json.missing) expect((await api(c.url, `/v1/blobs/${sha}`, alice, { method: 'PUT', raw: rec.blobs.get(sha)! })).status).toBe(201);
    expect((await api(c.url, `/v1/graphs/${id}`, alice, { method: 'PUT', body: rec.doc })).json.missing).toEqual([]);
    // Bob holds none of them until he uploads them himself; the bytes are stored once.
    const bobId = gid();
    expect(new Set((await api(c.url, `/v1/graphs/${bobId}`, bob, { method: 'PUT', body: rec.doc })).json.missing)).toEqual(new Set(rec.blobs.keys()));
    const before = await c.db.db.selectFrom('blobs').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    for (const [sha, bytes] of rec.blobs) expect((await api(c.url, `/v1/blobs/${sha}`, bob, { method: 'PUT', raw: bytes })).status).toBe(201);
    const after = await c.db.db.selectFrom('blobs').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    expect(Number(after.n)).toBe(Number(before.n));

    const ex = await api(c.url, `/v1/graphs/${id}/execute`, alice, { method: 'POST' });
    expect(ex.status).toBe(200);
    expect(ex.json.graph.status).toBe('running');
    expect(ex.json.graph.subgraphs_total).toBeGreaterThan(1);
    expect((await api(c.url, `/v1/graphs/${id}/execute`, alice, { method: 'POST' })).json.graph.status).toBe('running');
    expect((await api(c.url, `/v1/graphs/${id}/persisted/prediction`, alice)).json.error.code).toBe('ERR_NOT_READY');

    // Follow the event stream while the fake provider works.
    const events: { event: string; data: any }[] = [];
    const reads: number[] = [];
    const stream = (async () => {
      const res = await fetch(`${c.url}/v1/graphs/${id}/events`, { headers: { authorization: `Bearer ${alice}` } });
      const reader = res.body!.getReader();
      let buf = '';
      for (let i = 0; i < 10_000; i++) {
        const { value, done } = await reader.read();
        if (done) return;
        reads.push(performance.now());
        buf += new TextDecoder().decode(value);
        for (let cut = buf.indexOf('\n\n'); cut >= 0; cut = buf.indexOf('\n\n')) {
          const block = buf.slice(0, cut);
          buf = buf.slice(cut + 2);
          const ev = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (ev && data) events.push({ event: ev, data: JSON.parse(data) });
        }
      }
    })();

    const p = await new FakeProvider(c.url, prov).connect();
    let duringRun = 0;
    await serve(c, p, alice, id, async (a, outs) => {
      // A second completion of the same lease is answered, not counted.
      expect((await api(c.url, `/v1/leases/${a.lease}/complete`, prov, { method: 'POST', body: { outputs: Object.fromEntries(outs.map((o) => [o.name, o.sha256])) } })).json).toEqual({ status: 'duplicate' });
      const g = (await api(c.url, `/v1/graphs/${id}`, alice)).json;
      if (g.graph.status === 'running') {
        for (const pv of g.persisted.filter((x: { sha256: string | null }) => x.sha256)) {
          const r = await api(c.url, `/v1/graphs/${id}/persisted/${encodeURIComponent(pv.name)}`, alice);
          expect(r.status).toBe(200);
          expect(sha256(r.bytes!)).toBe(pv.sha256);
          expect(blobBits(r.bytes!)).toEqual(rec.local.get(pv.name));
          duringRun++;
        }
      }
    });
    expect(duringRun).toBeGreaterThan(0);
    await stream;
    p.close();

    const final = (await api(c.url, `/v1/graphs/${id}`, alice)).json;
    expect(final.graph.status).toBe('done');
    expect(final.graph.nodes_done).toBe(final.graph.nodes_total);
    expect(final.persisted.length).toBe(rec.local.size);
    for (const pv of final.persisted) {
      const r = await api(c.url, `/v1/graphs/${id}/persisted/${encodeURIComponent(pv.name)}`, alice);
      expect(blobBits(r.bytes!)).toEqual(rec.local.get(pv.name));
    }
    // The stream told the whole story, ending with 'end', in writes at most 100 ms apart (the last one, 'end', at once).
    expect(events[events.length - 1]!.event).toBe('end');
    expect(reads.length).toBeLessThanOrEqual(Math.floor((reads[reads.length - 1]! - reads[0]!) / 100) + 2);
    console.log(`event stream (${backend.name}): ${events.length} events in ${reads.length} reads over ${Math.round(reads[reads.length - 1]! - reads[0]!)} ms`);
    expect(new Set(events.filter((e) => e.event === 'persisted').map((e) => e.data.name))).toEqual(new Set(rec.local.keys()));
    // Each subgraph was accepted once and credited once.
    const subs = await c.db.db.selectFrom('subgraphs').select(['state']).where('graph_id', '=', id).execute();
    expect(subs.every((s) => s.state === 'done')).toBe(true);
    const done = await c.db.db.selectFrom('leases').select('id').where('graph_id', '=', id).where('state', '=', 'done').execute();
    expect(done.length).toBe(subs.length);
    const credit = await c.db.db.selectFrom('providers').select('subgraphs_done').where('id', '=', p.id).executeTakeFirstOrThrow();
    expect(credit.subgraphs_done).toBe(subs.length);
    // The dashboard's data: progress, subgraphs by state, providers, persisted losses.
    const dash = (await api(c.url, '/api/dashboard', null)).json;
    const dg = dash.graphs.find((x: { id: string }) => x.id === id);
    expect(dg.subgraphs.done).toBe(subs.length);
    expect(dg.persisted_scalars.length).toBe([...rec.local.keys()].filter((k) => k.startsWith('training_loss')).length);
    expect(dg.persisted_scalars[0].name).toBe('training_loss_epoch_1_batch_1');
    expect(dash.providers.some((x: { id: string; subgraphs_done: number }) => x.id === p.id && x.subgraphs_done === subs.length)).toBe(true);
    // Deleting the graph removes it (and only the requester may).
    expect((await api(c.url, `/v1/graphs/${id}`, bob, { method: 'DELETE' })).status).toBe(403);
    expect((await api(c.url, `/v1/graphs/${id}`, alice, { method: 'DELETE' })).status).toBe(200);
    expect((await api(c.url, `/v1/graphs/${id}`, alice)).status).toBe(404);
  });

  it('a provider that goes silent loses its lease within a lease time, another gets the work, and the late result is refused; heartbeats keep a lease', async () => {
    const id = await upload(c, alice, rec);
    await api(c.url, `/v1/graphs/${id}/execute`, alice, { method: 'POST' });
    const slow = await new FakeProvider(c.url, prov).connect();
    const first = await slow.next();
    // Heartbeats keep the lease past its time: nobody else gets it.
    const other = await new FakeProvider(c.url, prov2).connect();
    await sleep(2.5 * LEASE_MS);
    expect(other.assignments.filter((a) => a.subgraph === first.subgraph && a.graph_id === id)).toEqual([]);
    const outs = await slow.compute(first);
    expect((await slow.finish(first, outs)).done.json.status).toBe('accepted');

    // The next subgraph goes to one of them; it goes silent holding it.
    const holder = await waitFor('the next assignment', () => (slow.assignments.length > 1 ? slow : other.assignments.length > 0 ? other : null));
    const rescuer = holder === slow ? other : slow;
    holder.silent = true;
    const second = await holder.next();
    const t0 = Date.now();
    const moved = await rescuer.next(10 * LEASE_MS);
    const reassignedMs = Date.now() - t0;
    console.log(`lease of a silent provider reassigned after ${reassignedMs} ms (lease time ${LEASE_MS} ms, ${backend.name})`);
    expect(moved.subgraph).toBe(second.subgraph);
    expect((await waitFor('the silent provider to be dropped', () => holder.closed, 5000)).code).toBe(4001);
    await c.state.idle(); // the database follows the memory by one group commit
    expect((await c.db.db.selectFrom('leases').select('state').where('id', '=', second.lease).executeTakeFirstOrThrow()).state).toBe('expired');
    // Its late result is refused and changes nothing.
    const late = await holder.compute(second).catch((e: Error) => e);
    expect(String(late)).toMatch(/409.*ERR_LEASE_ENDED/);
    const lateUp = await holder.finish(second, await rescuer.compute(moved));
    expect(lateUp.up.json.error.code).toBe('ERR_LEASE_ENDED');
    expect(lateUp.done.json.error.code).toBe('ERR_LEASE_ENDED');
    const outs2 = await rescuer.compute(moved);
    expect((await rescuer.finish(moved, outs2)).done.json.status).toBe('accepted');
    await serve(c, rescuer, alice, id);
    await expectLocalBits(c, alice, id);
    slow.close();
    other.close();
  });

  it('a provider whose socket is closing (sends fail) gets one lease, which ends at once; its work goes to another provider', async () => {
    const id = await upload(c, alice, rec);
    let sends = 0;
    // Registered directly: the state holds it as connected, but every send fails (as while its socket closes).
    const dying: ProviderConn = {
      id: `p_dying${Date.now().toString(36)}`, token: 'dying-token-hash', name: 'dying',
      capability: { gflops: 1, memory_bytes: 2 ** 30, threads: 1, slots: 1, platform: 'test', version: '0' },
      protocol: 2, leases: new Set(), open: true,
      send: () => false,
      sendRaw: () => (sends++, false),
      close: () => {},
    };
    await waitFor('the earlier tests\' providers gone', () => [...c.state.providers.values()].every((x) => !x.open) || null, 5000);
    await c.state.hello(dying, []);
    await api(c.url, `/v1/graphs/${id}/execute`, alice, { method: 'POST' });
    await waitFor('an assignment tried', () => sends > 0, 5000);
    await sleep(100); // more dispatch rounds: none may use it again
    expect(sends).toBe(1);
    expect(dying.open).toBe(false);
    await c.state.idle();
    const leases = await c.db.db.selectFrom('leases').select(['state', 'provider_id']).where('graph_id', '=', id).execute();
    expect(leases).toEqual([{ state: 'expired', provider_id: dying.id }]);
    await c.state.disconnected(dying);
    const p = await new FakeProvider(c.url, prov).connect();
    await serve(c, p, alice, id);
    await expectLocalBits(c, alice, id);
    p.close();
  });

  it('a subgraph that fails on one provider goes to another; failing on three providers fails its graph with the error', async () => {
    const id = await upload(c, alice, rec);
    await api(c.url, `/v1/graphs/${id}/execute`, alice, { method: 'POST' });
    const ps = [prov, prov2, prov].map((t) => new FakeProvider(c.url, t));
    await ps[0]!.connect();
    await ps[1]!.connect();
    const holder = await waitFor('the first assignment', () => ps.slice(0, 2).find((p) => p.assignments.length > 0));
    const rescuer = holder === ps[0] ? ps[1]! : ps[0]!;
    const a0 = await holder.next();
    holder.send({ type: 'failed', lease: a0.lease, error: { code: 'ERR_GRAPH', message: 'could not run it' } });
    // The other provider gets it (a provider that failed it only when no other fits), computes it, and the run goes on.
    const a1 = await rescuer.next();
    expect(a1.subgraph).toBe(a0.subgraph);
    expect((await rescuer.finish(a1, await rescuer.compute(a1))).done.json.status).toBe('accepted');
    expect((await api(c.url, `/v1/graphs/${id}`, alice)).json.graph.status).toBe('running');
    // The next subgraph fails everywhere: after three providers the graph fails, saying why.
    await ps[2]!.connect();
    const seen = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const holder = await waitFor('a provider holding the next subgraph', () => ps.find((p) => p.assignments.some((x) => x.graph_id === id && x.subgraph !== a0.subgraph && !seen.has(x.lease))));
      const a = holder.assignments.find((x) => x.graph_id === id && x.subgraph !== a0.subgraph && !seen.has(x.lease))!;
      seen.add(a.lease);
      holder.send({ type: 'failed', lease: a.lease, error: { code: 'ERR_GRAPH', message: `broken ${i}` } });
    }
    const g = await waitFor('the graph to fail', async () => {
      const r = (await api(c.url, `/v1/graphs/${id}`, alice)).json.graph;
      return r.status === 'failed' ? r : null;
    });
    expect(g.error).toMatch(/failed on 3 providers; last: ERR_GRAPH: broken 2/);
    for (const p of ps) p.close();
  });

  it('one provider failing a subgraph again and again fails no graph: it gets it back only while no other provider that fits is connected, and a provider that has not failed it computes it', async () => {
    const id = await upload(c, alice, rec);
    await api(c.url, `/v1/graphs/${id}/execute`, alice, { method: 'POST' });
    const faulty = await new FakeProvider(c.url, prov).connect();
    // Alone, it gets the subgraph back after each failure: more failures than maxFailures (3), on one provider.
    const first = await faulty.next();
    for (let i = 0; i < 4; i++) {
      const a = i === 0 ? first : await faulty.next();
      expect(a.subgraph).toBe(first.subgraph);
      faulty.send({ type: 'failed', lease: a.lease, error: { code: 'ERR_GRAPH', message: `flaky ${i}` } });
    }
    const again = await faulty.next(); // its fifth lease of the same subgraph
    expect(again.subgraph).toBe(first.subgraph);
    expect((await api(c.url, `/v1/graphs/${id}`, alice)).json.graph.status).toBe('running');
    // A healthy provider connects while the faulty one holds the lease: the next failure moves the subgraph to it, not back.
    const healthy = await new FakeProvider(c.url, prov2).connect();
    faulty.send({ type: 'failed', lease: again.lease, error: { code: 'ERR_GRAPH', message: 'flaky 5' } });
    const rescued = await healthy.next();
    expect(rescued.subgraph).toBe(first.subgraph);
    expect((await healthy.finish(rescued, await healthy.compute(rescued))).done.json.status).toBe('accepted');
    expect(faulty.assignments.filter((a) => a.subgraph === first.subgraph).length).toBe(5);
    expect((await api(c.url, `/v1/graphs/${id}`, alice)).json.graph.status).toBe('running');
    faulty.close();
    healthy.close();
    await api(c.url, `/v1/graphs/${id}`, alice, { method: 'DELETE' });
  });

  it('a subgraph that fails on every provider there is fails its graph after a bounded number of attempts, saying so', async () => {
    const id = await upload(c, alice, rec);
    await api(c.url, `/v1/graphs/${id}/execute`, alice, { method: 'POST' });
    const only = await new FakeProvider(c.url, prov).connect();
    for (let i = 0; i < 9; i++) {
      const a = await only.next();
      only.send({ type: 'failed', lease: a.lease, error: { code: 'ERR_GRAPH', message: `broken ${i}` } });
    }
    const g = await waitFor('the graph to fail', async () => {
      const r = (await api(c.url, `/v1/graphs/${id}`, alice)).json.graph;
      return r.status === 'failed' ? r : null;
    });
    expect(g.error).toMatch(/failed on 1 provider \(9 attempts\); last: ERR_GRAPH: broken 8/);
    only.close();
  });

  it('heartbeats keep a lease only up to its longest time: a provider that never finishes loses it and is told to stop', async () => {
    const fresh = await backend.create();
    const capped = await startCoordinator({ db: fresh.spec, port: 0, log: null, leaseMs: 600, maxLeaseMs: 1500, bytesPerSecond: 1e12, plan: 'per-step' });
    try {
      const alice = await createToken(capped.db.db, 'requester');
      const prov = await createToken(capped.db.db, 'provider');
      const prov2 = await createToken(capped.db.db, 'provider');
      const id = await upload(capped, alice, rec);
      await api(capped.url, `/v1/graphs/${id}/execute`, alice, { method: 'POST' });
      const stuck = await new FakeProvider(capped.url, prov).connect();
      const a = await stuck.next();
      const other = await new FakeProvider(capped.url, prov2).connect();
      const moved = await other.next(10_000);
      expect(moved.subgraph).toBe(a.subgraph);
      expect(stuck.closed).toBe(null); // still connected, heartbeating
      await waitFor('a cancel', () => stuck.messages.some((m) => m.type === 'cancel' && m.lease === a.lease));
      stuck.close();
      other.close();
    } finally {
      await capped.close();
      await fresh.drop();
    }
  });

  it('resumes from the database after a restart: a provider that reconnects keeps its lease and its result is accepted once', async () => {
    const { spec: spec2, drop: drop2 } = await backend.create();
    let c1: Coordinator | null = await startCoordinator({ db: spec2, port: 0, log: null, leaseMs: 3000, bytesPerSecond: 1e12, plan: 'per-step' });
    try {
      const tok = await createToken(c1.db.db, 'requester');
      const ptok = await createToken(c1.db.db, 'provider');
      const id = await upload(c1, tok, rec);
      await api(c1.url, `/v1/graphs/${id}/execute`, tok, { method: 'POST' });
      const p = await new FakeProvider(c1.url, ptok).connect();
      const a = await p.next();
      const outs = await p.compute(a);
      // The coordinator goes away while the provider holds the lease.
      const port = c1.port;
      await c1.close();
      c1 = null;
      p.close();
      const c2 = await startCoordinator({ db: spec2, port, log: null, leaseMs: 3000, bytesPerSecond: 1e12, plan: 'per-step' });
      try {
        // The same provider comes back naming its lease: it is resumed, its result accepted.
        const again = new FakeProvider(c2.url, ptok);
        (again as { id: string }).id = p.id;
        await again.connect(false);
        again.send({ type: 'hello', provider_id: p.id, name: 'back', leases: [a.lease], capability: { gflops: 1, memory_bytes: 2 ** 30, threads: 1, slots: 1, platform: 't', version: '0' } });
        const welcome = await waitFor('welcome', () => again.messages.find((m) => m.type === 'welcome'));
        again.assignments.push(a);
        await again.next();
        expect(welcome.type === 'welcome' && welcome.resumed).toEqual([a.lease]);
        const r = await again.finish(a, outs);
        expect(r.done.json.status).toBe('accepted');
        expect((await again.finish(a, outs)).done.json.status).toBe('duplicate');
        await serve(c2, again, tok, id);
        const g = (await api(c2.url, `/v1/graphs/${id}`, tok)).json;
        expect(g.graph.status).toBe('done');
        await expectLocalBits(c2, tok, id);
        again.close();
      } finally {
        await c2.close();
      }
    } finally {
      await c1?.close();
      await drop2();
    }
  });

  it('protocol 2: small inputs come inline with the assignment, results with the completion in one frame, answered only once committed; a repeat is a duplicate; bad completions get typed errors', async () => {
    const id = await upload(c, alice, rec);
    await api(c.url, `/v1/graphs/${id}/execute`, alice, { method: 'POST' });
    const p = await new FakeProvider(c.url, prov, {}, 2).connect();
    try {
      const a = await p.next();
      // Every input came with the assignment, each the bytes its SHA-256 names.
      const inline = p.inline.get(a.lease)!;
      expect(new Set(inline.map((b) => b.sha256))).toEqual(new Set(a.blobs.map((b) => b.sha256)));
      for (const b of inline) expect(sha256(b.bytes)).toBe(b.sha256);
      const outs = await p.compute(a);
      // Bytes that are not what their hash says, and another provider's lease: typed errors, nothing recorded.
      const forged = outs.map((o) => ({ ...o, bytes: Uint8Array.from(o.bytes, (x, i) => (i === o.bytes.length - 1 ? x ^ 1 : x)) }));
      expect(await p.completeWs(a, forged)).toMatchObject({ lease: a.lease, error: { code: 'ERR_HASH_MISMATCH' } });
      const other = await new FakeProvider(c.url, prov2, {}, 2).connect();
      expect(await other.completeWs(a, outs)).toMatchObject({ error: { code: 'ERR_FORBIDDEN' } });
      other.close();
      expect((await c.db.db.selectFrom('leases').select('state').where('id', '=', a.lease).executeTakeFirst())?.state ?? 'active').toBe('active');
      // Accepted, and by the time the answer comes the database holds the lease done and its results.
      expect(await p.completeWs(a, outs)).toEqual({ type: 'completed', lease: a.lease, status: 'accepted' });
      expect((await c.db.db.selectFrom('leases').select('state').where('id', '=', a.lease).executeTakeFirstOrThrow()).state).toBe('done');
      const stored = await c.db.db.selectFrom('results').select(['ref', 'sha256']).where('lease_id', '=', a.lease).execute();
      expect(new Map(stored.map((r) => [r.ref, r.sha256]))).toEqual(new Map(outs.map((o) => [o.name, o.sha256])));
      expect(await p.completeWs(a, outs)).toEqual({ type: 'completed', lease: a.lease, status: 'duplicate' });
      // The rest of the run over protocol 2 gives the local run's bits.
      for (let served = 0; served < 200; served++) {
        if ((await api(c.url, `/v1/graphs/${id}`, alice)).json.graph.status === 'done') break;
        const next = await p.next();
        expect(await p.completeWs(next, await p.compute(next))).toMatchObject({ status: 'accepted' });
      }
      const g = (await api(c.url, `/v1/graphs/${id}`, alice)).json;
      expect(g.graph.status).toBe('done');
      await expectLocalBits(c, alice, id);
      const names = g.persisted.map((pv: { name: string }) => pv.name);
      const bundle = await api(c.url, `/v1/graphs/${id}/persisted`, alice, { method: 'POST', body: { names } });
      expect(bundle.status).toBe(200);
      expect(new Set(decodeBundle(bundle.bytes!).map((e) => e.sha256))).toEqual(new Set(g.persisted.map((pv: { sha256: string }) => pv.sha256)));
      expect((await api(c.url, `/v1/graphs/${id}/persisted`, bob, { method: 'POST', body: { names } })).json.error.code).toBe('ERR_FORBIDDEN');
    } finally {
      p.close();
    }
    // A malformed completion frame closes the connection with a typed error; the server stays up.
    for (const frame of [Buffer.from([9, 0, 0, 0, 123]), encodeFrame({ type: 'complete', lease: 'x', outputs: {} })]) {
      const bad = await new FakeProvider(c.url, prov, {}, 2).connect();
      bad.ws.send(frame, { binary: true });
      await waitFor('the coordinator to close the connection', () => bad.closed, 10_000);
      expect(bad.closed!.code).toBe(1008);
      expect(bad.messages.some((m) => m.type === 'error' && m.error.code === 'ERR_BAD_REQUEST')).toBe(true);
    }
    expect((await api(c.url, '/v1/health', null)).status).toBe(200);
  });

  it('protocol 3: an answer leaves only once its result is committed and rides on the provider\'s next assignment', async () => {
    const { spec: spec3, drop: drop3 } = await backend.create();
    // Commits wait while the gate is closed.
    let gate: Promise<void> | null = null;
    let openGate = () => {};
    const journal = (store: Db): Journal => {
      const real = openJournal(store);
      return { ready: () => real.ready(), close: async () => real.close?.(), commit: async (b) => (gate && (await gate), real.commit(b)) };
    };
    // Answers wait a minute for an assignment: here every one must ride on one.
    const c3 = await startCoordinator({ db: spec3, port: 0, log: null, leaseMs: 3000, bytesPerSecond: 1e12, plan: 'per-step', journal, ackDelayMs: 60_000 });
    try {
      const tok = await createToken(c3.db.db, 'requester');
      const ptok = await createToken(c3.db.db, 'provider');
      const id = await upload(c3, tok, rec);
      await api(c3.url, `/v1/graphs/${id}/execute`, tok, { method: 'POST' });
      const p = await new FakeProvider(c3.url, ptok, {}, 3).connect();
      expect(p.messages.find((m) => m.type === 'welcome')).toMatchObject({ protocol: 3 });
      const complete = (a: Assignment, outs: Awaited<ReturnType<FakeProvider['compute']>>) =>
        p.ws.send(encodeFrame({ type: 'complete', lease: a.lease, outputs: Object.fromEntries(outs.map((o) => [o.name, o.sha256])) }, outs), { binary: true });
      const leaseState = async (lease: string) => (await c3.db.db.selectFrom('leases').select('state').where('id', '=', lease).executeTakeFirst())?.state;
      const answers = () => p.messages.filter((m) => m.type === 'completed');
      const a1 = await p.next();
      const o1 = await p.compute(a1);
      await c3.state.idle();
      gate = new Promise<void>((resolve) => (openGate = () => ((gate = null), resolve())));
      // Two results in while nothing commits: their next assignments leave at once, with no answers.
      complete(a1, o1);
      const a2 = await p.next();
      expect(a2.acks).toBeUndefined();
      complete(a2, await p.compute(a2));
      const a3 = await p.next();
      expect(a3.acks).toBeUndefined();
      await sleep(200);
      expect(answers()).toEqual([]);
      expect(await leaseState(a1.lease)).toBe('active');
      // Committed: the answers wait for the next assignment and come with it, in order.
      openGate();
      await c3.state.idle();
      expect([await leaseState(a1.lease), await leaseState(a2.lease)]).toEqual(['done', 'done']);
      expect(answers()).toEqual([]);
      complete(a3, await p.compute(a3));
      const a4 = await p.next();
      expect(a4.acks).toEqual([{ lease: a1.lease, status: 'accepted' }, { lease: a2.lease, status: 'accepted' }]);
      expect(p.ackedVia.get(a1.lease)).toEqual({ via: 'assign', lease: a4.lease });
      p.close();
    } finally {
      openGate();
      await c3.close();
      await drop3();
    }
  });

  it('protocol 3: with no assignment to ride on, answers come alone; the run gives the local bits; a provider asking for a newer protocol is refused with ERR_PROTOCOL', async () => {
    const id = await upload(c, alice, rec);
    await api(c.url, `/v1/graphs/${id}/execute`, alice, { method: 'POST' });
    const p = await new FakeProvider(c.url, prov, {}, 3).connect();
    try {
      // This provider waits for each answer before it sends the next result: no assignment follows an answer, so each comes alone.
      for (let served = 0; served < 200; served++) {
        if ((await api(c.url, `/v1/graphs/${id}`, alice)).json.graph.status === 'done') break;
        const next = await p.next();
        expect(await p.completeWs(next, await p.compute(next))).toEqual({ type: 'completed', lease: next.lease, status: 'accepted' });
        expect(p.ackedVia.get(next.lease)).toEqual({ via: 'acks' });
        expect((await c.db.db.selectFrom('leases').select('state').where('id', '=', next.lease).executeTakeFirstOrThrow()).state).toBe('done');
      }
      const g = (await api(c.url, `/v1/graphs/${id}`, alice)).json;
      expect(g.graph.status).toBe('done');
      await expectLocalBits(c, alice, id);
    } finally {
      p.close();
    }
    const future = await new FakeProvider(c.url, prov).connect(false);
    future.send({ type: 'hello', provider_id: future.id, name: 'future', leases: [], protocol: 4, capability: { gflops: 1, memory_bytes: 2 ** 30, threads: 1, slots: 1, platform: 't', version: '9' } });
    await waitFor('the coordinator to refuse protocol 4', () => future.closed, 10_000);
    expect(future.messages).toEqual([{ type: 'error', error: { code: 'ERR_PROTOCOL', message: expect.stringMatching(/protocols 1 to 3, the provider asked for 4/) } }]);
    // A real provider so refused stops with the typed error (reconnecting would only be refused again).
    const newer = await startProvider({ server: c.url, token: prov, threads: 1, log: null, protocol: 4 as 3 });
    await expect(newer.done).rejects.toMatchObject({ remoteCode: 'ERR_PROTOCOL' });
    expect((await api(c.url, '/v1/health', null)).status).toBe(200);
  });

  it('a commit that fails acknowledges nothing: the coordinator reloads from the database, the provider comes back, its result is accepted once and the run ends with the same bits', async () => {
    const { spec: spec2, drop: drop2 } = await backend.create();
    let failed = 0;
    // Fails the first batch that completes a lease (nothing of it is written).
    const journal = (store: Db): Journal => {
      const real = openJournal(store);
      return { ready: () => real.ready(), close: async () => real.close?.(), commit: async (b) => (failed === 0 && b.leases.some((l) => l.state === 'done') ? (failed++, Promise.reject(new Error('disk full (test)'))) : real.commit(b)) };
    };
    const c2 = await startCoordinator({ db: spec2, port: 0, log: null, leaseMs: 3000, bytesPerSecond: 1e12, plan: 'per-step', journal });
    try {
      const tok = await createToken(c2.db.db, 'requester');
      const ptok = await createToken(c2.db.db, 'provider');
      const id = await upload(c2, tok, rec);
      await api(c2.url, `/v1/graphs/${id}/execute`, tok, { method: 'POST' });
      const p = await new FakeProvider(c2.url, ptok, {}, 2).connect();
      const a = await p.next();
      const outs = await p.compute(a);
      await c2.state.idle(); // the lease itself is committed
      p.ws.send(encodeFrame({ type: 'complete', lease: a.lease, outputs: Object.fromEntries(outs.map((o) => [o.name, o.sha256])) }, outs), { binary: true });
      await waitFor('the coordinator to drop the connection', () => p.closed, 10_000);
      expect(failed).toBe(1);
      expect(p.messages.some((m) => m.type === 'completed' && 'status' in m)).toBe(false);
      expect((await c2.db.db.selectFrom('results').select('ref').where('lease_id', '=', a.lease).execute()).length).toBe(0);
      // The provider comes back naming its lease: it is still held, and the result goes again.
      const again = new FakeProvider(c2.url, ptok, {}, 2);
      (again as { id: string }).id = p.id;
      await waitFor('the reconnection to be taken', async () => {
        await again.connect(false);
        again.send({ type: 'hello', provider_id: p.id, name: 'back', leases: [a.lease], protocol: 2, capability: { gflops: 1, memory_bytes: 2 ** 30, threads: 1, slots: 1, platform: 't', version: '0' } });
        const w = await waitFor('welcome or close', () => again.messages.find((m) => m.type === 'welcome') ?? again.closed, 5000);
        if ('type' in w) return w;
        again.messages.length = 0;
        return null;
      }, 10_000);
      expect(again.messages.find((m) => m.type === 'welcome')).toMatchObject({ resumed: [a.lease] });
      expect(await again.completeWs(a, outs)).toMatchObject({ status: 'accepted' });
      expect(await again.completeWs(a, outs)).toMatchObject({ status: 'duplicate' });
      for (let served = 0; served < 200; served++) {
        if ((await api(c2.url, `/v1/graphs/${id}`, tok)).json.graph.status === 'done') break;
        const next = await again.next();
        expect(await again.completeWs(next, await again.compute(next))).toMatchObject({ status: 'accepted' });
      }
      const g = (await api(c2.url, `/v1/graphs/${id}`, tok)).json;
      expect(g.graph.status).toBe('done');
      await expectLocalBits(c2, tok, id);
      // Each subgraph done by exactly one lease, each result recorded once.
      const done = await c2.db.db.selectFrom('leases').select('idx').where('graph_id', '=', id).where('state', '=', 'done').execute();
      expect(done.map((l) => l.idx).sort((x, y) => x - y)).toEqual(Array.from({ length: g.graph.subgraphs_total }, (_, i) => i));
      again.close();
    } finally {
      await c2.close();
      await drop2();
    }
  });

  it('refuses bad input with typed errors (4xx) and keeps running', async () => {
    const id = gid();
    const put = (body: unknown, raw?: string) => api(c.url, `/v1/graphs/${id}`, alice, raw === undefined ? { method: 'PUT', body } : { method: 'PUT', raw });
    const codeOf = async (p: Promise<{ status: number; json: any }>) => {
      const r = await p;
      return `${r.status} ${r.json?.error?.code}`;
    };
    expect(await codeOf(put(null, '{"format": "ravdl-graph", '))).toBe('400 ERR_BAD_JSON');
    expect(await codeOf(put([1, 2, 3]))).toBe('400 ERR_BAD_REQUEST');
    expect(await codeOf(put({ ...rec.doc, nodes: 'many' }))).toBe('400 ERR_BAD_REQUEST');
    expect(await codeOf(put({ ...rec.doc, format: 'pickle' }))).toBe('400 ERR_BAD_REQUEST');
    const nodes = (rec.doc.nodes as Record<string, unknown>[]).slice();
    const firstOp = nodes.findIndex((n) => n.op !== 'const');
    nodes[firstOp] = { ...nodes[firstOp], op: 'os.system' };
    expect(await codeOf(put({ ...rec.doc, nodes }))).toBe('400 ERR_GRAPH');
    const cyclic = (rec.doc.nodes as Record<string, unknown>[]).slice();
    cyclic[firstOp] = { ...cyclic[firstOp], inputs: [[firstOp, 0], [0, 0]] };
    expect(await codeOf(put({ ...rec.doc, nodes: cyclic }))).toBe('400 ERR_GRAPH');
    expect(await codeOf(put({ ...rec.doc, nodes: [...(rec.doc.nodes as unknown[]), ...Array.from({ length: 60_000 }, () => ({ op: 'const', blob: '0'.repeat(64), shape: [1], dtype: 'float32' }))] }))).toBe('413 ERR_TOO_LARGE');
    expect(await codeOf(api(c.url, '/v1/graphs/short', alice, { method: 'PUT', body: rec.doc }))).toBe('400 ERR_BAD_REQUEST');

    // Blobs: the bytes must hash to the name and be one tensor; sizes are bounded.
    const [sha, bytes] = [...rec.blobs][0]!;
    expect(await codeOf(api(c.url, `/v1/blobs/${sha}`, alice, { method: 'PUT', raw: Buffer.concat([bytes, Buffer.from([0])]) }))).toBe('400 ERR_HASH_MISMATCH');
    const junk = Buffer.from('not a safetensors file at all');
    expect(await codeOf(api(c.url, `/v1/blobs/${sha256(junk)}`, alice, { method: 'PUT', raw: junk }))).toBe('400 ERR_BLOB');
    expect(await codeOf(api(c.url, `/v1/blobs/${'a'.repeat(64)}`, alice, { method: 'PUT', raw: Buffer.alloc(10), headers: { 'upload-length': String(2 ** 21) } }))).toBe('413 ERR_TOO_LARGE');
    expect(await codeOf(api(c.url, `/v1/blobs/${'a'.repeat(64)}`, alice, { method: 'PUT', raw: Buffer.alloc(65 * 1024) }))).toBe('413 ERR_TOO_LARGE');
    expect(await codeOf(api(c.url, `/v1/blobs/${'a'.repeat(64)}`, alice, { method: 'PUT', raw: '{"x": 1}' }))).toBe('415 ERR_MEDIA_TYPE');
    expect(await codeOf(api(c.url, '/v1/blobs/XYZ', alice, { method: 'PUT', raw: Buffer.alloc(1) }))).toBe('400 ERR_BAD_REQUEST');
    expect(await codeOf(api(c.url, `/v1/blobs/${sha}`, alice, { method: 'PUT', raw: bytes, headers: { 'upload-offset': '-1' } }))).toBe('400 ERR_BAD_REQUEST');

    // A resumable upload in parts: a part at the wrong place is refused with where to go on.
    const big = encodeBlob([100, 300], new Float32Array(30_000).map((_, i) => Math.cos(i))).bytes; // about 120 KB: two parts
    const bigSha = sha256(big);
    const part = (from: number, to: number) => api(c.url, `/v1/blobs/${bigSha}`, alice, { method: 'PUT', raw: big.subarray(from, to), headers: { 'upload-offset': String(from), 'upload-length': String(big.length) } });
    expect((await part(0, 60_000)).status).toBe(202);
    const wrong = await part(61_000, 100_000);
    expect(`${wrong.status} ${wrong.json.error.code} ${wrong.headers.get('upload-offset')}`).toBe('409 ERR_OFFSET 60000');
    const head = await api(c.url, `/v1/blobs/${bigSha}`, alice, { method: 'HEAD' });
    expect(`${head.status} ${head.headers.get('upload-offset')}`).toBe('404 60000');
    expect((await part(60_000, big.length)).status).toBe(201);
    expect((await api(c.url, `/v1/blobs/${bigSha}`, alice, { method: 'HEAD' })).status).toBe(200);
    expect(Buffer.compare((await api(c.url, `/v1/blobs/${bigSha}`, alice)).bytes!, big)).toBe(0);

    // Executing before the blobs are there, or with a blob of another shape.
    const carol = await createToken(c.db.db, 'requester', 'carol');
    const gid2 = gid();
    expect((await api(c.url, `/v1/graphs/${gid2}`, carol, { method: 'PUT', body: { ...rec.doc, name: 'b2' } })).status).toBe(201);
    expect(await codeOf(api(c.url, `/v1/graphs/${gid2}/execute`, carol, { method: 'POST' }))).toBe('409 ERR_MISSING_BLOBS');
    const constIdx = (rec.doc.nodes as { op: string }[]).findIndex((n) => n.op === 'const');
    const wrongShape = (rec.doc.nodes as Record<string, unknown>[]).slice();
    const n0 = wrongShape[constIdx] as { shape: number[] };
    wrongShape[constIdx] = { ...n0, blob: bigSha, shape: n0.shape };
    const gid3 = gid();
    const p3 = await api(c.url, `/v1/graphs/${gid3}`, alice, { method: 'PUT', body: { ...rec.doc, name: 'b3', nodes: wrongShape } });
    for (const s of p3.json.missing) await api(c.url, `/v1/blobs/${s}`, alice, { method: 'PUT', raw: rec.blobs.get(s)! });
    expect(await codeOf(api(c.url, `/v1/graphs/${gid3}/execute`, alice, { method: 'POST' }))).toBe('400 ERR_BLOB');

    expect(await codeOf(api(c.url, '/v1/nothing-here', alice))).toBe('404 ERR_NOT_FOUND');
    expect((await api(c.url, '/v1/health', null)).json.ok).toBe(true);
  });

  it('every read needs the right token and stays within its owner', async () => {
    const rec2 = await record(2); // results that no earlier test stored
    const id = await upload(c, alice, rec2);
    const codeOf = async (p: Promise<{ status: number; json: any }>) => {
      const r = await p;
      return `${r.status} ${r.json?.error?.code}`;
    };
    expect(await codeOf(api(c.url, `/v1/graphs/${id}`, null))).toBe('401 ERR_UNAUTHORIZED');
    expect(await codeOf(api(c.url, `/v1/graphs/${id}`, 'rv_r_not-a-real-token-at-all-000000000'))).toBe('401 ERR_UNAUTHORIZED');
    expect(await codeOf(api(c.url, `/v1/graphs/${id}`, prov))).toBe('403 ERR_FORBIDDEN');
    expect(await codeOf(api(c.url, `/v1/graphs/${id}`, bob))).toBe('403 ERR_FORBIDDEN');
    expect(await codeOf(api(c.url, `/v1/graphs/${id}/events`, bob))).toBe('403 ERR_FORBIDDEN');
    expect(await codeOf(api(c.url, `/v1/graphs/${id}/execute`, bob, { method: 'POST' }))).toBe('403 ERR_FORBIDDEN');
    expect(await codeOf(api(c.url, `/v1/graphs/${id}/persisted/prediction`, bob))).toBe('403 ERR_FORBIDDEN');
    const [aliceBlob] = [...rec2.blobs.keys()];
    // Bob may have uploaded the same bytes himself in the first test: use a blob only Alice has.
    const onlyAlice = encodeBlob([7], new Float32Array([1, 2, 3.5, 4, 5, 6, 7])).bytes; // no output of the graph has this shape
    expect((await api(c.url, `/v1/blobs/${sha256(onlyAlice)}`, alice, { method: 'PUT', raw: onlyAlice })).status).toBe(201);
    expect(await codeOf(api(c.url, `/v1/blobs/${sha256(onlyAlice)}`, bob))).toBe('404 ERR_NOT_FOUND');
    expect((await api(c.url, `/v1/blobs/${sha256(onlyAlice)}`, bob, { method: 'HEAD' })).status).toBe(404);
    expect((await api(c.url, `/v1/blobs/${aliceBlob}`, alice)).status).toBe(200);
    expect(await codeOf(api(c.url, `/v1/blobs/${aliceBlob}`, prov))).toBe('403 ERR_FORBIDDEN');

    // Providers: only the inputs of their own active leases.
    await api(c.url, `/v1/graphs/${id}/execute`, alice, { method: 'POST' });
    const p = await new FakeProvider(c.url, prov).connect();
    const a = await p.next();
    expect((await api(c.url, `/v1/leases/${a.lease}/blobs/${a.blobs[0]!.sha256}`, prov)).status).toBe(200);
    expect(await codeOf(api(c.url, `/v1/leases/${a.lease}/blobs/${sha256(onlyAlice)}`, prov))).toBe('403 ERR_FORBIDDEN');
    expect(await codeOf(api(c.url, `/v1/leases/${a.lease}/blobs/${a.blobs[0]!.sha256}`, prov2))).toBe('403 ERR_FORBIDDEN');
    expect(await codeOf(api(c.url, `/v1/leases/${a.lease}/blobs`, prov2, { method: 'POST', body: { sha256: [a.blobs[0]!.sha256] } }))).toBe('403 ERR_FORBIDDEN');
    expect(await codeOf(api(c.url, `/v1/leases/${a.lease}/complete`, prov2, { method: 'POST', body: { outputs: {} } }))).toBe('403 ERR_FORBIDDEN');
    expect(await codeOf(api(c.url, `/v1/leases/${a.lease}/complete`, alice, { method: 'POST', body: { outputs: {} } }))).toBe('403 ERR_FORBIDDEN');
    expect(await codeOf(api(c.url, `/v1/leases/${a.lease}/complete`, prov, { method: 'POST', body: { outputs: {} } }))).toBe('400 ERR_BAD_REQUEST');
    expect(await codeOf(api(c.url, `/v1/leases/${a.lease}/complete`, prov, { method: 'POST', body: { outputs: { '1:0': 'nope' } } }))).toBe('400 ERR_BAD_REQUEST');
    // A result that is not one of the lease's outputs is refused.
    expect(await codeOf(api(c.url, `/v1/leases/${a.lease}/results/${sha256(onlyAlice)}`, prov, { method: 'PUT', raw: onlyAlice }))).toBe('400 ERR_BLOB');
    expect(await codeOf(api(c.url, `/v1/leases/${a.lease}/results`, prov, { method: 'PUT', raw: Buffer.from('garbage bundle') }))).toBe('400 ERR_BAD_REQUEST');
    // Completing with outputs that were never uploaded.
    const outs = await p.compute(a);
    expect(await codeOf(api(c.url, `/v1/leases/${a.lease}/complete`, prov, { method: 'POST', body: { outputs: Object.fromEntries(outs.map((o) => [o.name, o.sha256])) } }))).toBe('409 ERR_MISSING_BLOBS');
    expect((await p.finish(a, outs)).done.json.status).toBe('accepted');
    p.close();
    expect((await api(c.url, '/v1/health', null)).status).toBe(200);
  });

  it('the provider channel refuses bad tokens and malformed messages, and the server stays up', async () => {
    const upgrade = (token: string | null) =>
      new Promise<number>((resolve) => {
        const ws = new WebSocket(c.url.replace('http', 'ws') + '/v1/provider', { headers: token ? { authorization: `Bearer ${token}` } : {} });
        ws.on('unexpected-response', (_req, res) => (resolve(res.statusCode!), ws.terminate()));
        ws.on('open', () => (resolve(101), ws.close()));
        ws.on('error', () => {});
      });
    expect(await upgrade(null)).toBe(401);
    expect(await upgrade('rv_p_unknown-unknown-unknown-unknown')).toBe(401);
    expect(await upgrade(alice)).toBe(403);
    expect(await upgrade(prov)).toBe(101);
    const closedWith = async (send: (p: FakeProvider) => void, hello = false) => {
      const p = await new FakeProvider(c.url, prov).connect(hello);
      send(p);
      await waitFor('the coordinator to close the connection', () => p.closed, 10_000);
      return p.closed!.code;
    };
    expect(await closedWith((p) => p.send('{not json'))).toBe(1008);
    expect(await closedWith((p) => p.send({ type: 'launch', code: 'rm -rf /' }))).toBe(1008);
    expect(await closedWith((p) => p.send({ type: 'heartbeat', leases: [] }))).toBe(1008);
    expect(await closedWith((p) => p.send({ type: 'hello', provider_id: 'x', name: 'n', leases: [], capability: {} }))).toBe(1008);
    expect(await closedWith((p) => p.ws.send(Buffer.from([1, 2, 3]), { binary: true }))).toBe(1008);
    expect(await closedWith((p) => p.send('x'.repeat(2 ** 20 + 10)))).toBe(1009);
    expect(await closedWith((p) => p.send({ type: 'hello', provider_id: p.id, name: 'twice', leases: [], capability: { gflops: 1, memory_bytes: 1, threads: 1, slots: 1, platform: 'x', version: '0' } }), true)).toBe(1008);
    expect((await api(c.url, '/v1/health', null)).status).toBe(200);
  });

  it('off loopback the dashboard data needs a requester token and shows only that requester\'s graphs', async () => {
    const id = await upload(c, bob, rec);
    const closed = await startCoordinator({ db: c.db, port: 0, log: null, dashboardPublic: false });
    try {
      expect((await api(closed.url, '/api/dashboard', null)).json.error.code).toBe('ERR_UNAUTHORIZED');
      expect((await api(closed.url, '/api/dashboard', prov)).json.error.code).toBe('ERR_FORBIDDEN');
      const mine = (await api(closed.url, `/api/dashboard?token=${bob}`, null)).json;
      expect(mine.graphs.some((g: { id: string }) => g.id === id)).toBe(true);
      const theirs = (await api(closed.url, '/api/dashboard', alice)).json;
      expect(theirs.graphs.some((g: { id: string }) => g.id === id)).toBe(false);
      expect((await api(c.url, '/api/dashboard', null)).json.graphs.some((g: { id: string }) => g.id === id)).toBe(true); // on loopback: everything
      expect((await api(c.url, '/dashboard/', null)).status).toBe(200);
    } finally {
      await closed.close();
    }
  });

  it('limits the request rate per token with a typed 429', async () => {
    const { spec: s2, drop: d2 } = await backend.create();
    const db = await openDatabase(s2);
    const tok = await createToken(db.db, 'requester');
    const limited = await startCoordinator({ db, port: 0, log: null, rateLimit: { max: 10, windowMs: 60_000 } });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 12; i++) statuses.push((await api(limited.url, '/v1/graphs', tok)).status);
      expect(statuses.slice(0, 10).every((s) => s === 200)).toBe(true);
      const r = await api(limited.url, '/v1/graphs', tok);
      expect(`${r.status} ${r.json.error.code}`).toBe('429 ERR_RATE_LIMIT');
    } finally {
      await limited.close();
      await db.close();
      await d2();
    }
  });

  it('replicas 2: a subgraph is decided only when providers of two tokens return the same bytes; one token alone never decides; a wrong result is outvoted and counted as disputed', async () => {
    // A coordinator of its own: no other test's graph hands its providers work.
    const { spec: spec2, drop: drop2 } = await backend.create();
    const c = await startCoordinator({ db: spec2, port: 0, log: null, leaseMs: LEASE_MS, heartbeatMs: 200, bytesPerSecond: 1e12, plan: 'per-step' });
    try {
      const alice = await createToken(c.db.db, 'requester');
      const prov = await createToken(c.db.db, 'provider');
      const prov2 = await createToken(c.db.db, 'provider');
      const cheatTok = await createToken(c.db.db, 'provider', 'cheat');
      const id = await upload(c, alice, rec);
      expect((await api(c.url, `/v1/graphs/${id}/execute`, alice, { method: 'POST', body: { replicas: 4 } })).json.error.code).toBe('ERR_BAD_REQUEST');
      expect((await api(c.url, `/v1/graphs/${id}/execute`, alice, { method: 'POST', body: { replicas: 2, x: 1 } })).json.error.code).toBe('ERR_BAD_REQUEST');
      expect((await api(c.url, `/v1/graphs/${id}/execute`, alice, { method: 'POST', body: { replicas: 2 } })).json.graph).toMatchObject({ status: 'running', replicas: 2 });
      const lies = new Set<string>();
      const corrupt = (outs: Awaited<ReturnType<FakeProvider['compute']>>) => {
        const bad = wrongBy1Bit(outs);
        for (const o of bad) lies.add(o.sha256);
        return bad;
      };
      // One token alone: its result is a vote, and the subgraph does not come back to it.
      const honest1 = await new FakeProvider(c.url, prov).connect();
      const first = await honest1.next();
      expect((await honest1.finish(first, await honest1.compute(first))).done.json.status).toBe('accepted');
      await expect(honest1.next(1500)).rejects.toThrow(/timed out/);
      expect((await api(c.url, `/v1/graphs/${id}`, alice)).json.graph.subgraphs_done).toBe(0);
      // A provider of another token returning other bytes does not decide it either.
      const cheat = await new FakeProvider(c.url, cheatTok).connect();
      const wrong = await cheat.next();
      expect(wrong.subgraph).toBe(first.subgraph);
      expect((await cheat.finish(wrong, corrupt(await cheat.compute(wrong)))).done.json.status).toBe('accepted');
      await expect(cheat.next(1000)).rejects.toThrow(/timed out/);
      expect((await api(c.url, `/v1/graphs/${id}`, alice)).json.graph.subgraphs_done).toBe(0);
      // A third token agreeing with the first decides it; then all three serve the rest, the cheater always wrong.
      const honest2 = await new FakeProvider(c.url, prov2).connect();
      const done = async () => (await api(c.url, `/v1/graphs/${id}`, alice)).json.graph.status === 'done';
      const work = async (p: FakeProvider, lie: boolean) => {
        for (let i = 0; i < 200 && !(await done()); i++) {
          let a: Assignment;
          try {
            a = await p.next(500);
          } catch {
            continue;
          }
          const outs = await p.compute(a);
          expect((await p.finish(a, lie ? corrupt(outs) : outs)).done.json.status).toBe('accepted');
        }
      };
      await Promise.all([work(honest1, false), work(honest2, false), work(cheat, true)]);
      expect(await done()).toBe(true);
      await expectLocalBits(c, alice, id);
      await c.state.idle();
      const subs = await c.db.db.selectFrom('subgraphs').select(['idx', 'done_by']).where('graph_id', '=', id).execute();
      expect(subs.length).toBeGreaterThan(1);
      for (const s of subs) expect([honest1.id, honest2.id]).toContain(s.done_by);
      // Every result comes from a lease of an honest token; every subgraph had done leases of two tokens or more.
      const leases = await c.db.db.selectFrom('leases').select(['id', 'idx', 'token', 'provider_id', 'state']).where('graph_id', '=', id).where('state', '=', 'done').execute();
      const resultLeases = await c.db.db.selectFrom('results').select('lease_id').where('graph_id', '=', id).execute();
      for (const r of resultLeases) expect(leases.find((l) => l.id === r.lease_id)?.provider_id).not.toBe(cheat.id);
      for (const s of subs) expect(new Set(leases.filter((l) => l.idx === s.idx).map((l) => l.token)).size).toBeGreaterThanOrEqual(2);
      const cheated = leases.filter((l) => l.provider_id === cheat.id).length;
      expect(cheated).toBeGreaterThan(0);
      await waitFor('the disputes to be counted', async () => (await c.db.db.selectFrom('providers').select('disputed').where('id', '=', cheat.id).executeTakeFirstOrThrow()).disputed === cheated);
      for (const p of [honest1, honest2]) expect((await c.db.db.selectFrom('providers').select('disputed').where('id', '=', p.id).executeTakeFirstOrThrow()).disputed).toBe(0);
      expect((await listTokens(c.db.db)).find((t) => t.label === 'cheat')).toMatchObject({ disputed: cheated, subgraphs_done: 0 });
      console.log(`replicas 2 (${backend.name}): ${subs.length} subgraphs decided by two honest tokens; the cheater's ${cheated} result(s) all disputed`);
      // The outvoted results were stored with their votes; housekeeping deletes them, and only them.
      expect(await storedBlobs(c, lies)).toBe(lies.size);
      expect((await c.state.maintain(0)).unclaimed).toBe(lies.size);
      expect(await storedBlobs(c, lies)).toBe(0);
      console.log(`replicas 2 (${backend.name}): housekeeping deleted the ${lies.size} outvoted result blobs`);
      await expectLocalBits(c, alice, id);
      for (const p of [honest1, honest2, cheat]) p.close();
    } finally {
      await c.close();
      await drop2();
    }
  });

  it('requesters share the providers: a small graph started behind another requester\'s large one runs at once, not after it', async () => {
    // A coordinator of its own, one provider with one slot: every assignment is a choice between the two graphs.
    const { spec: spec2, drop: drop2 } = await backend.create();
    const c = await startCoordinator({ db: spec2, port: 0, log: null, leaseMs: LEASE_MS, heartbeatMs: 200, bytesPerSecond: 1e12, plan: 'per-op' });
    const wide = (name: string, n: number): Recorded => {
      R.flush();
      new R.Graph({ name, algorithm: 'wide', approach: 'distributed' });
      const x = R.t([1, 2, 3, 4]);
      for (let i = 0; i < n; i++) R.add(x, i).persist_op(`v${i}`);
      R.activate();
      const g = R.Graph.current()!.data;
      R.flush();
      return recorded(g, new Map());
    };
    try {
      const big = await createToken(c.db.db, 'requester', 'big');
      const small = await createToken(c.db.db, 'requester', 'small');
      const prov = await createToken(c.db.db, 'provider');
      const bigId = await upload(c, big, wide('big', 20));
      expect((await api(c.url, `/v1/graphs/${bigId}/execute`, big, { method: 'POST', body: {} })).json.graph.status).toBe('running');
      const p = await new FakeProvider(c.url, prov).connect();
      const first = await p.next();
      expect(first.graph_id).toBe(bigId);
      // The small graph starts while the large one holds the only slot and has 19 subgraphs waiting.
      const smallId = await upload(c, small, wide('small', 2));
      expect((await api(c.url, `/v1/graphs/${smallId}/execute`, small, { method: 'POST', body: {} })).json.graph.status).toBe('running');
      const order: string[] = [first.graph_id];
      await p.finish(first, await p.compute(first));
      for (let i = 0; i < 21; i++) {
        const a = await p.next();
        order.push(a.graph_id);
        expect((await p.finish(a, await p.compute(a))).done.json).toEqual({ status: 'accepted' });
      }
      // The slot alternates while both wait: the small graph's two subgraphs are the 2nd and 4th assignments.
      expect(order.map((g) => (g === bigId ? 'B' : 's')).join('')).toBe('BsBs' + 'B'.repeat(18));
      for (const [id, tok, n] of [[bigId, big, 20], [smallId, small, 2]] as const) {
        const g = (await api(c.url, `/v1/graphs/${id}`, tok)).json;
        expect(g.graph).toMatchObject({ status: 'done', subgraphs_done: n });
        const v = await api(c.url, `/v1/graphs/${id}/persisted/v${n - 1}`, tok);
        expect(blobBits(v.bytes!).map((b) => new Float32Array(new Uint32Array([b]).buffer)[0])).toEqual([1, 2, 3, 4].map((e) => e + n - 1));
      }
      p.close();
    } finally {
      await c.close();
      await drop2();
    }
  });

  it('an ended graph keeps only its persisted results; graphs ended longer ago than keepGraphsMs are deleted, running ones never; uploads no graph named for keepGraphsMs are released, those a running graph reads never', async () => {
    const { spec: spec2, drop: drop2 } = await backend.create();
    const c = await startCoordinator({ db: spec2, port: 0, log: null, leaseMs: LEASE_MS, heartbeatMs: 200, bytesPerSecond: 1e12, plan: 'per-step', housekeepingMs: 100, keepGraphsMs: 0 });
    try {
      const alice = await createToken(c.db.db, 'requester');
      const p = await new FakeProvider(c.url, await createToken(c.db.db, 'provider')).connect();
      const id = await upload(c, alice, rec);
      await api(c.url, `/v1/graphs/${id}/execute`, alice, { method: 'POST', body: {} });
      await serve(c, p, alice, id);
      const persistedShas = async (gid: string) => new Set((await c.db.db.selectFrom('persisted').select('sha256').where('graph_id', '=', gid).execute()).map((r) => r.sha256));
      const results = async (gid: string) => (await c.db.db.selectFrom('results').select('sha256').where('graph_id', '=', gid).execute()).map((r) => r.sha256);
      const blobCount = async () => Number((await c.db.db.selectFrom('blobs').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
      // The housekeeping timer prunes it: only the results persisted values name are left, with their blobs.
      await waitFor('the ended graph to be pruned', async () => (await c.db.db.selectFrom('graphs').select('pruned_at').where('id', '=', id).executeTakeFirstOrThrow()).pruned_at !== null, 10_000);
      const kept = await persistedShas(id);
      const left = await results(id);
      expect(left.length).toBeGreaterThan(0);
      for (const sha of left) expect(kept.has(sha)).toBe(true);
      // Every output of every subgraph was a result (the weights and optimizer state each step hands on); the losses and the prediction are left.
      const outputs = (await c.db.db.selectFrom('subgraphs').select('outputs').where('graph_id', '=', id).execute()).reduce((n, r) => n + (JSON.parse(r.outputs) as unknown[]).length, 0);
      expect(left.length).toBe(kept.size);
      expect(outputs).toBeGreaterThan(3 * left.length);
      console.log(`housekeeping (${backend.name}): ${outputs} results stored during the run, ${left.length} kept once it ended (those persisted values name)`);
      await expectLocalBits(c, alice, id);
      expect(await c.state.maintain(0)).toEqual({ pruned: 0, deleted: 0, released: 0, unclaimed: 0 }); // nothing twice
      // Retention: the ended graph and one uploaded but never run go; a running one stays. The never-run one has constants of its own.
      const rec2 = await record(2);
      const own2 = [...rec2.blobs.keys()].filter((sha) => !rec.blobs.has(sha));
      expect(own2.length).toBeGreaterThan(0);
      const never = await upload(c, alice, rec2);
      const running = await upload(c, alice, rec);
      await api(c.url, `/v1/graphs/${running}/execute`, alice, { method: 'POST', body: {} });
      p.close();
      const before = await blobCount();
      await sleep(20);
      const swept = await c.state.maintain(10);
      expect(swept.deleted).toBe(2);
      expect(swept.released).toBe(own2.length); // rec's uploads are read by the running graph: kept
      for (const gid of [id, never]) expect((await api(c.url, `/v1/graphs/${gid}`, alice)).status).toBe(404);
      expect((await api(c.url, `/v1/graphs/${running}`, alice)).json.graph.status).toBe('running');
      expect(await results(id)).toEqual([]);
      expect(await blobCount()).toBeLessThan(before); // the persisted results' blobs went with their graph
      // Uploads a running graph reads stay: uploading its graph again needs no blob. Those no graph named for keepGraphsMs are gone.
      expect((await api(c.url, `/v1/graphs/${gid()}`, alice, { method: 'PUT', body: rec.doc })).json.missing).toEqual([]);
      expect(await c.db.db.selectFrom('blobs').select('sha256').where('sha256', 'in', own2).execute()).toEqual([]);
      expect(((await api(c.url, `/v1/graphs/${gid()}`, alice, { method: 'PUT', body: rec2.doc })).json.missing as string[]).sort()).toEqual([...own2].sort());
      await expect(startCoordinator({ db: spec2, port: 0, log: null, keepGraphsMs: -1 })).rejects.toThrow(/keepGraphsMs must be a number >= 0/);
    } finally {
      await c.close();
      await drop2();
    }
  });

  it('results uploaded over HTTP for a lease that then ended unused (its provider left) are deleted by housekeeping; those a lease still holds are not', async () => {
    const { spec: spec2, drop: drop2 } = await backend.create();
    const c = await startCoordinator({ db: spec2, port: 0, log: null, leaseMs: LEASE_MS, heartbeatMs: 200, bytesPerSecond: 1e12, plan: 'per-step', housekeepingMs: 3_600_000 });
    try {
      const alice = await createToken(c.db.db, 'requester');
      const ptok = await createToken(c.db.db, 'provider');
      const id = await upload(c, alice, rec);
      await api(c.url, `/v1/graphs/${id}/execute`, alice, { method: 'POST', body: {} });
      const leaving = await new FakeProvider(c.url, ptok).connect();
      const a = await leaving.next();
      const lost = wrongBy1Bit(await leaving.compute(a)); // other bytes than the lease's final results
      expect((await api(c.url, `/v1/leases/${a.lease}/results`, ptok, { method: 'PUT', raw: encodeBundle(lost) })).status).toBe(201);
      // While the lease is active its upload stays.
      expect((await c.state.maintain(0)).unclaimed).toBe(0);
      expect(await storedBlobs(c, lost.map((o) => o.sha256))).toBe(lost.length);
      leaving.close(); // the lease goes to another provider
      const p = await new FakeProvider(c.url, ptok).connect();
      await serve(c, p, alice, id);
      expect((await c.state.maintain(0)).unclaimed).toBe(lost.length);
      expect(await storedBlobs(c, lost.map((o) => o.sha256))).toBe(0);
      console.log(`unclaimed uploads (${backend.name}): housekeeping deleted the ${lost.length} results uploaded for the lease its provider left`);
      await expectLocalBits(c, alice, id);
      p.close();
    } finally {
      await c.close();
      await drop2();
    }
  });

  it('pruning never deletes a blob a running graph names but has not committed: the same results, uploaded for a lease of another graph before the prune and completed after it', async () => {
    const { spec: spec2, drop: drop2 } = await backend.create();
    const c = await startCoordinator({ db: spec2, port: 0, log: null, leaseMs: LEASE_MS, heartbeatMs: 200, bytesPerSecond: 1e12, plan: 'per-step', housekeepingMs: 3_600_000 });
    try {
      const alice = await createToken(c.db.db, 'requester');
      const ptok = await createToken(c.db.db, 'provider');
      const p = await new FakeProvider(c.url, ptok).connect();
      const a = await upload(c, alice, rec);
      await api(c.url, `/v1/graphs/${a}/execute`, alice, { method: 'POST', body: {} });
      await serve(c, p, alice, a);
      // The same graph again: its subgraphs compute A's results, byte for byte.
      const b = await upload(c, alice, rec);
      await api(c.url, `/v1/graphs/${b}/execute`, alice, { method: 'POST', body: {} });
      const first = await p.next();
      const outs = await p.compute(first);
      const ofA = new Set((await c.db.db.selectFrom('results').select('sha256').where('graph_id', '=', a).execute()).map((r) => r.sha256));
      const shared = outs.filter((o) => ofA.has(o.sha256));
      expect(shared.length).toBeGreaterThan(0);
      expect((await api(c.url, `/v1/leases/${first.lease}/results`, ptok, { method: 'PUT', raw: encodeBundle(outs) })).status).toBe(201);
      // A ended: pruning it would take the blobs only its results name, which B's lease has uploaded but not completed.
      expect((await c.state.maintain(0)).pruned).toBe(1);
      const done = await api(c.url, `/v1/leases/${first.lease}/complete`, ptok, { method: 'POST', body: { outputs: Object.fromEntries(outs.map((o) => [o.name, o.sha256])) } });
      expect(done.json).toEqual({ status: 'accepted' });
      await serve(c, p, alice, b);
      const rows = await c.db.db.selectFrom('results').leftJoin('blobs', 'blobs.sha256', 'results.sha256').select(['results.sha256 as sha', 'blobs.sha256 as stored']).where('results.graph_id', '=', b).execute();
      expect(rows.length).toBeGreaterThan(shared.length);
      expect(rows.filter((r) => r.stored === null).map((r) => r.sha)).toEqual([]);
      await expectLocalBits(c, alice, b);
      p.close();
    } finally {
      await c.close();
      await drop2();
    }
  });

  it('a revoked provider token: its connections close within about a second, its lease goes to another provider, and the token is refused everywhere', async () => {
    const doomed = await createToken(c.db.db, 'provider', 'doomed');
    const id = await upload(c, alice, rec);
    await api(c.url, `/v1/graphs/${id}/execute`, alice, { method: 'POST' });
    const p = await new FakeProvider(c.url, doomed).connect();
    const a = await p.next();
    const real = await startProvider({ server: c.url, token: doomed, threads: 1, log: null });
    await waitFor('the real provider to connect', async () => ((await api(c.url, '/api/dashboard', null)).json.providers as { id: string; connected: number }[]).some((x) => x.id === real.id && x.connected));
    // Another process revokes it, as `npx ravdl token revoke` does: on its own connection to the database.
    const other = await openDatabase(spec);
    const t0 = Date.now();
    try {
      const listed = (await listTokens(other.db)).find((t) => t.label === 'doomed')!;
      expect(listed).toMatchObject({ role: 'provider', revoked_at: null, providers: 2 });
      expect((await revokeToken(other.db, listed.id)).already).toBe(false);
      expect((await revokeToken(other.db, listed.id)).already).toBe(true);
    } finally {
      await other.close();
    }
    await waitFor('the connection to close', () => p.closed, 5000);
    console.log(`revoked provider token: connection closed after ${Date.now() - t0} ms (${backend.name})`);
    expect(p.closed!.code).toBe(4003);
    expect(p.messages.find((m) => m.type === 'error')).toMatchObject({ error: { code: 'ERR_UNAUTHORIZED', message: 'this provider token was revoked' } });
    // The real provider stops, saying why, rather than reconnecting again and again.
    await expect(within('the real provider to stop', 5000, real.done)).rejects.toMatchObject({ remoteCode: 'ERR_UNAUTHORIZED' });
    // Refused everywhere: the lease's inputs, its completion, a new connection.
    const refused = await api(c.url, `/v1/leases/${a.lease}/blobs`, doomed, { method: 'POST', body: { sha256: [a.blobs[0]!.sha256] } });
    expect(`${refused.status} ${refused.json.error.code} ${refused.json.error.message}`).toBe('401 ERR_UNAUTHORIZED this token was revoked');
    expect((await api(c.url, `/v1/leases/${a.lease}/complete`, doomed, { method: 'POST', body: { outputs: {} } })).status).toBe(401);
    const upgrade = await new Promise<string>((resolve) => {
      const ws = new WebSocket(c.url.replace('http', 'ws') + '/v1/provider', { headers: { authorization: `Bearer ${doomed}` } });
      ws.on('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve(`${res.statusCode} ${body}`));
      });
      ws.on('open', () => (resolve('101'), ws.close()));
      ws.on('error', () => {});
    });
    expect(upgrade).toMatch(/^401 .*this token was revoked/);
    // Its lease goes to another provider and the run ends with a local run's bits.
    const rescuer = await new FakeProvider(c.url, prov2).connect();
    const moved = await rescuer.next();
    expect(moved.subgraph).toBe(a.subgraph);
    expect((await rescuer.finish(moved, await rescuer.compute(moved))).done.json.status).toBe('accepted');
    await serve(c, rescuer, alice, id);
    await expectLocalBits(c, alice, id);
    rescuer.close();
    p.close();
  });

  it('a revoked requester token: its running graphs fail and its event stream says why, its requests get 401, and a token revoked while the coordinator was down fails its graph at the restart', async () => {
    const { spec: spec2, drop: drop2 } = await backend.create();
    const opts = { db: spec2, port: 0, log: null, bytesPerSecond: 1e12, plan: 'per-step' as const, revocationPollMs: 100 };
    let c1: Coordinator | null = await startCoordinator(opts);
    const other = await openDatabase(spec2);
    try {
      const tok = { carol: await createToken(c1.db.db, 'requester', 'carol'), dave: await createToken(c1.db.db, 'requester', 'dave'), erin: await createToken(c1.db.db, 'requester', 'erin') };
      const ids: Record<string, string> = {};
      for (const [who, t] of Object.entries(tok)) {
        ids[who] = await upload(c1, t, rec);
        expect((await api(c1.url, `/v1/graphs/${ids[who]}/execute`, t, { method: 'POST' })).json.graph.status).toBe('running'); // no provider: they stay running
      }
      const listed = await listTokens(other.db);
      const idOf = (label: string) => listed.find((t) => t.label === label)!.id;
      expect(listed.find((t) => t.label === 'carol')).toMatchObject({ role: 'requester', graphs: 1, revoked_at: null });
      const events = fetch(`${c1.url}/v1/graphs/${ids.carol}/events`, { headers: { authorization: `Bearer ${tok.carol}` } }).then((r) => r.text());
      await sleep(200); // the stream is open
      await revokeToken(other.db, idOf('carol'));
      const text = await within('the event stream to end', 5000, events);
      expect(text).toMatch(/event: end\ndata: \{[^\n]*"status":"failed"[^\n]*the requester's token was revoked/);
      const r = await api(c1.url, `/v1/graphs/${ids.carol}`, tok.carol);
      expect(`${r.status} ${r.json.error.code} ${r.json.error.message}`).toBe('401 ERR_UNAUTHORIZED this token was revoked');
      // Revoked while the coordinator is down: the graph fails as it starts; the others' graphs keep running.
      const port = c1.port;
      await c1.close();
      c1 = null;
      await revokeToken(other.db, idOf('dave'));
      c1 = await startCoordinator({ ...opts, port });
      await c1.state.idle();
      const status = async (id: string) => other.db.selectFrom('graphs').select(['status', 'error']).where('id', '=', id).executeTakeFirstOrThrow();
      expect(await status(ids.dave!)).toEqual({ status: 'failed', error: "the requester's token was revoked" });
      expect((await status(ids.erin!)).status).toBe('running');
      expect((await api(c1.url, `/v1/graphs/${ids.erin}`, tok.erin)).json.graph.status).toBe('running');
    } finally {
      await c1?.close();
      await other.close();
      await drop2();
    }
  });
});
