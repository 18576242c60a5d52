// npx ravdl coordinator | provider | token create | list | revoke | demo
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { type Db, openDatabase } from './db/open.js';
import { ROLES, type Role, TokenError, type TokenListing, createToken, listTokens, revokeToken, tokenId } from './db/tokens.js';
import { parseBytes, sha256 } from './protocol.js';
import type { DeviceLike } from '../tensor/device.js';

const here = dirname(fileURLToPath(import.meta.url));
/** The package root, from lib/ravenverse (sources) or dist/ravenverse (built). */
const ROOT = join(here, '..', '..');
const BIN = join(ROOT, 'bin', 'ravdl.mjs');
const DEFAULT_DB = 'ravdl-coordinator.db';

const USAGE = `ravdl: the Ravenverse (a coordinator, provider nodes, a demo)

  npx ravdl coordinator [--port 8080] [--host 127.0.0.1] [--db FILE | --db postgres://...]
                        [--lease-ms 4000] [--max-lease-ms 1800000] [--heartbeat-ms 1000]
                        [--bandwidth BYTES_PER_S] [--max-subgraph-seconds S] [--plan auto|per-step|per-op]
                        [--max-graph 256M] [--max-blob 512M] [--keep-days 30]
                        (--keep-days: how long ended graphs, and uploads no graph names, are kept; 0: until deleted)
  npx ravdl provider --server URL --token TOKEN [--threads N] [--max-memory 2G] [--slots 1] [--name NAME] [--device cpu|cuda|cuda:N]
                        (the token may also come from RAVDL_TOKEN)
  npx ravdl provider --server URL --token TOKEN --list-federated        (federated graphs waiting for data)
  npx ravdl provider --server URL --token TOKEN --federated GRAPH_ID --data FILE.csv [--min-rows 5] [--name NAME]
                        (sends the statistics of the rows the graph's rules allow, never the rows)
  npx ravdl graphs --server URL --token TOKEN [--json]           (a requester's graphs on a coordinator)
  npx ravdl graphs delete ID [ID ...] --server URL --token TOKEN  (a running one stops; its results go)
                        (the token may also come from RAVDL_TOKEN)
  npx ravdl token create --role requester|provider [--db FILE | --db postgres://...] [--label TEXT]
  npx ravdl token list [--db ...] [--json]      (ids, roles, labels, what each token did)
  npx ravdl token revoke ID [--db ...]          (a running coordinator refuses it within about a second)
  npx ravdl demo [--epochs 50] [--keep-open]

The database defaults to ${DEFAULT_DB} in the working directory.`;

class UsageError extends Error {}

const PLANS = ['auto', 'per-step', 'per-op'] as const;
function plan(v: string | undefined): (typeof PLANS)[number] | undefined {
  if (v === undefined || (PLANS as readonly string[]).includes(v)) return v as (typeof PLANS)[number] | undefined;
  throw new UsageError(`--plan must be one of ${PLANS.join(', ')}, got ${JSON.stringify(v)}`);
}

function num(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new UsageError(`--${name} must be a non-negative number, got ${JSON.stringify(v)}`);
  return n;
}

function bytes(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  try {
    return parseBytes(v);
  } catch (e) {
    throw new UsageError(`--${name}: ${(e as Error).message}`);
  }
}

/** Resolves on SIGINT or SIGTERM. */
const untilSignal = () =>
  new Promise<string>((resolve) => {
    const on = (sig: string) => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(sig);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });

async function coordinator(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      port: { type: 'string' }, host: { type: 'string' }, db: { type: 'string' }, 'lease-ms': { type: 'string' }, 'max-lease-ms': { type: 'string' }, 'heartbeat-ms': { type: 'string' },
      bandwidth: { type: 'string' }, 'max-subgraph-seconds': { type: 'string' }, plan: { type: 'string' }, 'max-graph': { type: 'string' }, 'max-blob': { type: 'string' },
      'keep-days': { type: 'string' },
    },
  });
  const keepDays = num(values['keep-days'], 'keep-days');
  const { startCoordinator } = await import('./coordinator/server.js');
  const c = await startCoordinator({
    db: values.db ?? DEFAULT_DB,
    host: values.host,
    port: num(values.port, 'port'),
    leaseMs: num(values['lease-ms'], 'lease-ms'),
    maxLeaseMs: num(values['max-lease-ms'], 'max-lease-ms'),
    heartbeatMs: num(values['heartbeat-ms'], 'heartbeat-ms'),
    bytesPerSecond: num(values.bandwidth, 'bandwidth'),
    maxSubgraphSeconds: num(values['max-subgraph-seconds'], 'max-subgraph-seconds'),
    plan: plan(values.plan),
    maxGraphBytes: bytes(values['max-graph'], 'max-graph'),
    maxBlobBytes: bytes(values['max-blob'], 'max-blob'),
    keepGraphsMs: keepDays === undefined ? undefined : keepDays * 86_400_000,
  });
  console.log(`ravdl coordinator listening on ${c.url} (database: ${c.db.kind} ${c.db.where}); dashboard ${c.url}/dashboard/`);
  const sig = await untilSignal();
  console.log(`ravdl coordinator: ${sig}, stopping`);
  await c.close();
  return 0;
}

