// The Ravenverse coordinator on loopback, on SQLite and on PostgreSQL (a fresh database on the
// server RAVDL_BENCH_POSTGRES_URL or RAVDL_TEST_POSTGRES_URL names; `.ci/postgres.sh start` prints
// one; without it the PostgreSQL rows are left out with a note):
// - overhead per subgraph: a chain of N one-op subgraphs (each reads the one before: nothing runs
//   in parallel), run by one provider process; the time from the first lease to the last one's
//   end over N: assignment, inputs down, the op, outputs up, the commit, the next assignment.
// - throughput: S independent one-op subgraphs and P simulated providers in a process of their own
//   (the provider protocol over WebSockets, one slot each, answering every assignment at once with
//   a result blob of the right shape), the requester in another, from the first assignment to the
//   last completion acknowledged (that is, committed); assignment latency: a provider's
//   completion sent -> its next assignment received. Beside each, the "ws floor" peer: the same
//   providers' process against a server that only answers (ws-floor.ts), what this machine allows.
// Each first runs an unmeasured warm-up graph of the same kind through the same processes: the
// first subgraphs run slower while the JIT compiles the hot paths, and a coordinator
// and its providers serve graph after graph (the chain's note gives the cold figure).
// Every result is checked (the chain's end value; every persisted value of the wide graph).
// Each also reports the CPU time its processes spent per subgraph (sampled from /proc and process.cpuUsage()),
// which varies less with the machine's other load than the wall-clock figures.
// RAVDL_BENCH_PROVIDER_NODE_ARGS: node options for the chain's provider process (e.g. '--cpu-prof --cpu-prof-dir=/tmp/p').
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import WebSocket from 'ws';
import * as R from '../lib/index.js';
import { encodeBlob } from '../lib/graph/format.js';
import { type Coordinator, startCoordinator } from '../lib/ravenverse/coordinator/server.js';
import { createToken } from '../lib/ravenverse/db/tokens.js';
import { naivePartition } from '../lib/ravenverse/partition.js';
import { type Ack, type Assignment, type CoordinatorMessage, PROTOCOL, PROVIDER_WS_PATH, decodeFrame, encodeFrame, messageBytes } from '../lib/ravenverse/protocol.js';
import type { BenchRow, BenchSuite } from './harness.js';
import { startWsFloor } from './ws-floor.js';

const BIN = fileURLToPath(new URL('../bin/ravdl.mjs', import.meta.url));
const PG_URL = process.env.RAVDL_BENCH_POSTGRES_URL ?? process.env.RAVDL_TEST_POSTGRES_URL ?? '';

