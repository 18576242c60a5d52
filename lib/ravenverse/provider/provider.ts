// A provider node: measures itself, connects to the coordinator's WebSocket, and runs the
// subgraphs it is assigned in worker threads: inputs that came inline with the assignment or
// were downloaded over HTTP, each checked against its SHA-256; outputs sent back as result blobs
// with the completion in one WebSocket frame (over HTTP when they are large), and kept until the
// coordinator says the result is recorded. Heartbeats name the leases in progress (finished ones
// awaiting that answer included); a lost connection is retried with exponential backoff, an
// unanswered completion is sent again when the coordinator resumes its lease, and work whose
// lease the coordinator no longer knows is dropped.
import { randomBytes } from 'node:crypto';
import { freemem, hostname, totalmem } from 'node:os';
import { Worker } from 'node:worker_threads';
import WebSocket from 'ws';
import { native } from '../../native/load.js';
import { randn } from '../../ops/creation.js';
import { matmul } from '../../ops/matmul.js';
import { sum } from '../../ops/reduce.js';
import { type Device, type DeviceLike, cudaIndex, resolveDevice } from '../../tensor/device.js';
import { tidy } from '../../tensor/scope.js';
import { RemoteError, Http } from '../http.js';
import {
  type Ack,
  type Assignment,
  type Capability,
  type Completed,
  type CoordinatorMessage,
  MAX_PROVIDER_MESSAGE,
  PROTOCOL,
  PROVIDER_WS_PATH,
  type ProviderMessage,
  decodeBundle,
  decodeFrame,
  encodeBundle,
  encodeFrame,
  messageBytes,
  sha256,
} from '../protocol.js';
import { HEARTBEAT_RANGE_MS, checkCoordinatorMessage, leaseOfAssignment } from './messages.js';
import { INLINE_MAX_NODES, type WorkerJob, type WorkerReply, isTiny, run, validateJob } from './worker.js';

export interface ProviderOptions {
  /** The coordinator's URL (http://host:port). */
  server: string;
  token: string;
  /** Engine threads (default: the pool's default, one per core). */
  threads?: number;
  /** Memory offered for one subgraph, bytes (default 80% of the free memory at start). */
  maxMemory?: number;
  /** Subgraphs run at once (default 1). */
  slots?: number;
  name?: string;
  /** Longest wait between reconnection attempts, ms (default 10,000). */
  maxBackoffMs?: number;
  /** How long a finished job keeps retrying its upload while the coordinator is unreachable, ms (default 60,000). */
  uploadRetryMs?: number;
  log?: ((line: string) => void) | null;
  /** 3 (default): as 2, answers riding on the next assignment; 2: inputs inline and results with the completion over the WebSocket; 1: over HTTP. */
  protocol?: 1 | 2 | 3;
  /** Where subgraphs run: 'cpu' (default), 'cuda' or 'cuda:N' (a DeviceError at start when it cannot be used). */
  device?: DeviceLike;
}

export interface Provider {
  id: string;
  capability: Capability;
  /** Resolves when the provider stops; rejects if the coordinator refuses its token. */
  done: Promise<void>;
  stop(): Promise<void>;
  /** Subgraphs completed and accepted so far. */
  readonly completed: number;
}

/**
 * Measures GFLOP/s and the memory on offer: on the CPU an FMA loop on `threads` threads and 80% of
 * the free memory; on a CUDA device a timed matmul there and 80% of the device's memory.
 */