async function provider(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      server: { type: 'string' }, token: { type: 'string' }, threads: { type: 'string' }, 'max-memory': { type: 'string' }, slots: { type: 'string' }, name: { type: 'string' }, device: { type: 'string' },
      'list-federated': { type: 'boolean' }, federated: { type: 'string' }, data: { type: 'string' }, 'min-rows': { type: 'string' },
    },
  });
  const token = values.token ?? process.env.RAVDL_TOKEN;
  if (!values.server) throw new UsageError('provider: --server URL is required (the coordinator, e.g. http://127.0.0.1:8080)');
  if (!token) throw new UsageError('provider: --token TOKEN (or RAVDL_TOKEN) is required: npx ravdl token create --role provider');
  try {
    new URL(values.server);
  } catch {
    throw new UsageError(`provider: --server must be a URL, got ${JSON.stringify(values.server)}`);
  }
  if (values['list-federated'] || values.federated !== undefined) return federatedProvider(values.server, token, values);
  const { startProvider } = await import('./provider/provider.js');
  const threads = num(values.threads, 'threads');
  const slots = num(values.slots, 'slots');
  const p = await startProvider({ server: values.server, token, threads: threads || undefined, maxMemory: bytes(values['max-memory'], 'max-memory'), slots: slots || undefined, name: values.name, device: values.device as DeviceLike | undefined });
  const stop = untilSignal().then((sig) => {
    console.log(`[provider] ${sig}, stopping`);
    return p.stop();
  });
  try {
    await Promise.race([p.done, stop]);
  } catch (err) {
    console.error(`ravdl provider: ${(err as Error).message}`);
    return 2;
  }
  return 0;
}

/** provider --list-federated, or --federated GRAPH --data FILE: federated analytics (one contribution, then it exits). */
async function federatedProvider(server: string, token: string, values: { 'list-federated'?: boolean; federated?: string; data?: string; 'min-rows'?: string; name?: string }): Promise<number> {
  const { listFederatedGraphs, participate } = await import('./provider/federated.js');
  try {
    if (values['list-federated']) {
      const graphs = await listFederatedGraphs({ server, token });
      if (!graphs.length) console.log('no federated graph is waiting for this provider');
      for (const g of graphs) {
        const rules = Object.entries(g.rules.rules).map(([c, r]) => `${c}${r.min !== undefined || r.max !== undefined ? ` [${r.min ?? '-inf'}, ${r.max ?? 'inf'}]` : ''}`);
        console.log(`${g.id}  '${g.name}'  ${g.contributions}/${g.max_clients} contributions  columns: ${rules.join(', ')}`);
      }
      return 0;
    }
    if (!values.data) throw new UsageError('provider --federated GRAPH_ID needs --data FILE.csv (a header row naming the columns)');
    const minRows = num(values['min-rows'], 'min-rows');
    await participate({ server, token, graphId: values.federated!, file: values.data, name: values.name, minRows: minRows === undefined ? undefined : Math.floor(minRows) });
    return 0;
  } catch (err) {
    if (err instanceof UsageError) throw err;
    console.error(`ravdl provider: ${(err as Error).message}`);
    return 2;
  }
}