/** A fresh database: a SQLite file in a temp dir, or a new PostgreSQL database. */
async function freshDb(kind: 'sqlite' | 'postgres'): Promise<{ spec: string; drop(): Promise<void> }> {
  if (kind === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'ravdl-bench-rv-'));
    return { spec: join(dir, 'coordinator.db'), drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const name = `ravdl_bench_${randomBytes(6).toString('hex')}`;
  const admin = async (sql: string) => {
    const c = new pg.Client({ connectionString: PG_URL });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(PG_URL);
  url.pathname = `/${name}`;
  return { spec: url.toString(), drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

async function withCoordinator<T>(kind: 'sqlite' | 'postgres', fn: (c: Coordinator, tokens: { requester: string; provider: string }) => Promise<T>): Promise<T> {
  const made = await freshDb(kind);
  try {
    const c = await startCoordinator({ db: made.spec, port: 0, log: null, partitioner: (g) => naivePartition(g, 'per-op'), rateLimit: { max: 1e9, windowMs: 1000 } });
    try {
      return await fn(c, { requester: await createToken(c.db.db, 'requester'), provider: await createToken(c.db.db, 'provider') });
    } finally {
      R.flush();
      await c.close();
    }
  } finally {
    await made.drop();
  }
}

/** The first lease's start and the last one's end (Date.now() ms), of the leases granted since a time. */
async function leaseSpan(c: Coordinator, since: number): Promise<[number, number]> {
  const span = await c.db.db.selectFrom('leases').where('created_at', '>=', since).select((eb) => [eb.fn.min('created_at').as('a'), eb.fn.max('finished_at').as('b')]).executeTakeFirstOrThrow();
  return [Number(span.a), Number(span.b)];
}

/** CPU time (user + system, ms) of a process: this one, or another by its pid (Linux /proc; NaN elsewhere). */
function cpuMs(pid?: number): number {
  if (pid === undefined) {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  }
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // utime, stime in clock ticks (USER_HZ 100)
  } catch {
    return NaN;
  }
}

/**
 * Samples the CPU time of this process (the coordinator, its SQLite writer thread and the requester) and of
 * another every 10 ms, so the CPU spent within a window known afterwards can be read (interpolated): a figure
 * that depends less on what else the machine runs than the wall-clock time does.
 */
function cpuSampler(pid?: number) {
  const samples: { wall: number; mono: number; self: number; other: number }[] = [];
  const take = () => samples.push({ wall: Date.now(), mono: nowMs(), self: cpuMs(), other: pid === undefined ? NaN : cpuMs(pid) });
  take();
  const t = setInterval(take, 10);
  const at = (clock: 'wall' | 'mono', x: number, k: 'self' | 'other') => {
    const i = samples.findIndex((s) => s[clock] >= x);
    if (i <= 0) return i === 0 ? samples[0]![k] : samples[samples.length - 1]![k];
    const a = samples[i - 1]!;
    const b = samples[i]!;
    return a[k] + ((b[k] - a[k]) * (x - a[clock])) / Math.max(1e-9, b[clock] - a[clock]);
  };
  return {
    stop: () => (clearInterval(t), take()),
    /** CPU ms of this process and of the other within [from, to] on the given clock. */
    within: (clock: 'wall' | 'mono', from: number, to: number) => ({ self: at(clock, to, 'self') - at(clock, from, 'self'), other: at(clock, to, 'other') - at(clock, from, 'other') }),
  };
}

/** Overhead per subgraph: a chain of n one-op subgraphs through one provider process. */
export async function overhead(kind: 'sqlite' | 'postgres', n: number, warm = 0): Promise<{ spanMs: number; coldMs: number; wholeMs: number; cpuMs: { coordinator: number; provider: number } }> {
  return withCoordinator(kind, async (c, tok) => {
    const child = spawn(process.execPath, [...(process.env.RAVDL_BENCH_PROVIDER_NODE_ARGS?.split(' ') ?? []), BIN, 'provider', '--server', c.url, '--threads', '1', '--name', 'bench'], { env: { ...process.env, RAVDL_TOKEN: tok.provider }, stdio: ['ignore', 'pipe', 'pipe'] });
    const killer = setTimeout(() => child.kill('SIGKILL'), 300_000);
    const exited = new Promise<number | string | null>((r) => child.once('exit', (code, signal) => r(code ?? signal)));
    let out = '';
    try {
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`the provider did not connect in 60 s: ${out.slice(-500)}`)), 60_000);
        const on = (d: Buffer) => {
          out += d.toString();
          if (out.includes('connected to')) (clearTimeout(t), resolve());
        };
        child.stdout!.on('data', on);
        child.stderr!.on('data', on);
        child.once('exit', () => reject(new Error(`the provider exited: ${out.slice(-500)}`)));
      });
      // A provider that dies mid-run fails the benchmark with its last words (the run would wait for another).
      const died = exited.then((code) => Promise.reject(new Error(`ravenverse bench: the provider exited (${code}) during the run: ${out.slice(-2000)}`)));
      died.catch(() => {});
      const requester = benchChild('RAVDL_BENCH_REQUESTER', { base: c.url, token: tok.requester, graph: 'chain', s: n, warm }, 'the requester');
      try {
        await Promise.race([requester.wait('warm'), died]);
        const [wa, wb] = await leaseSpan(c, 0); // before the next graph's R.flush() deletes the warm-up graph
        const coldMs = (wb - wa) / warm;
        await new Promise((r) => setTimeout(r, 2)); // the leases' ms timestamps tell the two graphs apart
        const since = Date.now();
        const cpu = cpuSampler(child.pid);
        requester.send({ type: 'go' });
        const done = await Promise.race([requester.wait<{ wholeMs: number; error: string | null }>('done'), died]).finally(() => cpu.stop());
        if (done.error) throw new Error(`ravenverse bench: the requester failed: ${done.error}`);
        const [a, b] = await leaseSpan(c, since);
        const used = cpu.within('wall', a, b);
        return { spanMs: b - a, coldMs, wholeMs: done.wholeMs, cpuMs: { coordinator: used.self, provider: used.other } };
      } finally {
        await requester.end({ type: 'stop' });
      }
    } finally {
      child.kill('SIGTERM');
      await exited;
      clearTimeout(killer);
    }
  });
}

