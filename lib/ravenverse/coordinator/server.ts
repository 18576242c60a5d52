// The coordinator: a fastify HTTP API for requesters and providers, the providers' WebSocket
// channel, the dashboard, and the timers that expire leases. Loopback by default.
//
// Requesters (requester token):
//   PUT    /v1/graphs/:id                 graph.json (validated) -> { graph, missing: [sha256] }
//   HEAD   /v1/blobs/:sha                 200 if uploaded, else 404 with upload-offset
//   PUT    /v1/blobs/:sha                 bytes (application/octet-stream); resumable with
//                                         upload-offset / upload-length headers; hash verified
//   GET    /v1/blobs/:sha                 an uploaded blob or a result of one's graphs
//   POST   /v1/graphs/:id/execute         partitions and queues the subgraphs
//   GET    /v1/graphs, /v1/graphs/:id     summaries (with the persisted names and their blobs)
//   GET    /v1/graphs/:id/events          server-sent events: progress, persisted, end
//   GET    /v1/graphs/:id/persisted/:name the value's result blob (409 ERR_NOT_READY before)
//   POST   /v1/graphs/:id/persisted       { names: [...] }: several values' blobs, as a bundle
//   DELETE /v1/graphs/:id, /v1/graphs     delete one graph, or all of one's graphs (flush)
// Providers (provider token):
//   WS     /v1/provider                   hello, assign, heartbeat, failed, cancel; protocol 2:
//                                         complete (binary, results inline) -> completed;
//                                         protocol 3: the answers ride on the next assign
//   GET    /v1/leases/:lease/blobs/:sha   an input of the lease (POST /v1/leases/:lease/blobs
//                                         { sha256: [...] }: several, as a bundle)
//   PUT    /v1/leases/:lease/results/:sha a result blob of the lease (PUT .../results: a bundle)
//   POST   /v1/leases/:lease/complete     { outputs: { "<node>:<output>": sha256 } }
// Anyone: GET /v1/health; the dashboard page at /dashboard/ and its data at /api/dashboard.
import { existsSync, readFileSync } from 'node:fs';
import { naivePartition } from '../partition.js';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ServerResponse } from 'node:http';
import rateLimit from '@fastify/rate-limit';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import { type Db, openDatabase } from '../db/open.js';
import type { Journal } from '../db/journal.js';
import { findToken, revokedTokens, tokenId } from '../db/tokens.js';
import { MAX_FEDERATED_COLUMNS } from '../../graph/federated.js';
import type { Contribution } from './federated.js';
import { ACK_DELAY_MS, API, ID_RE, LENGTH_HEADER, MAX_PROVIDER_MESSAGE, OFFSET_HEADER, SHA256_RE, SHA_HEADER, decodeBundle, encodeBundle, sha256 } from '../protocol.js';
import { ApiError, badRequest, forbidden } from './errors.js';
import { CoordinatorState, type GraphEvent, type StateOptions } from './state.js';
import { ProviderChannel } from './ws.js';

