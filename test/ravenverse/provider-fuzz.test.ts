// A provider runs on a volunteer's machine: whatever a coordinator (or something posing as one)
// sends must not crash it or run anything but catalog ops. A fake coordinator sends a real
// provider seeded, bounded rounds of mangled messages (welcome, assignments as JSON and as frames,
// answers, cancels, errors, random bytes); the provider stays up, reports each assignment it
// cannot run as a typed failure, and still computes a good assignment sent afterwards, bit for bit.
import { once } from 'node:events';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type WebSocket, WebSocketServer } from 'ws';
import * as R from '../../lib/index.js';
import { encodeBlob, graphJson, hashConstants } from '../../lib/graph/format.js';
import { PROVIDER_WS_PATH, decodeFrame, encodeFrame, messageBytes } from '../../lib/ravenverse/protocol.js';
import { type Provider, startProvider } from '../../lib/ravenverse/provider/provider.js';
import { ODD, mangleJson, rng } from '../helpers/mangle.js';
import { waitFor } from './helpers.js';

const SEED = Number(process.env.RAVDL_FUZZ_SEED ?? 20261202);
const ROUNDS = 150;

/** A one-op subgraph (x * 3 + x) as a coordinator would send it: graph JSON and its input blob. */
function goodAssignment(lease: string) {
  R.flush();
  new R.Graph({ name: 'good', algorithm: 'fuzz', approach: 'distributed' });
  const x = R.t([1.5, -2, 0.25, 4]);
  R.add(R.mul(x, 3), x).persist_op('out');
  R.activate();
  const g = R.Graph.current()!.data;
  const blobs = new Map<string, Uint8Array>();
  hashConstants(g, (n) => n.data!, (sha, bytes) => blobs.set(sha, bytes));
  const header = {
    type: 'assign', lease, graph_id: 'g_fuzz', subgraph: 0, graph: graphJson(g),
    blobs: [...blobs].map(([sha256, b]) => ({ sha256, size: b.length })), outputs: ['out'], expires_in_ms: 60_000,
  };
  R.flush();
  return { header, inline: [...blobs].map(([sha256, bytes]) => ({ sha256, bytes })), expected: encodeBlob([4], new Float32Array([6, -8, 1, 16])).sha256 };
}

describe(`a provider fed mangled coordinator messages (seed ${SEED})`, () => {
  let wss: WebSocketServer;
  let server: Server;
  let url: string;
  let provider: Provider | null = null;
  const logs: string[] = [];
  /** What the provider sent, in order. */
  const received: { header: Record<string, unknown>; blobs: { sha256: string }[] }[] = [];
  let sock: WebSocket | null = null;
  let connections = 0;
  const welcome = { type: 'welcome', provider_id: '', heartbeat_ms: 1000, lease_ms: 60_000, resumed: [] as string[], protocol: 3 };

  beforeAll(async () => {
    // Its HTTP side knows no lease (as a coordinator that lost it): inputs not sent inline are a typed 404.
    server = createServer((_req, res) => res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'ERR_NOT_FOUND', message: 'no such lease' } })));
    wss = new WebSocketServer({ server, path: PROVIDER_WS_PATH });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    wss.on('connection', (ws) => {
      connections++;
      sock = ws;
      ws.on('message', (data, isBinary) => {
        const buf = messageBytes(data as Buffer);
        if (isBinary) {
          const f = decodeFrame(buf);
          received.push({ header: f.header as Record<string, unknown>, blobs: f.blobs });
        } else received.push({ header: JSON.parse(buf.toString()), blobs: [] });
        const m = received.at(-1)!.header;
        // Every hello (a reconnection after a message it could not take, too) is welcomed.
        if (m.type === 'hello') ws.send(JSON.stringify({ ...welcome, provider_id: m.provider_id, protocol: m.protocol }));
      });
    });
  });

  afterAll(async () => {
    await provider?.stop();
    wss?.close();
    server?.close();
  });

  it('stays up, reports each assignment it cannot run as a typed failure, and then computes a good one', async () => {
    provider = await startProvider({ server: url, token: 'rv_p_fuzz', threads: 1, log: (l) => logs.push(l) });
    await waitFor('connected', () => logs.some((l) => l.includes('connected to')), 10_000);

    const r = rng(SEED);
    for (let i = 0; i < ROUNDS; i++) {
      const lease = `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
      const good = goodAssignment(lease);
      const ack = { type: 'completed', lease, status: 'accepted' };
      const kind = r.int(9);
      let data: string | Buffer;
      if (kind === 0) data = JSON.stringify(mangleJson(welcome, r));
      else if (kind === 1) data = JSON.stringify(mangleJson(good.header, r));
      else if (kind === 2 || kind === 3) data = encodeFrame(mangleJson(good.header, r) as object, good.inline);
      else if (kind === 4) {
        const b = Buffer.from(encodeFrame(good.header, good.inline));
        for (let k = 1 + r.int(3); k > 0; k--) b[r.int(b.length)]! ^= 1 + r.int(255);
        data = b;
      } else if (kind === 5) data = JSON.stringify(mangleJson(r.pick([ack, { type: 'acks', acks: [ack] }, { type: 'cancel', lease, reason: 'x' }, { type: 'error', error: { code: 'ERR_X', message: 'm' } }]), r));
      else if (kind === 6) data = JSON.stringify(r.pick(ODD));
      else if (kind === 7) data = Buffer.from(Array.from({ length: 1 + r.int(200) }, () => r.int(256)));
      else data = encodeFrame({ ...good.header, graph: mangleJson(good.header.graph, r) }, good.inline);
      if (sock && sock.readyState === sock.OPEN) sock.send(data, { binary: typeof data !== 'string' });
      await new Promise((res) => setTimeout(res, 5));
    }
    // Whatever state the rounds left, a good assignment is computed exactly.
    await new Promise((res) => setTimeout(res, 500));
    await waitFor('an open connection', () => sock && sock.readyState === sock.OPEN, 20_000);
    const lease = '11111111-1111-4111-8111-111111111111';
    const good = goodAssignment(lease);
    sock!.send(encodeFrame(good.header, good.inline), { binary: true });
    const done = await waitFor('the good assignment completed', () => received.find((m) => m.header.type === 'complete' && m.header.lease === lease), 20_000);
    expect(done.header.outputs).toEqual({ out: good.expected });

    const failures = received.filter((m) => m.header.type === 'failed');
    for (const f of failures) expect((f.header.error as { code: string }).code, JSON.stringify(f.header)).toMatch(/^ERR_(?!INTERNAL)[A-Z_]+$/);
    console.log(`provider fuzz (seed ${SEED}): ${ROUNDS} rounds, ${failures.length} typed failure reports, ${connections} connection(s), ${received.filter((m) => m.header.type === 'complete').length} completion(s)`);
    expect(failures.length).toBeGreaterThan(5);
    expect(logs.filter((l) => /TypeError|RangeError|ReferenceError|worker thread error/.test(l))).toEqual([]);
  }, 120_000);
});