/** A provider that answers each assignment at once: a result blob of the output's shape holding the subgraph's index. */
class SimProvider {
  private ws!: WebSocket;
  private sentAt = -1;
  private beat: NodeJS.Timeout | null = null;
  private leases = new Set<string>();
  acknowledged = 0;
  lastAckAt = 0;
  firstAssignAt = Infinity;
  error: string | null = null;
  constructor(
    private base: string,
    private token: string,
    private latencies: number[],
  ) {}

  /** Completions sent and not yet answered. */
  get unanswered(): number {
    return this.leases.size;
  }

  /** Forgets what it saw so far (after the warm-up graph; it is idle then). */
  reset(): void {
    this.sentAt = -1;
    this.acknowledged = 0;
    this.lastAckAt = 0;
    this.firstAssignAt = Infinity;
  }

  async connect(): Promise<void> {
    this.ws = new WebSocket(this.base.replace(/^http/, 'ws') + PROVIDER_WS_PATH, { headers: { authorization: `Bearer ${this.token}` } });
    await new Promise<void>((resolve, reject) => {
      this.ws.on('message', (data, isBinary) => {
        const buf = messageBytes(data);
        const m = (isBinary ? decodeFrame(buf).header : JSON.parse(buf.toString())) as CoordinatorMessage;
        if (m.type === 'welcome') {
          if (m.protocol !== PROTOCOL) this.error ??= `the coordinator speaks protocol ${m.protocol}, not ${PROTOCOL}`;
          // At most 64 named, as a real provider does (the coordinator's limit): slow commits leave many results unanswered.
          this.beat = setInterval(() => this.ws.send(JSON.stringify({ type: 'heartbeat', leases: [...this.leases].slice(-64) })), m.heartbeat_ms);
          resolve();
        } else if (m.type === 'assign') {
          for (const a of m.acks ?? []) this.acked(a);
          this.answer(m);
        } else if (m.type === 'acks') for (const a of m.acks) this.acked(a);
        else if (m.type === 'completed') this.acked(m);
        else if (m.type === 'error' || m.type === 'cancel') this.error ??= JSON.stringify(m);
      });
      this.ws.once('error', reject);
      this.ws.once('open', () =>
        this.ws.send(
          JSON.stringify({
            type: 'hello', provider_id: `p_sim${randomBytes(8).toString('hex')}`, name: 'sim', leases: [], protocol: PROTOCOL,
            capability: { gflops: 10, memory_bytes: 2 ** 30, threads: 1, slots: 1, platform: 'bench', version: '0' },
          }),
        ),
      );
    });
  }

  /** The coordinator's answer to a completion (each once it is committed). */
  private acked(a: Ack): void {
    if ('error' in a || a.status !== 'accepted') this.error ??= JSON.stringify(a);
    this.leases.delete(a.lease);
    this.acknowledged++;
    this.lastAckAt = nowMs();
  }

