// Helpers for the Ravenverse tests: database backends (SQLite always, PostgreSQL when
// RAVDL_TEST_POSTGRES_URL names a server), child processes with time limits, a fake provider
// that speaks the protocol by hand, and bounded waits.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import WebSocket from 'ws';
import { executeGraph } from '../../lib/graph/execute.js';
import { decodeBlob, encodeBlob } from '../../lib/graph/format.js';
import { validateGraphJson } from '../../lib/graph/validate.js';
import type { GraphData } from '../../lib/graph/graph-data.js';
import type { Assignment, Capability, Completed, CoordinatorMessage } from '../../lib/ravenverse/protocol.js';
import { decodeBundle, decodeFrame, encodeBundle, encodeFrame } from '../../lib/ravenverse/protocol.js';
import { type Subgraph, refKey, subgraphGraph } from '../../lib/ravenverse/subgraph.js';
import type { Data } from '../../lib/tensor/dtype.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BIN = join(ROOT, 'bin', 'ravdl.mjs');
export const PG_URL = process.env.RAVDL_TEST_POSTGRES_URL ?? '';

export interface Backend {
  name: 'sqlite' | 'postgres';
  /** A fresh database: a file in a temp dir, or a new PostgreSQL database. */
  create(): Promise<{ spec: string; drop(): Promise<void> }>;
}

const sqlite: Backend = {
  name: 'sqlite',
  async create() {
    const dir = mkdtempSync(join(tmpdir(), 'ravdl-rv-'));
    return { spec: join(dir, 'coordinator.db'), drop: async () => rmSync(dir, { recursive: true, force: true }) };
  },
};

const postgres: Backend = {
  name: 'postgres',
  async create() {
    const name = `ravdl_t_${randomBytes(6).toString('hex')}`;
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const url = new URL(PG_URL);
    url.pathname = `/${name}`;
    return {
      spec: url.toString(),
      drop: async () => {
        const c = new pg.Client({ connectionString: PG_URL });
        await c.connect();
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await c.end();
      },
    };
  },
};

let warned = false;
/** SQLite, and PostgreSQL when a server is given (else a printed reason). */
export function backends(): Backend[] {
  if (!PG_URL && !warned) {
    warned = true;
    console.warn('skipping the PostgreSQL variants of the coordinator tests: RAVDL_TEST_POSTGRES_URL is not set (.ci/postgres.sh start prints one)');
  }
  return PG_URL ? [sqlite, postgres] : [sqlite];
}

