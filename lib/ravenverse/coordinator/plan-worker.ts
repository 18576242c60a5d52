// The coordinator's planning thread (plan.ts): plans the graphs it is sent, one at a time, off the
// coordinator's event loop.
import { parentPort } from 'node:worker_threads';
// Registers every op of the catalog, which the cost model and the batch split read.
import '../../ops/index.js';
import { type PlanReply, type PlanRequest, makePlan } from './plan.js';

parentPort?.on('message', (m: PlanRequest) => {
  let reply: PlanReply;
  try {
    reply = { id: m.id, ok: true, result: makePlan(m.graph, m.opts, m.maxNodes) };
  } catch (err) {
    const e = err as Error & { code?: unknown };
    reply = { id: m.id, ok: false, error: { code: typeof e.code === 'string' ? e.code : 'ERR_INTERNAL', message: String(e.message ?? err).slice(0, 4000) } };
  }
  parentPort!.postMessage(reply);
});