  private answer(a: Assignment): void {
    const now = nowMs();
    this.firstAssignAt = Math.min(this.firstAssignAt, now);
    if (this.sentAt >= 0) this.latencies.push(now - this.sentAt);
    this.leases.add(a.lease);
    const g = a.graph as { nodes: { outputs?: { shape: number[] }[] }[]; persist: { name: string; node: number; output: number }[] };
    const outs = g.persist.map((p) => {
      const shape = g.nodes[p.node]!.outputs![p.output]!.shape;
      const { bytes, sha256 } = encodeBlob(shape, new Float32Array(shape.reduce((m, d) => m * d, 1)).fill(a.subgraph));
      return { name: p.name, sha256, bytes };
    });
    this.sentAt = nowMs();
    this.ws.send(encodeFrame({ type: 'complete', lease: a.lease, outputs: Object.fromEntries(outs.map((o) => [o.name, o.sha256])) }, outs), { binary: true });
  }

  close(): void {
    if (this.beat) clearInterval(this.beat);
    this.ws?.terminate();
  }
}

/** Milliseconds on the machine's monotonic clock, which processes share (performance.now() is per process). */
const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

/** The simulated providers' process: connects p of them, reports when connected and, once asked, what they saw. */
async function simProcess(base: string, token: string, p: number): Promise<void> {
  const latencies: number[] = [];
  const sims = Array.from({ length: p }, () => new SimProvider(base, token, latencies));
  await Promise.all(sims.map((x) => x.connect()));
  process.send!({ type: 'connected' });
  process.on('message', async (m: { type: 'reset' } | { type: 'report'; expect: number }) => {
    if (m.type === 'reset') {
      // The warm-up's last answers may still be on their way: waited for (5 s at most), so none is counted in the measured graph.
      for (let i = 0; i < 500 && sims.some((x) => x.unanswered > 0); i++) await new Promise((r) => setTimeout(r, 10));
      latencies.length = 0;
      for (const x of sims) x.reset();
      process.send!({ type: 'reset' });
      return;
    }
    // The last answers may still be on their way (protocol 3 holds them up to ACK_DELAY_MS for an assignment): waited for, 10 s at most.
    for (let i = 0; i < 1000 && sims.reduce((n, x) => n + x.acknowledged, 0) < m.expect; i++) await new Promise((r) => setTimeout(r, 10));
    for (const x of sims) x.close();
    process.send!({
      type: 'report', latencies, error: sims.find((x) => x.error)?.error ?? null, acknowledged: sims.reduce((n, x) => n + x.acknowledged, 0),
      first: Math.min(...sims.map((x) => x.firstAssignAt)), last: Math.max(...sims.map((x) => x.lastAckAt)),
    });
    process.disconnect(); // nothing left: the process ends by itself
  });
}
if (process.env.RAVDL_BENCH_SIM && process.send) {
  const w = JSON.parse(process.env.RAVDL_BENCH_SIM) as { base: string; token: string; p: number };
  await simProcess(w.base, w.token, w.p);
}

const fmtRate = (x: number) => `${Math.round(x).toLocaleString('en-US')}/s`;
const quantile = (xs: number[], q: number) => xs[Math.min(xs.length - 1, Math.floor(q * xs.length))] ?? NaN;

