// Starts a worker thread from the TypeScript sources (a development checkout): registers tsx in
// this thread, then loads workerData.entry (the provider's worker.ts, the coordinator's
// plan-worker.ts). A built package loads their .js directly.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