export interface CoordinatorOptions {
  /** SQLite file or postgres:// URL (default ravdl-coordinator.db in the working directory). */
  db?: string | Db;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  leaseMs?: number;
  /** Longest a lease can be kept by heartbeats, ms (default 30 minutes). */
  maxLeaseMs?: number;
  heartbeatMs?: number;
  /** Longest a committed completion's answer waits for an assignment to ride on, protocol 3 (default ACK_DELAY_MS). */
  ackDelayMs?: number;
  maxFailures?: number;
  /** The partitioner's assumed bandwidth to providers, bytes/s (default 1e8). */
  bytesPerSecond?: number;
  /** The partitioner's assumed provider speed, FLOP/s (default: the median of the connected providers' measured speeds). */
  flopsPerSecond?: number;
  /** Whether the partitioner may split training steps along the batch when its cost model says it pays (default true). */
  dataParallel?: boolean;
  /** Longest estimated compute time of one subgraph, seconds (default 2): smaller means more, shorter subgraphs. */
  maxSubgraphSeconds?: number;
  /**
   * How graphs are split: 'auto' (default: the partitioner's cost model), or the naive plans
   * 'per-step' (one subgraph per training step) and 'per-op'.
   */
  plan?: 'auto' | 'per-step' | 'per-op';
  /** Another partitioner (benchmarks, tests): GraphData -> Subgraph[] in dependency order. */
  partitioner?: StateOptions['partitioner'];
  /** Graphs of this many nodes or more are planned in a worker thread, off the event loop (default 2000). */
  planInWorkerNodes?: number;
  /** Writes the group commits (default: db/journal.ts on the database; tests give one that fails). */
  journal?: (store: Db) => Journal;
  /** Largest graph.json accepted, bytes (default 256 MiB). */
  maxGraphBytes?: number;
  maxNodes?: number;
  maxValueBytes?: number;
  /** Largest blob (one tensor), bytes (default 512 MiB). */
  maxBlobBytes?: number;
  /** Largest body of one blob PUT, bytes (default 16 MiB; bigger blobs come in parts). */
  maxChunkBytes?: number;
  /** Requests per window per token (or per address without one). */
  rateLimit?: { max: number; windowMs: number };
  /** How often the database is checked for revoked tokens, ms (default 1000). */
  revocationPollMs?: number;
  /**
   * How long a graph is kept after it ended (or after its upload, if it never ran), and a
   * requester's upload after a graph last named it, ms (default 30 days; 0: kept until its
   * requester deletes it). Its requester's R.flush() deletes a graph sooner.
   */
  keepGraphsMs?: number;
  /** How often housekeeping runs (ended graphs pruned and, past keepGraphsMs, deleted; stale uploads dropped; unclaimed result blobs deleted), ms (default 60,000). */
  housekeepingMs?: number;
  /** Whether /api/dashboard shows every graph without a token (default: when bound to loopback). */
  dashboardPublic?: boolean;
  log?: ((line: string) => void) | null;
}

export interface Coordinator {
  url: string;
  port: number;
  state: CoordinatorState;
  db: Db;
  close(): Promise<void>;
}

const DEFAULTS = {
  host: '127.0.0.1',
  port: 8080,
  leaseMs: 4000, // with expiry checked every 0.5 s, a silent provider's work moves within 4.5 s (goal: 5 s)
  maxLeaseMs: 30 * 60_000,
  heartbeatMs: 1000,
  ackDelayMs: ACK_DELAY_MS,
  maxFailures: 3,
  bytesPerSecond: 1e8,
  maxGraphBytes: 256 * 2 ** 20,
  maxNodes: 1_000_000,
  maxValueBytes: 2 ** 30,
  maxBlobBytes: 512 * 2 ** 20,
  maxChunkBytes: 16 * 2 ** 20,
  rateLimit: { max: 5000, windowMs: 10_000 },
  revocationPollMs: 1000,
  keepGraphsMs: 30 * 86_400_000,
  housekeepingMs: 60_000,
};