/** A child process running this file in one of its roles (RAVDL_BENCH_SIM or RAVDL_BENCH_REQUESTER), spoken to over IPC. */
function benchChild(role: 'RAVDL_BENCH_SIM' | 'RAVDL_BENCH_REQUESTER', payload: object, what: string) {
  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url)], { env: { ...process.env, [role]: JSON.stringify(payload) }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const killer = setTimeout(() => child.kill('SIGKILL'), 300_000);
  const messages: { type: string; [k: string]: unknown }[] = [];
  child.on('message', (m) => messages.push(m as { type: string }));
  const failed = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`ravenverse bench: ${what} exited (${code})`))));
  failed.catch(() => {});
  return {
    pid: child.pid,
    send: (m: object) => child.connected && child.send(m),
    wait: <T>(type: string): Promise<T> =>
      // A child that sent what is waited for and then ended (as the providers' process does after its report) has not failed.
      Promise.race([failed.catch((err) => (messages.find((x) => x.type === type) as T | undefined) ?? Promise.reject(err)), (async () => {
        for (let i = 0; i < 120_000 / 20; i++) {
          const m = messages.find((x) => x.type === type);
          if (m) return m as T;
          await new Promise((r) => setTimeout(r, 20));
        }
        throw new Error(`ravenverse bench: ${what} sent no '${type}' in 120 s`);
      })()]),
    /** Asked for its report (or to stop), the process ends by itself; killed if it does not. */
    async end(last: object) {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        if (child.connected) child.send(last);
        const t = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(t);
      }
      clearTimeout(killer);
    },
  };
}

/** A wide graph: s independent one-op subgraphs, each result holding its index (the per-op plan numbers the adds in order). */
async function wideGraph(name: string, s: number): Promise<void> {
  R.flush();
  new R.Graph({ name, algorithm: 'throughput', approach: 'distributed' });
  const x = R.t(new Float32Array(4).fill(1));
  for (let i = 0; i < s; i++) R.add(x, x).persist_op(`v${i}`); // one constant: the upload stays small
  R.activate();
  await R.execute();
  for (let i = 0; i < s; i++) {
    const v = R.fetch_persisting_op(`v${i}`).toArray() as number[];
    if (v.length !== 4 || v.some((e) => e !== i)) throw new Error(`ravenverse bench: ${name}: v${i} is [${v.join(', ')}]`);
  }
}

/** A chain: len one-op subgraphs, each reading the one before. */
async function chainGraph(name: string, len: number): Promise<void> {
  R.flush();
  new R.Graph({ name, algorithm: 'overhead', approach: 'distributed' });
  let x = R.t(new Float32Array(16).fill(1));
  for (let i = 0; i < len; i++) x = R.add(x, 1);
  x.persist_op('end');
  R.activate();
  await R.execute();
  const end = R.fetch_persisting_op('end').toArray() as number[];
  if (end[0] !== len + 1) throw new Error(`ravenverse bench: the chain ended with ${end[0]}, not ${len + 1}`);
}

/** The requester's process: runs the warm-up graph, waits for 'go', runs the measured one. */
async function requesterProcess(base: string, token: string, graph: 'chain' | 'wide', s: number, warm: number): Promise<void> {
  const run = graph === 'chain' ? chainGraph : wideGraph;
  try {
    R.initialize(token, { server: base });
    if (warm > 0) await run('warm-up', warm);
    const go = new Promise<{ type: 'go' | 'stop' }>((r) => process.once('message', r));
    process.send!({ type: 'warm' });
    if ((await go).type === 'stop') return void process.disconnect();
    const t0 = performance.now();
    await run(graph, s);
    process.send!({ type: 'done', wholeMs: performance.now() - t0, error: null });
  } catch (err) {
    process.send!({ type: 'done', wholeMs: NaN, error: (err as Error).stack ?? String(err) });
  }
  process.disconnect();
}
if (process.env.RAVDL_BENCH_REQUESTER && process.send) {
  const w = JSON.parse(process.env.RAVDL_BENCH_REQUESTER) as { base: string; token: string; graph: 'chain' | 'wide'; s: number; warm: number };
  await requesterProcess(w.base, w.token, w.graph, w.s, w.warm);
}