/** graphs [list] | graphs delete ID...: a requester's graphs on a coordinator, over its HTTP API. */
async function graphs(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { server: { type: 'string' }, token: { type: 'string' }, json: { type: 'boolean' } } });
  const [sub = 'list', ...ids] = positionals;
  if (sub !== 'list' && sub !== 'delete') throw new UsageError(`graphs: the subcommands are list (the default) and delete, got ${JSON.stringify(sub)}`);
  if (sub === 'list' && ids.length) throw new UsageError(`graphs list takes no ids, got ${ids.join(' ')}`);
  if (sub === 'delete' && !ids.length) throw new UsageError('graphs delete needs the ids of the graphs to delete (npx ravdl graphs lists them)');
  const token = values.token ?? process.env.RAVDL_TOKEN;
  if (!values.server) throw new UsageError('graphs: --server URL is required (the coordinator, e.g. http://127.0.0.1:8080)');
  if (!token) throw new UsageError('graphs: --token TOKEN (or RAVDL_TOKEN) is required: the requester token the graphs were run with');
  const { Http } = await import('./http.js');
  const { API } = await import('./protocol.js');
  const http = new Http(values.server.replace(/\/+$/, ''), token);
  try {
    if (sub === 'delete') {
      for (const id of ids) {
        await http.json(`${API}/graphs/${encodeURIComponent(id)}`, { method: 'DELETE' });
        console.log(`deleted ${id}`);
      }
      return 0;
    }
    const { graphs: list } = await http.json<{ graphs: { id: string; name: string; approach: string; status: string; error: string | null; subgraphs_done: number; subgraphs_total: number; persisted_done: number; persisted_total: number; created_at: number; updated_at: number }[] }>(`${API}/graphs`);
    if (values.json) console.log(JSON.stringify(list, null, 2));
    else if (!list.length) console.log('no graphs for this token');
    else {
      printTable(['id', 'name', 'status', 'subgraphs', 'persisted', 'created (UTC)', 'error'], list.map((g) => [g.id, g.name, g.status, `${g.subgraphs_done}/${g.subgraphs_total}`, `${g.persisted_done}/${g.persisted_total}`, day(g.created_at), g.error ?? '']));
    }
    return 0;
  } catch (err) {
    console.error(`ravdl graphs: ${(err as Error).message}`);
    return 2;
  }
}

async function token(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === 'create') return tokenCreate(rest);
  if (sub === 'list') return tokenList(rest);
  if (sub === 'revoke') return tokenRevoke(rest);
  throw new UsageError(`token: the subcommands are create, list and revoke, got ${JSON.stringify(sub ?? '')}`);
}

async function withDb<T>(spec: string | undefined, fn: (db: Db) => Promise<T>): Promise<T> {
  const db = await openDatabase(spec ?? DEFAULT_DB);
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

async function tokenCreate(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { role: { type: 'string' }, db: { type: 'string' }, label: { type: 'string' } } });
  if (!values.role || !(ROLES as readonly string[]).includes(values.role)) throw new UsageError(`token create: --role must be ${ROLES.join(' or ')}`);
  const { token, where } = await withDb(values.db, async (db) => ({ token: await createToken(db.db, values.role as Role, values.label ?? ''), where: db.where }));
  console.log(token);
  console.error(`(a ${values.role} token for ${where}, id ${tokenId(sha256(token))}: shown once, only its hash is stored)`);
  return 0;
}

const day = (ms: number) => new Date(ms).toISOString().slice(0, 19).replace('T', ' ');

/** Columns padded to their widest cell (the last one left as it is). */
function printTable(head: string[], rows: string[][]): void {
  const all = [head, ...rows];
  const widths = head.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  for (const r of all) console.log(r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  '));
}

async function tokenList(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { db: { type: 'string' }, json: { type: 'boolean' } } });
  const rows = await withDb(values.db, (db) => listTokens(db.db));
  if (values.json) return console.log(JSON.stringify(rows, null, 2)), 0;
  const use = (t: TokenListing) =>
    t.role === 'requester' ? `${t.graphs} graph(s)` : `${t.providers} provider(s), ${t.subgraphs_done} subgraph(s), ${(t.flops_done / 1e9).toFixed(1)} GFLOP, busy ${(t.busy_ms / 1000).toFixed(1)} s${t.disputed ? `, ${t.disputed} disputed` : ''}`;
  printTable(['id', 'role', 'label', 'created (UTC)', 'revoked (UTC)', 'use'], rows.map((t) => [t.id, t.role, t.label || '-', day(t.created_at), t.revoked_at === null ? '-' : day(t.revoked_at), use(t)]));
  if (!rows.length) console.log('(no tokens: npx ravdl token create --role requester|provider)');
  return 0;
}

async function tokenRevoke(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { db: { type: 'string' } } });
  if (positionals.length !== 1) throw new UsageError('token revoke: give one token id (npx ravdl token list shows them)');
  try {
    const r = await withDb(values.db, (db) => revokeToken(db.db, positionals[0]!));
    const what = `${r.role} token ${r.id}${r.label ? ` (${r.label})` : ''}`;
    console.log(r.already ? `${what} was already revoked at ${day(r.revoked_at)} UTC` : `revoked the ${what}: a running coordinator refuses it within about a second, ${r.role === 'provider' ? 'closing its connections (their work goes to other providers)' : 'failing its running graphs'}`);
    return 0;
  } catch (err) {
    if (!(err instanceof TokenError)) throw err;
    console.error(`ravdl token revoke: ${err.message}`);
    return 2;
  }
}