export function measureCapability(threads: number, maxMemory: number | undefined, slots: number, device: Device = 'cpu'): Capability {
  const platform = `${process.platform}-${process.arch} node ${process.version}`;
  if (device === 'cpu') {
    const gflops = native().probe_fma_gflops(200, threads);
    const memory = Math.floor(Math.min(maxMemory ?? Infinity, freemem() * 0.8, totalmem()));
    return { gflops: Math.round(gflops * 10) / 10, memory_bytes: memory, threads, slots, platform, version: '0.1.0' };
  }
  const info = native().backendInfo().cuda.devices[cudaIndex(device)]!;
  const memory = Math.floor(Math.min(maxMemory ?? Infinity, info.memoryBytes * 0.8));
  return { gflops: Math.round(matmulGflops(device) * 10) / 10, memory_bytes: memory, threads, slots, platform, version: '0.1.0', device, device_name: info.name };
}

/** FP32 GFLOP/s of 512 x 512 matmuls on `device`, timed to the last value read back (about 0.1 s at most). */
function matmulGflops(device: Device): number {
  const n = 512;
  return tidy(() => {
    const a = randn([n, n], { device });
    sum(matmul(a, a)).item(); // warm-up: kernels loaded, buffers cached
    let runs = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < 50 && runs < 1000) {
      const c = matmul(a, a);
      sum(c).item(); // waits for the device
      c.dispose();
      runs++;
    }
    return (2 * n ** 3 * runs) / ((performance.now() - t0) / 1000) / 1e9;
  });
}

/** The worker script: TypeScript through tsx when running from the sources, JavaScript when built. */
function spawnWorker(): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./worker.js', import.meta.url));
  return new Worker(new URL('./worker-boot.mjs', import.meta.url), { workerData: { entry: new URL('./worker.ts', import.meta.url).href } });
}