/** Throughput: s independent one-op subgraphs on p simulated providers, after a warm-up graph of `warm` of them. */
export async function throughput(kind: 'sqlite' | 'postgres', s: number, p: number, warm = 0) {
  return withCoordinator(kind, async (c, tok) => {
    // The providers and the requester run in processes of their own, as they would on their own machines.
    const sims = benchChild('RAVDL_BENCH_SIM', { base: c.url, token: tok.provider, p }, 'the simulated providers');
    const requester = benchChild('RAVDL_BENCH_REQUESTER', { base: c.url, token: tok.requester, graph: 'wide', s, warm }, 'the requester');
    try {
      await sims.wait('connected');
      await requester.wait('warm');
      // The warm-up's completions are forgotten: the counts and latencies are the measured graph's.
      sims.send({ type: 'reset' });
      await sims.wait('reset');
      requester.send({ type: 'go' });
      const cpu = cpuSampler(sims.pid);
      const done = await requester.wait<{ wholeMs: number; error: string | null }>('done');
      cpu.stop();
      if (done.error) throw new Error(`ravenverse bench: the requester failed: ${done.error}`);
      sims.send({ type: 'report', expect: s });
      const r = await sims.wait<{ latencies: number[]; error: string | null; acknowledged: number; first: number; last: number }>('report');
      if (r.error) throw new Error(`ravenverse bench: a simulated provider got ${r.error}`);
      if (r.acknowledged !== s) throw new Error(`ravenverse bench: ${r.acknowledged} completions acknowledged, not ${s}`);
      const subs = await c.db.db.selectFrom('subgraphs').where('graph_id', 'in', (eb) => eb.selectFrom('graphs').select('id').where('name', '=', 'wide')).select(['idx', 'done_by']).execute();
      if (subs.length !== s || subs.some((row) => !row.done_by)) throw new Error('ravenverse bench: not every subgraph is done in the database');
      const latencies = r.latencies.sort((a, b) => a - b);
      const used = cpu.within('mono', r.first, r.last);
      return { window: [r.first, r.last], perSecond: (s / (r.last - r.first)) * 1000, p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99), wholeMs: done.wholeMs, cpuMs: { coordinator: used.self, providers: used.other } };
    } finally {
      await requester.end({ type: 'stop' });
      await sims.end({ type: 'report', expect: 0 });
    }
  });
}

/**
 * The same simulated providers against the ws floor (ws-floor.ts), a server that only answers: the
 * throughput and latency any coordinator in this process could reach with them on this machine.
 */
export async function floorThroughput(s: number, p: number, warm: number) {
  const floor = await startWsFloor();
  const sims = benchChild('RAVDL_BENCH_SIM', { base: floor.url, token: 'floor', p }, 'the simulated providers');
  try {
    await sims.wait('connected');
    await floor.run(warm, 120_000);
    sims.send({ type: 'reset' });
    await sims.wait('reset');
    const cpu = cpuSampler(sims.pid);
    await floor.run(s, 120_000);
    cpu.stop();
    sims.send({ type: 'report', expect: s });
    const r = await sims.wait<{ latencies: number[]; error: string | null; acknowledged: number; first: number; last: number }>('report');
    if (r.error) throw new Error(`ravenverse bench: a simulated provider got ${r.error} from the ws floor`);
    if (r.acknowledged !== s) throw new Error(`ravenverse bench: the ws floor acknowledged ${r.acknowledged} completions, not ${s}`);
    const latencies = r.latencies.sort((a, b) => a - b);
    const used = cpu.within('mono', r.first, r.last);
    return { perSecond: (s / (r.last - r.first)) * 1000, p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99), cpuMs: { server: used.self, providers: used.other } };
  } finally {
    await sims.end({ type: 'report', expect: 0 });
    await floor.close();
  }
}