/** Starts a child `ravdl provider`, its output prefixed. */
function spawnProvider(label: string, server: string, token: string): ChildProcess {
  const child = spawn(process.execPath, [BIN, 'provider', '--server', server, '--threads', '1', '--name', label], { env: { ...process.env, RAVDL_TOKEN: token }, stdio: ['ignore', 'pipe', 'pipe'] });
  const prefix = (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) if (line.trim()) process.stderr.write(`  [${label}] ${line.replace(/^\[provider\] /, '')}\n`);
  };
  child.stdout!.on('data', prefix);
  child.stderr!.on('data', prefix);
  return child;
}

async function stopChild(child: ChildProcess, ms = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), ms);
  await exited;
  clearTimeout(t);
}

async function demo(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { epochs: { type: 'string' }, 'keep-open': { type: 'boolean' } } });
  const epochs = num(values.epochs, 'epochs') ?? 50;
  const example = join(ROOT, 'examples', 'graph_cnn.ts');
  if (!existsSync(example)) throw new UsageError(`demo: needs the repository's examples/ (not found at ${example}); run it from a checkout of ravdl`);
  const dir = mkdtempSync(join(tmpdir(), 'ravdl-demo-'));
  const { startCoordinator } = await import('./coordinator/server.js');
  console.log(`ravdl demo: an embedded coordinator (SQLite in ${dir}), two local providers, and the seed's CNN requester script (${epochs} epochs)`);
  // Loopback moves bytes fast: tell the partitioner, so the work is split between the providers.
  const c = await startCoordinator({ db: join(dir, 'coordinator.db'), port: 0, bytesPerSecond: 1e9, log: (l) => process.stderr.write(`  [coordinator] ${l}\n`) });
  const providers: ChildProcess[] = [];
  let code = 0;
  try {
    const providerToken = await createToken(c.db.db, 'provider', 'demo');
    const requesterToken = await createToken(c.db.db, 'requester', 'demo');
    providers.push(spawnProvider('provider-1', c.url, providerToken), spawnProvider('provider-2', c.url, providerToken));
    const t0 = Date.now();
    while ([...c.state.providers.values()].filter((p) => p.open).length < 2) {
      if (Date.now() - t0 > 60_000) throw new Error('demo: the providers did not connect within 60 s');
      if (providers.some((p) => p.exitCode !== null)) throw new Error('demo: a provider exited at start (see its output above)');
      await new Promise((r) => setTimeout(r, 100));
    }
    console.log(`dashboard: ${c.url}/dashboard/`);
    process.env.RAVDL_SERVER = c.url;
    process.env.TOKEN = requesterToken;
    const R = await import('../index.js');
    const { main } = (await import(pathToFileURL(example).href)) as { main: (o: { n_epochs: number; verbose: boolean }) => Promise<number> };
    const started = Date.now();
    const accuracy = await main({ n_epochs: epochs, verbose: true });
    const seconds = (Date.now() - started) / 1000;
    console.log(`\nfetched from the coordinator after ${seconds.toFixed(1)} s:`);
    for (const name of ['training_loss_epoch_1_batch_1', `training_loss_epoch_${epochs}_batch_1`, `validation_loss_epoch_${epochs}`]) {
      try {
        console.log(`  ${name}: ${R.fetch_persisting_op({ op_name: name }).item().toFixed(6)}`);
      } catch {
        /* a name this run does not have */
      }
    }
    console.log(`  prediction: ${R.fetch_persisting_op('prediction').shape.join(' x ')}; test accuracy ${accuracy.toFixed(4)}`);
    const dash = (await (await fetch(`${c.url}/api/dashboard`)).json()) as { providers: { name: string; subgraphs_done: number; capability: { gflops: number } }[] };
    for (const p of dash.providers) console.log(`  ${p.name}: ${p.subgraphs_done} subgraph(s) computed (${p.capability.gflops} GFLOP/s measured)`);
    if (values['keep-open']) {
      console.log(`dashboard: ${c.url}/dashboard/ (Ctrl-C to stop)`);
      await untilSignal();
    }
  } catch (err) {
    console.error(`ravdl demo failed: ${(err as Error).stack ?? err}`);
    code = 1;
  } finally {
    await Promise.all(providers.map((p) => stopChild(p)));
    await c.close();
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(code === 0 ? 'ravdl demo: done, everything stopped' : 'ravdl demo: stopped');
  return code;
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case 'coordinator':
        return await coordinator(rest);
      case 'provider':
        return await provider(rest);
      case 'token':
        return await token(rest);
      case 'graphs':
        return await graphs(rest);
      case 'demo':
        return await demo(rest);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        console.log(USAGE);
        return cmd === undefined ? 1 : 0;
      default:
        throw new UsageError(`unknown command ${JSON.stringify(cmd)}`);
    }
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      console.error(`ravdl: ${(err as Error).message}\n\n${USAGE}`);
      return 1;
    }
    console.error(`ravdl ${cmd}: ${(err as Error).message}`);
    return 1;
  }
}