/** How often a graph's event stream writes at most, ms. */
const EVENT_INTERVAL_MS = 100;
const isLoopback = (host: string) => host === 'localhost' || host === '::1' || host.startsWith('127.');
const here = dirname(fileURLToPath(import.meta.url));
/** The dashboard's static files: beside this module in the sources; from dist/ravenverse/coordinator/, the package's lib/ (package.json `files` ships lib). */
const DASHBOARD_DIRS = [join(here, 'dashboard'), join(here, '..', '..', '..', 'lib', 'ravenverse', 'coordinator', 'dashboard'), join(here, '..', '..', '..', '..', 'lib', 'ravenverse', 'coordinator', 'dashboard')];
/** The folder the dashboard's files are served from (undefined when none has index.html). */
export const dashboardDir = (): string | undefined => DASHBOARD_DIRS.find((d) => existsSync(join(d, 'index.html')));
/** The page loads only its own files and data: no inline script or style, nothing from elsewhere, not framed. */
const DASHBOARD_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};
const STATIC_TYPES: Record<string, string> = { html: 'text/html; charset=utf-8', js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8', svg: 'image/svg+xml', png: 'image/png', json: 'application/json' };

const params = (props: Record<string, object>) => ({ type: 'object', required: Object.keys(props), properties: props });
const idParam = { type: 'string', pattern: ID_RE.source };
const shaParam = { type: 'string', pattern: SHA256_RE.source };
const leaseParam = { type: 'string', pattern: '^[0-9a-f-]{36}$' };

export async function startCoordinator(options: CoordinatorOptions = {}): Promise<Coordinator> {
  const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as CoordinatorOptions;
  const o = { ...DEFAULTS, ...given };
  for (const k of ['keepGraphsMs', 'housekeepingMs'] as const) if (!(o[k] >= 0)) throw new RangeError(`startCoordinator: ${k} must be a number >= 0, got ${o[k]}`);
  const log = options.log === undefined ? (line: string) => console.log(`[coordinator] ${line}`) : (options.log ?? (() => {}));
  const store = typeof o.db === 'object' ? o.db : await openDatabase(o.db ?? 'ravdl-coordinator.db');
  const state = new CoordinatorState(store, {
    leaseMs: o.leaseMs,
    maxLeaseMs: o.maxLeaseMs,
    maxFailures: o.maxFailures,
    bytesPerSecond: o.bytesPerSecond,
    flopsPerSecond: o.flopsPerSecond,
    dataParallel: o.dataParallel,
    maxSubgraphSeconds: o.maxSubgraphSeconds,
    partitioner: o.partitioner ?? (o.plan === 'per-step' || o.plan === 'per-op' ? (g) => naivePartition(g, o.plan as 'per-step' | 'per-op') : undefined),
    planInWorkerNodes: o.planInWorkerNodes,
    maxNodes: o.maxNodes,
    maxValueBytes: o.maxValueBytes,
    maxBlobBytes: o.maxBlobBytes,
    maxPendingUploads: 32,
    journal: o.journal?.(store),
    log,
  });
  await state.recover();

  // Tokens are looked up by hash; a short cache keeps the database off the hot path (the revocation
  // poll below drops a revoked token from it).
  const tokenCache = new Map<string, { hash: string; role: string; revoked: boolean; at: number }>();
  const authenticate = async (token: string | null) => {
    if (!token) return null;
    const key = sha256(token);
    const hit = tokenCache.get(key);
    if (hit !== undefined && Date.now() - hit.at < 10_000) return hit;
    const row = await findToken(store.db, token);
    if (tokenCache.size > 10_000) tokenCache.clear();
    const entry = row ? { hash: row.hash, role: row.role, revoked: row.revoked_at !== null, at: Date.now() } : null;
    if (entry) tokenCache.set(key, entry);
    return entry;
  };
  const bearer = (req: FastifyRequest): string | null => /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1] ?? null;
  const auth = async (req: FastifyRequest, role: 'requester' | 'provider'): Promise<string> => {
    const token = bearer(req);
    const tok = await authenticate(token);
    if (!tok) throw new ApiError(401, 'ERR_UNAUTHORIZED', token ? 'unknown token' : `missing token: send Authorization: Bearer <${role} token>`);
    if (tok.revoked) throw new ApiError(401, 'ERR_UNAUTHORIZED', 'this token was revoked');
    if (tok.role !== role) throw forbidden(`this needs a ${role} token, not a ${tok.role} token`);
    return tok.hash;
  };

  const app = Fastify({
    logger: false,
    bodyLimit: 8 * 2 ** 20,
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
    return503OnClosing: true,
    forceCloseConnections: true, // close() does not wait for clients' keep-alive sockets (a browser tab on the dashboard)
  });
  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer', bodyLimit: o.maxChunkBytes }, (_req, body, done) => done(null, body));

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string; validation?: unknown }, _req, reply) => {
    let status = 500;
    let code = 'ERR_INTERNAL';
    let message = err.message;
    if (err instanceof ApiError) {
      status = err.status;
      code = err.code;
      for (const [k, v] of Object.entries(err.headers)) reply.header(k, v);
    } else if (err.validation) {
      status = 400;
      code = 'ERR_BAD_REQUEST';
    } else if (err.statusCode === 413) {
      status = 413;
      code = 'ERR_TOO_LARGE';
    } else if (err.statusCode === 415) {
      status = 415;
      code = 'ERR_MEDIA_TYPE';
    } else if (err.statusCode === 429) {
      status = 429;
      code = 'ERR_RATE_LIMIT';
    } else if (err.code?.startsWith('FST_ERR_CTP') || err instanceof SyntaxError) {
      status = 400;
      code = 'ERR_BAD_JSON';
    } else if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
      status = err.statusCode;
      code = 'ERR_BAD_REQUEST';
    } else {
      log(`internal error: ${err.stack ?? err.message}`);
      message = 'internal error (logged by the coordinator)';
    }
    reply.code(status).type('application/json').send({ error: { code, message } });
  });
  app.setNotFoundHandler((req, reply) => reply.code(404).send({ error: { code: 'ERR_NOT_FOUND', message: `no route ${req.method} ${req.url.split('?')[0]}` } }));

  await app.register(rateLimit, {
    global: true,
    max: o.rateLimit.max,
    timeWindow: o.rateLimit.windowMs,
    keyGenerator: (req) => {
      const t = bearer(req);
      return t ? `t:${sha256(t)}` : `ip:${req.ip}`;
    },
    errorResponseBuilder: (_req, ctx) => new ApiError(429, 'ERR_RATE_LIMIT', `more than ${ctx.max} requests in ${o.rateLimit.windowMs} ms; retry in ${ctx.after}`),
  });

  if (process.env.RAVDL_TRACE) app.addHook('onResponse', async (req, reply) => log(`${req.method} ${req.url.slice(0, 60)} ${reply.statusCode} ${reply.elapsedTime.toFixed(1)} ms`));
  const limits = { max_graph_bytes: o.maxGraphBytes, max_blob_bytes: o.maxBlobBytes, max_chunk_bytes: o.maxChunkBytes, max_nodes: o.maxNodes };
  app.get(`${API}/health`, async () => ({ ok: true, db: store.kind, providers: [...state.providers.values()].filter((p) => p.open).length, limits }));

  // ---------------------------------------------------------------- requesters
  app.put<{ Params: { id: string }; Body: unknown }>(
    `${API}/graphs/:id`,
    {
      bodyLimit: o.maxGraphBytes,
      schema: {
        params: params({ id: idParam }),
        body: {
          type: 'object',
          required: ['format', 'version', 'name', 'algorithm', 'approach', 'nodes', 'persist'],
          properties: {
            format: { const: 'ravdl-graph' },
            version: { type: 'integer' },
            name: { type: 'string', maxLength: 1000 },
            algorithm: { type: 'string', maxLength: 1000 },
            approach: { type: 'string' },
            nodes: { type: 'array', maxItems: o.maxNodes },
            persist: { type: 'array', maxItems: o.maxNodes },
          },
        },
      },
    },
    async (req, reply) => {
      const owner = await auth(req, 'requester');
      const r = await state.putGraph(owner, req.params.id, req.body);
      reply.code(r.created ? 201 : 200);
      return { graph: r.graph, missing: r.missing, limits };
    },
  );

  app.get(`${API}/graphs`, async (req) => ({ graphs: await state.listGraphs(await auth(req, 'requester')) }));

  app.get<{ Params: { id: string } }>(`${API}/graphs/:id`, { schema: { params: params({ id: idParam }) } }, async (req) => {
    const owner = await auth(req, 'requester');
    return { graph: await state.summary(owner, req.params.id), persisted: await state.persistedList(owner, req.params.id) };
  });

  // { replicas: k } (optional): each subgraph's results are taken once providers of k different tokens agree.
  // (Checked here rather than by a body schema: a request without a body is the common case.)
  app.post<{ Params: { id: string }; Body: unknown }>(`${API}/graphs/:id/execute`, { schema: { params: params({ id: idParam }) } }, async (req) => {
    const owner = await auth(req, 'requester');
    const body = req.body ?? {};
    if (typeof body !== 'object' || Array.isArray(body) || Object.keys(body).some((k) => k !== 'replicas')) throw badRequest('the body of execute is empty or { replicas }');
    return { graph: await state.execute(owner, req.params.id, { replicas: (body as { replicas?: number }).replicas }) };
  });

  app.delete<{ Params: { id: string } }>(`${API}/graphs/:id`, { schema: { params: params({ id: idParam }) } }, async (req) => {
    const owner = await auth(req, 'requester');
    await state.deleteGraph(owner, req.params.id);
    return { deleted: [req.params.id] };
  });

  app.delete(`${API}/graphs`, async (req) => {
    const owner = await auth(req, 'requester');
    const graphs = await state.listGraphs(owner);
    for (const g of graphs) await state.deleteGraph(owner, g.id);
    return { deleted: graphs.map((g) => g.id) };
  });

  app.get<{ Params: { id: string; name: string } }>(`${API}/graphs/:id/persisted/:name`, { schema: { params: params({ id: idParam, name: { type: 'string', minLength: 1, maxLength: 1000 } }) } }, async (req, reply) => {
    const owner = await auth(req, 'requester');
    const b = await state.persistedBlob(owner, req.params.id, req.params.name);
    return reply.type('application/octet-stream').header(SHA_HEADER, b.sha256).send(b.data);
  });

  // Several persisted values in one answer (a bundle, each blob once): the client fetches them in groups.
  app.post<{ Params: { id: string }; Body: { names: string[] } }>(
    `${API}/graphs/:id/persisted`,
    {
      schema: {
        params: params({ id: idParam }),
        body: { type: 'object', additionalProperties: false, required: ['names'], properties: { names: { type: 'array', minItems: 1, maxItems: 10_000, items: { type: 'string', minLength: 1, maxLength: 1000 } } } },
      },
    },
    async (req, reply) => {
      const owner = await auth(req, 'requester');
      return reply.type('application/octet-stream').send(encodeBundle(await state.persistedBlobs(owner, req.params.id, req.body.names)));
    },
  );

  const streams = new Set<ServerResponse>();
  app.get<{ Params: { id: string } }>(`${API}/graphs/:id/events`, { schema: { params: params({ id: idParam }) } }, async (req, reply) => {
    const owner = await auth(req, 'requester');
    const id = req.params.id;
    await state.summary(owner, id); // 403/404 before the stream starts
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    streams.add(raw);
    let ended = false;
    // Events leave in one write at most every EVENT_INTERVAL_MS (at once after a quiet spell), the
    // latest progress standing for those before it: a write wakes the requester's process, and a
    // chain of small subgraphs commits (and so reports) every millisecond or so.
    let announced: string[] = [];
    let progress: string | null = null;
    let lastWrite = 0;
    let timer: NodeJS.Timeout | null = null;
    const flush = () => {
      if (timer) clearTimeout(timer);
      timer = null;
      lastWrite = Date.now();
      if (ended || raw.destroyed || (!announced.length && progress === null)) return;
      raw.write(announced.join('') + (progress ?? ''));
      announced = [];
      progress = null;
    };
    const write = (event: string, data: unknown) => {
      if (ended || raw.destroyed) return;
      const text = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
      if (event === 'progress') progress = text;
      else {
        if (event === 'end') progress = null; // it carries the last summary, and comes last
        announced.push(text);
      }
      if (!timer) timer = setTimeout(flush, Math.max(0, lastWrite + EVENT_INTERVAL_MS - Date.now()));
    };
    const end = () => {
      if (ended) return;
      flush();
      ended = true;
      raw.end();
    };
    const onEvent = (e: GraphEvent) => {
      if (e.type === 'persisted') write('persisted', e.value);
      else if (e.type === 'progress') write('progress', e.graph);
      else {
        write('end', e.graph);
        end();
      }
    };
    // Listen first, then send the state so far: nothing falls in between (the client ignores repeats).
    const unsubscribe = state.subscribe(id, onEvent);
    raw.on('error', () => {}); // a client that went away
    const ping = setInterval(() => !ended && !raw.destroyed && raw.write(': ping\n\n'), 15_000);
    const cleanup = () => {
      clearInterval(ping);
      if (timer) clearTimeout(timer);
      unsubscribe();
      streams.delete(raw);
    };
    raw.on('close', cleanup);
    try {
      const summary = await state.summary(owner, id);
      write('progress', summary);
      for (const p of await state.persistedReady(id)) write('persisted', p);
      if (summary.status === 'done' || summary.status === 'failed') {
        write('end', summary);
        end();
      }
    } catch (err) {
      write('end', { id, status: 'failed', error: (err as Error).message });
      end();
    }
  });

  app.head<{ Params: { sha: string } }>(`${API}/blobs/:sha`, { schema: { params: params({ sha: shaParam }) } }, async (req, reply) => {
    const owner = await auth(req, 'requester');
    const h = await state.headBlob(owner, req.params.sha);
    if (h.have) return reply.code(200).header('content-length', String(h.size)).send();
    return reply.code(404).header(OFFSET_HEADER, String(h.offset)).send();
  });

  const intHeader = (req: FastifyRequest, name: string, dflt: number): number => {
    const v = req.headers[name];
    if (v === undefined) return dflt;
    if (typeof v !== 'string' || !/^\d{1,15}$/.test(v)) throw badRequest(`header ${name} must be a non-negative integer`);
    return Number(v);
  };

  app.put<{ Params: { sha: string }; Body: Buffer }>(`${API}/blobs/:sha`, { schema: { params: params({ sha: shaParam }) } }, async (req, reply) => {
    const owner = await auth(req, 'requester');
    if (!Buffer.isBuffer(req.body)) throw new ApiError(415, 'ERR_MEDIA_TYPE', 'send the blob as application/octet-stream');
    const offset = intHeader(req, OFFSET_HEADER, 0);
    const total = intHeader(req, LENGTH_HEADER, offset + req.body.length);
    const r = await state.putBlob(owner, req.params.sha, offset, total, req.body);
    reply.code(r.complete ? 201 : 202).header(OFFSET_HEADER, String(r.received));
    return { sha256: req.params.sha, complete: r.complete, received: r.received };
  });

  app.get<{ Params: { sha: string } }>(`${API}/blobs/:sha`, { schema: { params: params({ sha: shaParam }) } }, async (req, reply) => {
    const owner = await auth(req, 'requester');
    const data = await state.readBlob(owner, req.params.sha);
    return reply.type('application/octet-stream').header(SHA_HEADER, req.params.sha).send(data);
  });

  // ---------------------------------------------------------------- providers
  app.get<{ Params: { lease: string; sha: string } }>(`${API}/leases/:lease/blobs/:sha`, { schema: { params: params({ lease: leaseParam, sha: shaParam }) } }, async (req, reply) => {
    const token = await auth(req, 'provider');
    const [b] = await state.leaseBlobs(token, req.params.lease, [req.params.sha]);
    return reply.type('application/octet-stream').header(SHA_HEADER, req.params.sha).send(b!.bytes);
  });

  // Several inputs in one answer (a bundle: see protocol.ts).
  app.post<{ Params: { lease: string }; Body: { sha256: string[] } }>(
    `${API}/leases/:lease/blobs`,
    { schema: { params: params({ lease: leaseParam }), body: { type: 'object', additionalProperties: false, required: ['sha256'], properties: { sha256: { type: 'array', maxItems: 100_000, items: shaParam } } } } },
    async (req, reply) => {
      const token = await auth(req, 'provider');
      return reply.type('application/octet-stream').send(encodeBundle(await state.leaseBlobs(token, req.params.lease, req.body.sha256)));
    },
  );

  const resultLimit = Math.min(o.maxBlobBytes * 4, 2 ** 31 - 1);
  app.put<{ Params: { lease: string; sha: string }; Body: Buffer }>(`${API}/leases/:lease/results/:sha`, { bodyLimit: resultLimit, schema: { params: params({ lease: leaseParam, sha: shaParam }) } }, async (req, reply) => {
    const token = await auth(req, 'provider');
    if (!Buffer.isBuffer(req.body)) throw new ApiError(415, 'ERR_MEDIA_TYPE', 'send the result as application/octet-stream');
    await state.putResults(token, req.params.lease, [{ sha256: req.params.sha, bytes: req.body }]);
    reply.code(201);
    return { sha256: [req.params.sha] };
  });

  // Several results in one body (a bundle).
  app.put<{ Params: { lease: string }; Body: Buffer }>(`${API}/leases/:lease/results`, { bodyLimit: resultLimit, schema: { params: params({ lease: leaseParam }) } }, async (req, reply) => {
    const token = await auth(req, 'provider');
    if (!Buffer.isBuffer(req.body)) throw new ApiError(415, 'ERR_MEDIA_TYPE', 'send the results as application/octet-stream (a bundle)');
    let blobs;
    try {
      blobs = decodeBundle(req.body);
    } catch (err) {
      throw badRequest(`results of lease ${req.params.lease}: ${(err as Error).message}`);
    }
    await state.putResults(token, req.params.lease, blobs);
    reply.code(201);
    return { sha256: blobs.map((b) => b.sha256) };
  });

  app.post<{ Params: { lease: string }; Body: { outputs: Record<string, string> } }>(
    `${API}/leases/:lease/complete`,
    {
      schema: {
        params: params({ lease: leaseParam }),
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['outputs'],
          properties: { outputs: { type: 'object', maxProperties: 100_000, propertyNames: { pattern: '^[0-9]{1,9}:[0-9]{1,4}$' }, additionalProperties: { type: 'string', pattern: SHA256_RE.source } } },
        },
      },
    },
    async (req) => {
      const token = await auth(req, 'provider');
      return state.complete(token, req.params.lease, req.body.outputs);
    },
  );

  // Federated graphs: a provider lists those waiting for contributions and sends its statistics
  // (never its data) to one (coordinator/federated.ts).
  app.get(`${API}/federated`, async (req) => ({ graphs: await state.federated.open(await auth(req, 'provider')) }));

  const numbers = { type: 'array', maxItems: MAX_FEDERATED_COLUMNS, items: { type: 'number' } };
  app.post<{ Params: { id: string }; Body: Contribution }>(
    `${API}/federated/:id/contributions`,
    {
      schema: {
        params: params({ id: idParam }),
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['rows', 'columns', 'mean', 'm2'],
          properties: {
            provider: { type: 'string', maxLength: 200 },
            rows: { type: 'integer', minimum: 1, maximum: 1e15 },
            columns: { type: 'array', maxItems: MAX_FEDERATED_COLUMNS, items: { type: 'string', maxLength: 200 } },
            mean: numbers,
            m2: numbers,
          },
        },
      },
    },
    async (req, reply) => {
      const token = await auth(req, 'provider');
      const r = await state.federated.contribute(token, req.params.id, req.body);
      reply.code(201);
      return r;
    },
  );

  // ---------------------------------------------------------------- dashboard
  // The page (lib/ravenverse/coordinator/dashboard/: index.html, dashboard.js, dashboard.css)
  // polls /api/dashboard: every graph on loopback, else the graphs of the requester token given.
  const dashboardPublic = o.dashboardPublic ?? isLoopback(o.host);
  app.get('/', async (_req, reply) => reply.redirect('/dashboard/'));
  app.get('/dashboard', async (_req, reply) => reply.redirect('/dashboard/'));
  app.get<{ Params: { file?: string } }>('/dashboard/:file', async (req, reply) => serveStatic(req.params.file || 'index.html', reply));
  app.get('/dashboard/', async (_req, reply) => serveStatic('index.html', reply));
  app.get<{ Querystring: { token?: string } }>('/api/dashboard', async (req, reply) => {
    reply.header('cache-control', 'no-store').header('x-content-type-options', 'nosniff');
    if (dashboardPublic) return state.dashboard(null);
    const token = bearer(req) ?? (typeof req.query.token === 'string' ? req.query.token : null);
    const tok = await authenticate(token);
    if (!tok) throw new ApiError(401, 'ERR_UNAUTHORIZED', 'the dashboard of a coordinator not on loopback needs a requester token (?token= or Authorization)');
    if (tok.revoked) throw new ApiError(401, 'ERR_UNAUTHORIZED', 'this token was revoked');
    if (tok.role !== 'requester') throw forbidden('the dashboard needs a requester token');
    return state.dashboard(tok.hash);
  });

  function serveStatic(file: string, reply: FastifyReply) {
    const m = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,100}\.([a-z]+)$/.exec(file);
    const type = m ? STATIC_TYPES[m[1]!] : undefined;
    const dir = dashboardDir();
    if (!type || !dir || !existsSync(join(dir, file))) throw new ApiError(404, 'ERR_NOT_FOUND', `no dashboard file ${file}`);
    return reply.type(type).headers(DASHBOARD_HEADERS).send(readFileSync(join(dir, file)));
  }

  // ---------------------------------------------------------------- providers' channel, timers
  // Tokens are revoked by \`npx ravdl token revoke\`, another process (on PostgreSQL, maybe another
  // machine): each poll acts on the ones it has not seen. A provider's connections close (its
  // leases go to others); a requester's running graphs fail. Requests with the token get 401.
  const revokedSeen = new Set<string>();
  let polling = false;
  const pollRevocations = async () => {
    if (polling) return;
    polling = true;
    try {
      for (const t of await revokedTokens(store.db)) {
        if (revokedSeen.has(t.hash)) continue;
        revokedSeen.add(t.hash);
        tokenCache.delete(t.hash);
        if (t.role === 'provider') {
          const n = channel.revoke(t.hash);
          if (n) log(`token ${tokenId(t.hash)} revoked: closed ${n} provider connection(s)`);
        } else {
          const n = state.revokeOwner(t.hash);
          if (n) log(`token ${tokenId(t.hash)} revoked: failed ${n} running graph(s)`);
        }
      }
    } catch (err) {
      log(`revocation check failed: ${(err as Error).message}`);
    } finally {
      polling = false;
    }
  };
  let housekeepingRunning = false;
  const housekeeping = async () => {
    if (housekeepingRunning) return;
    housekeepingRunning = true;
    try {
      await state.dropStaleUploads(3600_000);
      await state.maintain(o.keepGraphsMs);
    } catch (err) {
      log(`housekeeping failed: ${(err as Error).message}`);
    } finally {
      housekeepingRunning = false;
    }
  };
  const channel = new ProviderChannel(state, { heartbeatMs: o.heartbeatMs, leaseMs: o.leaseMs, ackDelayMs: o.ackDelayMs, maxMessageBytes: MAX_PROVIDER_MESSAGE, messagesPerSecond: 200, authenticate, log });
  app.server.on('upgrade', (req, socket, head) => channel.handleUpgrade(req, socket, head));
  const timers = [
    setInterval(() => void state.expireDue().catch((e) => log(`lease expiry failed: ${(e as Error).message}`)), Math.max(50, Math.min(500, o.leaseMs / 4))),
    setInterval(() => void housekeeping(), o.housekeepingMs),
    setInterval(() => void pollRevocations(), o.revocationPollMs),
  ];

  await pollRevocations(); // tokens revoked while it was down: their graphs fail before anything runs
  await app.listen({ host: o.host, port: o.port });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : o.port;
  const url = `http://${o.host.includes(':') ? `[${o.host}]` : o.host}:${port}`;
  state.dispatch();
  let closing: Promise<void> | null = null;
  return {
    url,
    port,
    state,
    db: store,
    close: () =>
      (closing ??= (async () => {
        for (const t of timers) clearInterval(t);
        state.close();
        await channel.close();
        for (const s of streams) s.end();
        await app.close();
        await state.shutdown();
        if (typeof o.db !== 'object') await store.close();
      })()),
  };
}
