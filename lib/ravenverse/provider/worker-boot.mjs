// Starts the provider's worker thread from the TypeScript sources (a development checkout):
// registers tsx in this thread, then loads worker.ts. A built package loads worker.js directly.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