export const suite: BenchSuite = {
  name: 'ravenverse',
  async run({ quick }) {
    const N = quick ? 100 : 500;
    const S = quick ? 2000 : 10_000;
    const P = 50;
    // Unmeasured first, on the same coordinator and provider processes: a coordinator and its providers
    // serve graph after graph, so the steady state is the figure (the cold one is in the notes).
    const WARM_CHAIN = quick ? 500 : 2000;
    const WARM_WIDE = quick ? 1000 : 5000;
    const kinds: ('sqlite' | 'postgres')[] = PG_URL ? ['sqlite', 'postgres'] : ['sqlite'];
    const skipped = PG_URL ? [] : ['PostgreSQL rows left out: set RAVDL_BENCH_POSTGRES_URL or RAVDL_TEST_POSTGRES_URL (.ci/postgres.sh start prints one)'];
    const rows: BenchRow[] = [];
    for (const kind of kinds) {
      const o = await overhead(kind, N, WARM_CHAIN);
      rows.push({
        suite: 'ravenverse',
        workload: `${kind}: overhead per subgraph, chain of ${N} one-op subgraphs, 1 provider process`,
        unit: 'ms',
        higherIsBetter: false,
        ravdl: o.spanMs / N,
        peers: {},
        target: { max: 1 },
        notes: [
          `${kind}: first lease to last lease end over ${N}, after a warm-up chain of ${WARM_CHAIN} (which took ${o.coldMs.toFixed(2)} ms per subgraph); the whole R.execute() (upload, partition, results) ${(o.wholeMs / N).toFixed(2)} ms per subgraph; Dask documents about 1 ms per task`,
          `${kind}: CPU per subgraph in that span: coordinator process ${(o.cpuMs.coordinator / N).toFixed(3)} ms, provider process ${(o.cpuMs.provider / N).toFixed(3)} ms`,
          ...skipped,
        ],
      });
      // The floor beside each database's run: the same providers' process against a server that only answers.
      const f = await floorThroughput(S, P, WARM_WIDE);
      const floorNote = `ws floor (benchmarks/ws-floor.ts): the same ${P} simulated providers against a server in this process that answers each completion with a fixed assignment frame and does nothing else: ${fmtRate(f.perSecond)}, p50 ${f.p50.toFixed(2)} ms, p99 ${f.p99.toFixed(2)} ms, CPU per subgraph ${(f.cpuMs.server / S).toFixed(3)} ms in its process; what any coordinator could reach here`;
      const t = await throughput(kind, S, P, WARM_WIDE);
      const note = `${kind}: ${S} independent subgraphs after a warm-up graph of ${WARM_WIDE}, ${P} simulated providers and the requester in processes of their own; first assignment to last acknowledged completion; the whole R.execute() ${(t.wholeMs / 1000).toFixed(1)} s; Ray documents about 8,000 tasks/s`;
      const cpuNote = `${kind}: CPU per subgraph in that window: coordinator process (with its SQLite writer thread) ${(t.cpuMs.coordinator / S).toFixed(3)} ms, simulated providers ${(t.cpuMs.providers / S).toFixed(3)} ms`;
      rows.push({ suite: 'ravenverse', workload: `${kind}: subgraphs/s, ${S} one-op subgraphs on ${P} simulated providers`, unit: 'subgraphs/s', higherIsBetter: true, ravdl: t.perSecond, peers: { goal: 5000, 'ws floor': f.perSecond }, target: { peer: 'goal', min: 1 }, notes: [note, cpuNote, floorNote] });
      rows.push({
        suite: 'ravenverse',
        workload: `${kind}: p99 assignment latency (completion sent -> next assignment), ${P} providers`,
        unit: 'ms',
        higherIsBetter: false,
        ravdl: t.p99,
        peers: { 'ws floor': f.p99 },
        target: { max: 10 },
        notes: [
          `${kind}: p50 ${t.p50.toFixed(2)} ms, p99 ${t.p99.toFixed(2)} ms; each provider answers at once, so ${P} are always waiting and the mean is ${P} / throughput (${((P / t.perSecond) * 1000).toFixed(2)} ms here)`,
          `${kind}: the ws floor's p50 ${f.p50.toFixed(2)} ms, p99 ${f.p99.toFixed(2)} ms (its run is in the throughput row's notes)`,
        ],
      });
    }
    return rows;
  },
};