/** Runs the subgraphs in order as a coordinator and providers would (results through their blobs); returns the persisted values. */
export async function runSubgraphs(g: GraphData, subs: Subgraph[]): Promise<Map<string, Data>> {
  const blobs = new Map<string, Data>(); // result SHA-256 -> data
  const resultHash = new Map<string, string>(); // "node:output" of the full graph -> SHA-256
  for (const s of subs) {
    const sg = subgraphGraph(g, s, (ref) => resultHash.get(refKey(ref))!);
    const run = await executeGraph(sg, { constData: (n) => n.data ?? blobs.get(n.blob!)! });
    for (const [name, t] of run.persisted) {
      const { bytes, sha256 } = encodeBlob(t.shape, t._data);
      blobs.set(sha256, decodeBlob(bytes, sha256, { kind: 'const', shape: [...t.shape], dtype: t.dtype, data: null, blob: sha256 }, 'test'));
      resultHash.set(name, sha256);
    }
  }
  return new Map([...g.persist].map(([name, ref]) => [name, blobs.get(resultHash.get(refKey(ref))!)!]));
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls cond every 20 ms until it holds, at most `ms`; throws naming `what` otherwise. */
export async function waitFor<T>(what: string, cond: () => T | Promise<T>, ms = 30_000): Promise<NonNullable<T>> {
  const end = Date.now() + ms;
  for (let i = 0; ; i++) {
    const v = await cond();
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(Math.min(20 + i * 5, 200));
  }
}

/** `p`, or an error naming `what` after `ms` (so a test that hangs says where). */
export async function within<T>(what: string, ms: number, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms)));
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** A `ravdl` child process; its output is kept; it is killed when the test ends or after `limitMs`. */
export class Child {
  readonly proc: ChildProcess;
  out = '';
  private exited: Promise<number | null>;
  constructor(args: string[], env: Record<string, string> = {}, limitMs = 180_000) {
    this.proc = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc.stdout!.on('data', (d: Buffer) => (this.out += d.toString()));
    this.proc.stderr!.on('data', (d: Buffer) => (this.out += d.toString()));
    const limit = setTimeout(() => this.proc.kill('SIGKILL'), limitMs);
    this.exited = new Promise((resolve) => this.proc.once('exit', (code) => (clearTimeout(limit), resolve(code))));
  }
  get alive(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }
  waitOutput(re: RegExp, ms = 60_000): Promise<RegExpMatchArray> {
    return waitFor(`output ${re} (got: ${this.out.slice(-500)})`, () => (this.alive || re.test(this.out) ? this.out.match(re) : Promise.reject(new Error(`the process exited before printing ${re}: ${this.out.slice(-2000)}`))), ms);
  }
  kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<number | null> {
    if (this.alive) this.proc.kill(signal);
    return this.exited;
  }
  async stop(): Promise<void> {
    if (!this.alive) return;
    this.proc.kill('SIGTERM');
    const t = setTimeout(() => this.proc.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(t);
  }
}

export async function api(base: string, path: string, token: string | null, init: { method?: string; body?: unknown; raw?: Uint8Array | string; headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { ...init.headers };
  if (token) headers.authorization = `Bearer ${token}`;
  let body: BodyInit | undefined;
  if (init.raw !== undefined) {
    body = init.raw as BodyInit;
    headers['content-type'] ??= typeof init.raw === 'string' ? 'application/json' : 'application/octet-stream';
  } else if (init.body !== undefined) {
    body = JSON.stringify(init.body);
    headers['content-type'] = 'application/json';
  }
  const res = await fetch(base + path, { method: init.method ?? 'GET', headers, body });
  const type = res.headers.get('content-type') ?? '';
  const json = type.includes('json') ? await res.json() : null;
  const bytes = json === null && init.method !== 'HEAD' ? Buffer.from(await res.arrayBuffer()) : null;
  return { status: res.status, json: json as any, bytes, headers: res.headers };
}

/**
 * A provider written against the protocol directly (no worker, no retries), so tests can make it
 * misbehave: stay silent, answer late, send a result twice.
 */
export class FakeProvider {
  ws!: WebSocket;
  readonly id = `p_fake${randomBytes(8).toString('hex')}`;
  readonly assignments: Assignment[] = [];
  readonly messages: CoordinatorMessage[] = [];
  /** Protocol 2: the blobs that came inline with each assignment, by lease. */
  readonly inline = new Map<string, { sha256: string; bytes: Uint8Array }[]>();
  /** Protocol 3: how each answer came (riding on the assignment of another lease, or in an 'acks' message), by lease. */
  readonly ackedVia = new Map<string, { via: 'assign'; lease: string } | { via: 'acks' }>();
  closed: { code: number; reason: string } | null = null;
  /** Stops the heartbeats a real provider sends (every 200 ms while connected). */
  silent = false;
  private taken = 0;
  private wake: (() => void) | null = null;
  private beat: NodeJS.Timeout | null = null;
  private finished = new Set<string>();
  constructor(
    readonly base: string,
    readonly token: string,
    readonly capability: Partial<Capability> = {},
    /** 2: binary assignments with inline inputs, completions over the WebSocket (completeWs); 3: answers riding on assignments. */
    readonly protocol: 1 | 2 | 3 = 1,
  ) {}

  async connect(hello = true): Promise<this> {
    this.ws = new WebSocket(this.base.replace(/^http/, 'ws') + '/v1/provider', { headers: { authorization: `Bearer ${this.token}` } });
    this.ws.on('message', (d, isBinary) => {
      let m: CoordinatorMessage;
      if (isBinary) {
        const f = decodeFrame(d as Buffer);
        m = f.header as CoordinatorMessage;
        if (m.type === 'assign') this.inline.set(m.lease, f.blobs);
      } else m = JSON.parse(d.toString()) as CoordinatorMessage;
      // Protocol 3's answers are recorded as the 'completed' messages protocol 2 sends, noting how they came.
      if (m.type === 'assign' || m.type === 'acks') {
        for (const a of m.acks ?? []) {
          this.ackedVia.set(a.lease, m.type === 'assign' ? { via: 'assign', lease: m.lease } : { via: 'acks' });
          this.messages.push({ type: 'completed', ...a });
        }
      }
      this.messages.push(m);
      if (m.type === 'assign') {
        this.assignments.push(m);
        this.wake?.();
      }
      if (m.type === 'welcome') this.beat ??= setInterval(() => !this.silent && this.heartbeat(), 200);
    });
    this.ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      if (this.beat) clearInterval(this.beat);
    });
    await new Promise<void>((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
    if (hello) {
      this.send({
        type: 'hello',
        provider_id: this.id,
        name: this.id,
        leases: [],
        capability: { gflops: 10, memory_bytes: 2 ** 30, threads: 1, slots: 1, platform: 'test', version: '0', ...this.capability },
        ...(this.protocol >= 2 ? { protocol: this.protocol } : {}),
      });
      await waitFor('welcome', () => this.messages.some((m) => m.type === 'welcome'), 10_000);
    }
    return this;
  }

  send(m: unknown): void {
    this.ws.send(typeof m === 'string' ? m : JSON.stringify(m));
  }

  heartbeat(): void {
    if (this.ws.readyState === WebSocket.OPEN) this.send({ type: 'heartbeat', leases: this.assignments.filter((a) => !this.finished.has(a.lease)).map((a) => a.lease) });
  }

  /** The next assignment not taken yet (waits for it, at most `ms`). */
  async next(ms = 20_000): Promise<Assignment> {
    const end = Date.now() + ms;
    while (!this.assignments[this.taken]) {
      const left = end - Date.now();
      if (left <= 0) throw new Error(`timed out after ${ms} ms waiting for an assignment`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 100));
        this.wake = () => (clearTimeout(t), resolve());
      });
      this.wake = null;
    }
    return this.assignments[this.taken++]!;
  }

  /** Computes an assignment as a real provider would; returns its outputs (not uploaded). */
  async compute(a: Assignment): Promise<{ name: string; sha256: string; bytes: Uint8Array }[]> {
    const r = await api(this.base, `/v1/leases/${a.lease}/blobs`, this.token, { method: 'POST', body: { sha256: a.blobs.map((b) => b.sha256) } });
    if (r.status !== 200) throw new Error(`inputs of ${a.lease}: ${r.status} ${JSON.stringify(r.json)}`);
    const blobs = new Map(decodeBundle(r.bytes!).map((e) => [e.sha256, e.bytes]));
    const g = validateGraphJson(a.graph);
    g.nodes.forEach((n) => {
      if (n.kind === 'const') n.data = decodeBlob(blobs.get(n.blob!)!, n.blob!, n, 'fake');
    });
    const run = await executeGraph(g, { constData: (n) => n.data! });
    return a.outputs.map((name) => {
      const t = run.persisted.get(name)!;
      const { bytes, sha256 } = encodeBlob(t.shape, t._data);
      return { name, sha256, bytes };
    });
  }

  /** Uploads the outputs and completes the lease; returns the answers. */
  async finish(a: Assignment, outs: { name: string; sha256: string; bytes: Uint8Array }[]) {
    const up = await api(this.base, `/v1/leases/${a.lease}/results`, this.token, { method: 'PUT', raw: encodeBundle(outs) });
    const done = await api(this.base, `/v1/leases/${a.lease}/complete`, this.token, { method: 'POST', body: { outputs: Object.fromEntries(outs.map((o) => [o.name, o.sha256])) } });
    this.finished.add(a.lease);
    return { up, done };
  }

  /** Protocol 2: completes the lease with its results in one binary frame; resolves with the coordinator's answer (at most `ms`). */
  async completeWs(a: Assignment, outs: { name: string; sha256: string; bytes: Uint8Array }[], ms = 20_000): Promise<Completed> {
    const seen = this.messages.length;
    this.ws.send(encodeFrame({ type: 'complete', lease: a.lease, outputs: Object.fromEntries(outs.map((o) => [o.name, o.sha256])) }, outs), { binary: true });
    const m = await waitFor('the completion\'s answer', () => this.messages.slice(seen).find((x): x is Completed => x.type === 'completed' && x.lease === a.lease), ms);
    this.finished.add(a.lease);
    return m;
  }

  close(): void {
    if (this.beat) clearInterval(this.beat);
    this.ws?.terminate();
  }
}
