// Measures the Ravenverse's per-subgraph overhead on loopback (not a test; prints figures):
// a chain of N tiny ops, one subgraph per op (naivePartition 'per-op'), run by P provider
// processes through a coordinator on SQLite or PostgreSQL; the time per subgraph is the whole
// run's time over N (assign, inputs down, compute, outputs up, complete, next assignment).
//   node --import tsx test/ravenverse/measure-overhead.ts [--n 300] [--providers 1] [--db postgres://...]
import { parseArgs } from 'node:util';
import * as R from '../../lib/index.js';
import { startCoordinator } from '../../lib/ravenverse/coordinator/server.js';
import { createToken } from '../../lib/ravenverse/db/tokens.js';
import { naivePartition } from '../../lib/ravenverse/partition.js';
import { Child, backends, waitFor } from './helpers.js';

const { values } = parseArgs({ options: { n: { type: 'string' }, providers: { type: 'string' }, db: { type: 'string' } } });
const N = Number(values.n ?? 300);
const P = Number(values.providers ?? 1);
const made = values.db ? null : await backends()[0]!.create();
const spec = values.db ?? made!.spec;
const c = await startCoordinator({ db: spec, port: 0, log: process.env.RAVDL_TRACE ? undefined : null, partitioner: (g) => naivePartition(g, 'per-op'), rateLimit: { max: 1e9, windowMs: 1000 } });
const token = await createToken(c.db.db, 'requester');
const ptoken = await createToken(c.db.db, 'provider');
const providers = Array.from({ length: P }, (_, i) => new Child(['provider', '--server', c.url, '--threads', '1', '--name', `m${i}`], { RAVDL_TOKEN: ptoken }));
try {
  await Promise.all(providers.map((p) => p.waitOutput(/connected to/)));
  R.initialize(token, { server: c.url });
  R.flush();
  new R.Graph({ name: 'chain', algorithm: 'overhead', approach: 'distributed' });
  let x = R.t(new Float32Array(16).fill(1));
  for (let i = 0; i < N; i++) x = R.add(x, 1);
  x.persist_op('end');
  R.activate();
  const t0 = performance.now();
  await R.execute();
  const ms = performance.now() - t0;
  const end = R.fetch_persisting_op('end').toArray() as number[];
  if (end[0] !== N + 1) throw new Error(`wrong result ${end[0]}`);
  const subs = await c.db.db.selectFrom('subgraphs').select('idx').execute();
  await waitFor('idle', () => true);
  if (process.env.RAVDL_TRACE) console.log(providers.map((p) => p.out).join('\n'));
  console.log(`${c.db.kind}: ${subs.length} subgraphs of one op on ${P} provider(s) in ${ms.toFixed(0)} ms: ${(ms / subs.length).toFixed(2)} ms per subgraph (upload, execute and download included)`);
} finally {
  await Promise.all(providers.map((p) => p.stop()));
  await c.close();
  await made?.drop();
}
