// Measures the coordinator's throughput (not a test; prints figures): S independent one-op
// subgraphs, P simulated providers in this process that answer each assignment at once with
// result blobs of the right shapes (zeros: results are not verified yet), on SQLite or PostgreSQL.
// Reports subgraphs per second and the assignment latency (completion sent -> next assignment).
//   node --import tsx test/ravenverse/measure-throughput.ts [--subgraphs 2000] [--providers 50] [--db postgres://...]
import { parseArgs } from 'node:util';
import * as R from '../../lib/index.js';
import { encodeBlob } from '../../lib/graph/format.js';
import { startCoordinator } from '../../lib/ravenverse/coordinator/server.js';
import { createToken } from '../../lib/ravenverse/db/tokens.js';
import { naivePartition } from '../../lib/ravenverse/partition.js';
import { type Assignment, encodeBundle } from '../../lib/ravenverse/protocol.js';
import { FakeProvider, api, backends, waitFor } from './helpers.js';

const { values } = parseArgs({ options: { subgraphs: { type: 'string' }, providers: { type: 'string' }, db: { type: 'string' } } });
const S = Number(values.subgraphs ?? 2000);
const P = Number(values.providers ?? 50);
const made = values.db ? null : await backends()[0]!.create();
const c = await startCoordinator({ db: values.db ?? made!.spec, port: 0, log: null, partitioner: (g) => naivePartition(g, 'per-op'), rateLimit: { max: 1e9, windowMs: 1000 } });
const token = await createToken(c.db.db, 'requester');
const ptoken = await createToken(c.db.db, 'provider');
const latencies: number[] = [];
let completed = 0;

/** Answers an assignment at once: zero blobs of the output shapes, uploaded, then the completion. */
async function answer(p: FakeProvider, a: Assignment): Promise<void> {
  const g = a.graph as { nodes: { outputs?: { shape: number[] }[] }[]; persist: { name: string; node: number; output: number }[] };
  const outs = g.persist.map((x) => {
    const { bytes, sha256 } = encodeBlob(g.nodes[x.node]!.outputs![x.output]!.shape, new Float32Array(g.nodes[x.node]!.outputs![x.output]!.shape.reduce((m, d) => m * d, 1)));
    return { name: x.name, sha256, bytes };
  });
  await api(c.url, `/v1/leases/${a.lease}/results`, ptoken, { method: 'PUT', raw: encodeBundle(outs) });
  const sent = performance.now();
  const r = await api(c.url, `/v1/leases/${a.lease}/complete`, ptoken, { method: 'POST', body: { outputs: Object.fromEntries(outs.map((o) => [o.name, o.sha256])) } });
  if (r.json.status !== 'accepted') throw new Error(JSON.stringify(r.json));
  completed++;
  (p as unknown as { sentAt: number }).sentAt = sent;
}

const { monitorEventLoopDelay } = await import('node:perf_hooks');
const lag = monitorEventLoopDelay({ resolution: 10 });
lag.enable();
const providers = await Promise.all(Array.from({ length: P }, () => new FakeProvider(c.url, ptoken).connect()));
try {
  R.initialize(token, { server: c.url });
  R.flush();
  new R.Graph({ name: 'wide', algorithm: 'throughput', approach: 'distributed' });
  const x = R.t(new Float32Array(4).fill(1));
  for (let i = 0; i < S; i++) R.add(x, i).persist_op(`v${i}`);
  R.activate();
  const t0 = performance.now();
  const run = R.execute();
  // Each simulated provider serves its assignments as they come (bounded by S in all).
  const loops = providers.map(async (p) => {
    for (let k = 0; completed < S && k < S; k++) {
      const a = await p.next(60_000).catch(() => null);
      if (!a) return;
      const sentAt = (p as unknown as { sentAt?: number }).sentAt;
      if (sentAt !== undefined) latencies.push(performance.now() - sentAt);
      await answer(p, a);
    }
  });
  await run;
  const ms = performance.now() - t0;
  await waitFor('all answered', () => completed >= S, 60_000);
  for (const p of providers) p.close();
  await Promise.all(loops);
  latencies.sort((a, b) => a - b);
  if (process.env.RAVDL_TRACE) console.log(`event loop delay p50 ${(lag.percentile(50) / 1e6).toFixed(1)} ms, p99 ${(lag.percentile(99) / 1e6).toFixed(1)} ms, max ${(lag.max / 1e6).toFixed(0)} ms`);
  const q = (f: number) => latencies[Math.min(latencies.length - 1, Math.floor(f * latencies.length))]!.toFixed(1);
  console.log(`${c.db.kind}: ${S} subgraphs on ${P} simulated providers in ${(ms / 1000).toFixed(1)} s: ${((S / ms) * 1000).toFixed(0)} subgraphs/s (upload and fetch of ${S} persisted values included); completion -> next assignment p50 ${q(0.5)} ms, p99 ${q(0.99)} ms`);
} finally {
  for (const p of providers) p.close();
  await c.close();
  await made?.drop();
}