interface Job {
  lease: string;
  abort: AbortController;
  worker: Worker | null;
  /** The completion frame sent and not answered yet (sent again when the coordinator resumes the lease). */
  completion: Buffer | null;
  answered: ((m: Completed) => void) | null;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Most leases a hello or heartbeat may name (the coordinator's schema). */
const MAX_NAMED_LEASES = 64;

// Subgraphs accepted faster than this are logged as a summary every 10 s, not one line each (thousands of tiny ones a second).
const QUIET_BELOW_MS = 100;

function quietSummary(log: (line: string) => void): { add(ms: number): void } {
  let n = 0;
  let total = 0;
  const flush = () => {
    log(`${n} subgraph(s) accepted in the last 10 s, each in under ${QUIET_BELOW_MS} ms (mean ${(total / n).toFixed(2)} ms)`);
    n = 0;
    total = 0;
  };
  return {
    add(ms: number) {
      if (n++ === 0) setTimeout(flush, 10_000).unref();
      total += ms;
    },
  };
}

export async function startProvider(opts: ProviderOptions): Promise<Provider> {
  const log = opts.log === undefined ? (line: string) => console.log(`[provider] ${line}`) : (opts.log ?? (() => {}));
  const quiet = quietSummary(log);
  const base = opts.server.replace(/\/+$/, '');
  const wsUrl = base.replace(/^http/, 'ws') + PROVIDER_WS_PATH;
  const http = new Http(base, opts.token);
  const threads = opts.threads ?? native().getNumThreads();
  native().setNumThreads(threads);
  const slots = opts.slots ?? 1;
  const device = resolveDevice('--device', opts.device ?? 'cpu');
  const capability = measureCapability(threads, opts.maxMemory, slots, device);
  const id = `p_${randomBytes(12).toString('base64url')}`;
  const name = opts.name ?? `${hostname()}-${process.pid}`;
  const maxBackoff = opts.maxBackoffMs ?? 10_000;
  const uploadRetryMs = opts.uploadRetryMs ?? 60_000;
  const wsProtocol = opts.protocol ?? PROTOCOL;
  const where = device === 'cpu' ? `${threads} thread(s)` : `${device} (${capability.device_name})`;
  log(`${name}: ${capability.gflops} GFLOP/s on ${where}, ${(capability.memory_bytes / 2 ** 20).toFixed(0)} MiB offered, ${slots} slot(s)`);

  const jobs = new Map<string, Job>();
  const idle: Worker[] = [];
  let jobSeq = 0;
  const pending = new Map<number, { resolve: (r: WorkerReply) => void; reject: (e: Error) => void }>();
  // A small cache of downloaded blobs: the dataset is read by every subgraph of a training run.
  const cache = new Map<string, Uint8Array>();
  let cacheBytes = 0;
  const CACHE_MAX = Math.min(256 * 2 ** 20, capability.memory_bytes / 4);
  let completed = 0;
  let stopping = false;
  let ws: WebSocket | null = null;
  let heartbeat: NodeJS.Timeout | null = null;
  let resolveDone!: () => void;
  let rejectDone!: (e: Error) => void;
  const done = new Promise<void>((res, rej) => ((resolveDone = res), (rejectDone = rej)));
  done.catch(() => {});

  const send = (m: ProviderMessage) => {
    if (ws?.readyState === WebSocket.OPEN) ws.send(JSON.stringify(m));
  };

  function wire(w: Worker): Worker {
    w.on('message', (r: WorkerReply) => {
      const p = pending.get(r.job);
      pending.delete(r.job);
      p?.resolve(r);
    });
    // An uncaught error ends the worker: its 'exit' fails the job it had.
    w.on('error', (err) => log(`worker thread error: ${err.message}`));
    return w;
  }
  const takeWorker = () => idle.pop() ?? wire(spawnWorker());

  async function compute(job: Job, a: Assignment, blobs: [string, Uint8Array][]): Promise<WorkerReply> {
    const msg: WorkerJob = { job: ++jobSeq, graph: a.graph, blobs, outputs: a.outputs, threads, maxMemory: capability.memory_bytes, maxNodes: 5_000_000, device };
    // A tiny subgraph (a few small ops) runs here: the hand-off to a worker thread and back would
    // cost more than its kernels, which cannot keep heartbeats waiting for long.
    const nodes = (a.graph as { nodes?: unknown }).nodes;
    if (Array.isArray(nodes) && nodes.length <= 4 * INLINE_MAX_NODES) {
      try {
        const g = validateJob(msg);
        if (isTiny(g)) return await run(msg, g);
      } catch (err) {
        const e = err as Error & { code?: string };
        return { job: msg.job, ok: false, error: { code: typeof e.code === 'string' ? e.code : 'ERR_INTERNAL', message: String(e.message ?? err).slice(0, 4000) } };
      }
    }
    const w = takeWorker();
    job.worker = w;
    const n = msg.job;
    const reply = await new Promise<WorkerReply>((resolve, reject) => {
      const entry = { resolve, reject };
      pending.set(n, entry);
      const onExit = (code: number) => {
        if (pending.get(n) === entry) (pending.delete(n), reject(new Error(`the worker thread exited (${code})`)));
      };
      w.once('exit', onExit);
      w.postMessage(msg);
      entry.resolve = (r) => (w.off('exit', onExit), resolve(r));
    });
    job.worker = null;
    if (!job.abort.signal.aborted) idle.push(w);
    return reply;
  }

  async function download(a: Assignment, inline: readonly { sha256: string; bytes: Uint8Array }[], signal: AbortSignal): Promise<[string, Uint8Array][]> {
    const got = new Map<string, Uint8Array>();
    for (const e of inline) {
      if (cache.has(e.sha256)) continue; // verified when it came (or made here): not hashed again
      const actual = sha256(e.bytes);
      if (actual !== e.sha256) throw new RemoteError(`inline blob ${e.sha256} arrived with SHA-256 ${actual}`, 0, 'ERR_HASH_MISMATCH');
      // A copy of its own: a view would keep (and a worker message would copy) the whole frame's memory.
      got.set(e.sha256, new Uint8Array(e.bytes));
    }
    const want = a.blobs.filter((b) => !cache.has(b.sha256) && !got.has(b.sha256)).map((b) => b.sha256);
    if (want.length) {
      const body = await http.bytes(`/v1/leases/${a.lease}/blobs`, { method: 'POST', body: { sha256: want }, retryMs: uploadRetryMs, signal });
      for (const e of decodeBundle(body)) {
        const actual = sha256(e.bytes);
        if (actual !== e.sha256 || !want.includes(e.sha256)) throw new RemoteError(`blob ${e.sha256} arrived with SHA-256 ${actual}`, 0, 'ERR_HASH_MISMATCH');
        got.set(e.sha256, e.bytes);
      }
    }
    return a.blobs.map((b) => {
      const bytes = cache.get(b.sha256) ?? got.get(b.sha256);
      if (!bytes) throw new RemoteError(`the coordinator did not send blob ${b.sha256}`, 0, 'ERR_MISSING_BLOBS');
      remember(b.sha256, bytes);
      return [b.sha256, bytes];
    });
  }

  /** Keeps a blob (verified input or own result) for later subgraphs, least recently used out first. */
  function remember(sha: string, bytes: Uint8Array): void {
    if (cache.delete(sha)) cacheBytes -= bytes.length;
    if (bytes.length > CACHE_MAX) return;
    cache.set(sha, bytes);
    cacheBytes += bytes.length;
    for (const [k, v] of cache) {
      if (cacheBytes <= CACHE_MAX) break;
      cache.delete(k);
      cacheBytes -= v.length;
    }
  }

  /** Sends a completion frame and waits for the coordinator's answer (sent again after a reconnection, see onMessage). */
  function completeOverWs(job: Job, frame: Buffer): Promise<Completed> {
    return new Promise<Completed>((resolve, reject) => {
      job.completion = frame;
      job.answered = resolve;
      job.abort.signal.addEventListener('abort', () => reject(new RemoteError(`lease ${job.lease}: cancelled while its result waited for an answer`, 0, 'ERR_ABORTED')), { once: true });
      if (ws?.readyState === WebSocket.OPEN) ws.send(frame, { binary: true });
    });
  }

  async function runJob(a: Assignment, inline: readonly { sha256: string; bytes: Uint8Array }[] = []): Promise<void> {
    const job: Job = { lease: a.lease, abort: new AbortController(), worker: null, completion: null, answered: null };
    jobs.set(a.lease, job);
    const signal = job.abort.signal;
    const t0 = performance.now();
    try {
      const blobs = await download(a, inline, signal);
      if (signal.aborted) return;
      const t1 = performance.now();
      const r = await compute(job, a, blobs);
      const t2 = performance.now();
      if (signal.aborted) return;
      if (!r.ok) {
        log(`lease ${a.lease} (subgraph ${a.subgraph}) failed: ${r.error.code}: ${r.error.message}`);
        send({ type: 'failed', lease: a.lease, error: r.error });
        return;
      }
      const distinct = [...new Map(r.outputs.map((o) => [o.sha256, o])).values()];
      // The next subgraph of a chain often reads these: no need to download them again.
      for (const o of distinct) remember(o.sha256, o.bytes);
      const outputs = Object.fromEntries(r.outputs.map((o) => [o.name, o.sha256]));
      const frame = encodeFrame({ type: 'complete', lease: a.lease, outputs }, distinct);
      let t3 = performance.now();
      let status: string;
      if (wsProtocol >= 2 && frame.length <= MAX_PROVIDER_MESSAGE) {
        // Results and completion in one message, answered once the coordinator has recorded them.
        const ans = await completeOverWs(job, frame);
        if ('error' in ans) throw new RemoteError(`coordinator: completion of lease ${a.lease}: ${ans.error.code}: ${ans.error.message}`, 409, ans.error.code);
        status = ans.status;
      } else {
        await http.request(`/v1/leases/${a.lease}/results`, { method: 'PUT', body: encodeBundle(distinct), retryMs: uploadRetryMs, signal });
        t3 = performance.now();
        status = (await http.json<{ status: string }>(`/v1/leases/${a.lease}/complete`, { method: 'POST', body: { outputs }, retryMs: uploadRetryMs, signal })).status;
      }
      const res = { status };
      if (res.status === 'accepted') completed++;
      const t4 = performance.now();
      const ms = (x: number) => x.toFixed(1);
      if (res.status !== 'accepted' || t4 - t0 >= QUIET_BELOW_MS)
        log(`subgraph ${a.subgraph} of graph ${a.graph_id}: ${res.status} in ${ms(t4 - t0)} ms (inputs ${ms(t1 - t0)}, worker ${ms(t2 - t1)} of which running ${ms(r.ms)}, results ${ms(t3 - t2)}, complete ${ms(t4 - t3)})`);
      else quiet.add(t4 - t0);
    } catch (err) {
      if (signal.aborted) return;
      const e = err as RemoteError;
      if (e.remoteCode === 'ERR_LEASE_ENDED' || e.status === 404) log(`lease ${a.lease}: ${e.message} (dropped)`);
      else {
        log(`lease ${a.lease} failed: ${e.message}`);
        send({ type: 'failed', lease: a.lease, error: { code: e.remoteCode ?? e.code ?? 'ERR_INTERNAL', message: e.message } });
      }
    } finally {
      jobs.delete(a.lease);
    }
  }

  function cancel(lease: string, why: string): void {
    const job = jobs.get(lease);
    if (!job) return;
    log(`lease ${lease} cancelled: ${why}`);
    job.abort.abort();
    // A worker busy with cancelled work is replaced (terminating it mid-kernel is safe).
    if (job.worker) void job.worker.terminate();
    jobs.delete(lease);
  }

  /** The coordinator's answer to a completion: the job waiting for it goes on. */
  function answered(a: Ack): void {
    const job = jobs.get(a.lease);
    // ERR_UNAVAILABLE: not recorded; the coordinator reconnects us and it goes again after the welcome.
    if (job?.answered && !('error' in a && a.error.code === 'ERR_UNAVAILABLE')) {
      job.completion = null;
      job.answered({ type: 'completed', ...a });
    }
  }

  function onMessage(m: CoordinatorMessage, inline: { sha256: string; bytes: Uint8Array }[] = []): void {
    if (m.type === 'welcome') {
      backoff = 250;
      for (const lease of [...jobs.keys()]) if (!m.resumed.includes(lease)) cancel(lease, 'the coordinator no longer holds its lease');
      // Completions the coordinator never answered: it still holds their leases, so they go again.
      for (const job of jobs.values()) if (job.completion) ws?.send(job.completion, { binary: true });
      if (heartbeat) clearInterval(heartbeat);
      heartbeat = setInterval(() => send({ type: 'heartbeat', leases: namedLeases() }), Math.min(HEARTBEAT_RANGE_MS[1], Math.max(HEARTBEAT_RANGE_MS[0], m.heartbeat_ms)));
      log(`connected to ${base} as ${id}`);
    } else if (m.type === 'assign') {
      if (Array.isArray(m.acks)) for (const a of m.acks) answered(a);
      if (jobs.has(m.lease)) return;
      void runJob(m, inline);
    } else if (m.type === 'completed') {
      answered(m);
    } else if (m.type === 'acks') {
      if (Array.isArray(m.acks)) for (const a of m.acks) answered(a);
    } else if (m.type === 'cancel') {
      cancel(m.lease, m.reason);
    } else if (m.type === 'error') {
      log(`coordinator: ${m.error.code}: ${m.error.message}`);
      if (m.error.code === 'ERR_PROTOCOL' || m.error.code === 'ERR_UNAUTHORIZED') {
        // Reconnecting would be refused again (another protocol, a revoked token): stop, saying why.
        stopping = true;
        rejectDone(new RemoteError(`the coordinator refused this provider: ${m.error.message}`, m.error.code === 'ERR_UNAUTHORIZED' ? 401 : 0, m.error.code));
        void shutdown();
      }
    }
  }

  /**
   * The leases named in hello and heartbeats, at most MAX_NAMED_LEASES (the coordinator refuses
   * longer lists): those still computing first, then finished ones awaiting their answer (when
   * commits are slow, a chain of tiny subgraphs piles these up). One left out is dropped at the
   * next welcome and simply redone.
   */
  function namedLeases(): string[] {
    const running = [...jobs.values()].filter((j) => !j.completion).map((j) => j.lease);
    const waiting = [...jobs.values()].filter((j) => j.completion).map((j) => j.lease);
    return [...running, ...waiting].slice(0, MAX_NAMED_LEASES);
  }

  let backoff = 250;
  function connect(): void {
    if (stopping) return;
    const sock = new WebSocket(wsUrl, { headers: { authorization: `Bearer ${opts.token}` }, maxPayload: 2 ** 30, handshakeTimeout: 10_000 });
    ws = sock;
    sock.on('open', () => send({ type: 'hello', provider_id: id, name, capability, leases: namedLeases(), protocol: wsProtocol }));
    sock.on('message', (data, isBinary) => {
      const buf = messageBytes(data);
      let m: CoordinatorMessage;
      let inline: { sha256: string; bytes: Uint8Array }[] = [];
      try {
        if (isBinary) {
          const f = decodeFrame(buf);
          m = f.header as CoordinatorMessage;
          inline = f.blobs;
        } else m = JSON.parse(buf.toString());
      } catch {
        return log('a message from the coordinator is not a JSON text or a frame (ignored)');
      }
      const checked = checkCoordinatorMessage(m);
      if (!checked.ok) {
        // An assignment it cannot read is reported failed (the coordinator gives it to another); anything else is dropped.
        const lease = leaseOfAssignment(m);
        log(`a malformed message from the coordinator (${checked.why}): ${lease ? `lease ${lease} reported failed` : 'ignored'}`);
        if (lease && !jobs.has(lease)) send({ type: 'failed', lease, error: { code: 'ERR_BAD_REQUEST', message: `the assignment is malformed: ${checked.why}` } });
        return;
      }
      onMessage(checked.message, inline);
    });
    sock.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()).length > 4096 && res.destroy());
      res.on('end', () => {
        sock.terminate();
        if (res.statusCode === 401 || res.statusCode === 403) {
          let reason = body;
          try {
            const e = JSON.parse(body).error;
            reason = `${e.code}: ${e.message}`;
          } catch {
            /* not JSON */
          }
          const msg = `the coordinator refused this provider (${res.statusCode}): ${reason}`;
          log(msg);
          stopping = true;
          rejectDone(new RemoteError(msg, res.statusCode, res.statusCode === 401 ? 'ERR_UNAUTHORIZED' : 'ERR_FORBIDDEN'));
          void shutdown();
        }
      });
    });
    sock.on('error', () => {});
    sock.on('close', () => {
      if (heartbeat) clearInterval(heartbeat);
      heartbeat = null;
      if (ws === sock) ws = null;
      if (stopping) return;
      const wait = backoff * (0.5 + Math.random() / 2);
      backoff = Math.min(backoff * 2, maxBackoff);
      setTimeout(connect, wait);
    });
  }

  async function shutdown(): Promise<void> {
    stopping = true;
    if (heartbeat) clearInterval(heartbeat);
    for (const lease of [...jobs.keys()]) cancel(lease, 'the provider stops');
    ws?.close(1000, 'provider stopping');
    await Promise.all([...idle.splice(0)].map((w) => w.terminate()));
    await sleep(0);
    resolveDone();
  }

  connect();
  return {
    id,
    capability,
    done,
    stop: async () => {
      await shutdown();
      await done.catch(() => {});
    },
    get completed() {
      return completed;
    },
  };
}
