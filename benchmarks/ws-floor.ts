// The floor under the coordinator's throughput and latency rows: a server that speaks just enough
// of the provider protocol for the same simulated providers (hello -> welcome, complete -> the
// next assignment with the answer riding on it) and does nothing else: no scheduling, no state, no
// database, no result checks. Every assignment is one fixed frame of the size of a real one (a
// one-op subgraph with its 88-byte input inline, as the coordinator sends for the bench's wide
// graph), frames leave through the coordinator's own Outbox, and it runs where the coordinator
// does (the bench's process). What it measures is Node, `ws`, loopback and this machine's cores.
import { type Server, createServer } from 'node:http';
import WebSocket, { WebSocketServer } from 'ws';
import { encodeBlob } from '../lib/graph/format.js';
import { Outbox } from '../lib/ravenverse/coordinator/ws.js';
import { type Ack, PROTOCOL, PROVIDER_WS_PATH, decodeFrame, encodeFrame, messageBytes } from '../lib/ravenverse/protocol.js';

export interface WsFloor {
  url: string;
  /** Hands out n assignments to the connected providers; resolves once all n completions are in (rejects after timeoutMs). */
  run(n: number, timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

export async function startWsFloor(): Promise<WsFloor> {
  const input = encodeBlob([4], new Float32Array(4).fill(1));
  const graph = {
    format: 'ravdl-graph', version: 1, name: 'floor', algorithm: 'throughput', approach: 'distributed',
    nodes: [
      { op: 'const', blob: input.sha256, shape: [4], dtype: 'float32' },
      { op: 'add', attrs: {}, inputs: [[0, 0], [0, 0]], outputs: [{ shape: [4], dtype: 'float32' }] },
    ],
    persist: [{ name: '1:0', node: 1, output: 0 }],
  };
  const outbox = new Outbox();
  const idle: WebSocket[] = [];
  const acks = new Map<WebSocket, Ack[]>();
  let left = 0;
  let completions = 0;
  let target = 0;
  let done: (() => void) | null = null;
  let next = 0;

  const assign = (ws: WebSocket) => {
    const lease = `floor-${next++}`;
    const a = acks.get(ws) ?? [];
    acks.set(ws, []);
    const header = { type: 'assign', lease, graph_id: 'floor', subgraph: next, graph, blobs: [{ sha256: input.sha256, size: input.bytes.byteLength }], outputs: ['1:0'], expires_in_ms: 60_000, ...(a.length ? { acks: a } : {}) };
    outbox.push(ws, encodeFrame(header, [input]));
  };
  const dispatch = () => {
    while (left > 0 && idle.length) {
      left--;
      assign(idle.shift()!);
    }
    // Answers with no assignment to ride on go out alone, as the coordinator's do.
    if (left === 0) {
      for (const ws of idle) {
        const a = acks.get(ws);
        if (a?.length) outbox.push(ws, JSON.stringify({ type: 'acks', acks: a }));
        acks.set(ws, []);
      }
    }
  };

  const http: Server = createServer((_, res) => res.writeHead(404).end());
  const wss = new WebSocketServer({ server: http, path: PROVIDER_WS_PATH });
  wss.on('connection', (ws) => {
    acks.set(ws, []);
    ws.on('message', (data, isBinary) => {
      const buf = messageBytes(data);
      if (!isBinary) {
        const m = JSON.parse(buf.toString()) as { type: string };
        if (m.type === 'hello') {
          outbox.push(ws, JSON.stringify({ type: 'welcome', provider_id: 'floor', heartbeat_ms: 1000, lease_ms: 60_000, resumed: [], protocol: PROTOCOL }));
          idle.push(ws);
          dispatch();
        }
        return; // heartbeats
      }
      const { header } = decodeFrame(buf);
      acks.get(ws)!.push({ lease: (header as { lease: string }).lease, status: 'accepted' });
      idle.push(ws);
      if (++completions === target) done?.();
      dispatch();
    });
    ws.on('close', () => {
      const i = idle.indexOf(ws);
      if (i >= 0) idle.splice(i, 1);
    });
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  const port = (http.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    run(n, timeoutMs) {
      return new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`ws floor: ${completions - (target - n)} of ${n} completions in ${timeoutMs} ms`)), timeoutMs);
        target = completions + n;
        done = () => (clearTimeout(t), resolve());
        left = n;
        dispatch();
      });
    },
    async close() {
      for (const ws of wss.clients) ws.terminate();
      wss.close();
      await new Promise((r) => http.close(r));
    },
  };
}
