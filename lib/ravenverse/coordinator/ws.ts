// The providers' WebSocket channel. The token is checked before the upgrade; then the provider
// says hello (its id and measured capability), gets work pushed as 'assign' messages, sends
// heartbeats for the leases it works on, and reports failures. A protocol-2 provider gets its
// assignments as binary frames with the small inputs inline and completes a lease with one
// binary frame carrying its results, answered by 'completed' once the result is durable; larger
// results (and protocol-1 providers) travel over HTTP. Every message is schema-checked, size-
// and rate-limited (completions of one's own leases are not counted against the rate); a
// provider that breaks the protocol or goes silent for a lease time is disconnected and its
// leases go back to the queue. Protocol 3: the answers wait (at most ACK_DELAY_MS) for the
// provider's next assignment and ride in its header.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { Ajv } from 'ajv';
import { type RawData, WebSocket, WebSocketServer } from 'ws';
import { type Ack, type CompleteHeader, type CoordinatorMessage, ID_RE, PROTOCOL, PROVIDER_WS_PATH, type ProviderMessage, SHA256_RE, decodeFrame, messageBytes } from '../protocol.js';
import type { CoordinatorState, ProviderConn } from './state.js';

export interface ChannelOptions {
  heartbeatMs: number;
  leaseMs: number;
  /** Longest a committed completion's answer waits for an assignment to ride on (protocol 3), ms. */
  ackDelayMs: number;
  /** Largest message a provider may send, bytes. */
  maxMessageBytes: number;
  /** Messages per second a provider may send on average (bursts of 4 s allowed). */
  messagesPerSecond: number;
  authenticate(token: string | null): Promise<{ hash: string; role: string; revoked: boolean } | null>;
  log(line: string): void;
}

const ajv = new Ajv({ allErrors: false });
const uuidList = { type: 'array', maxItems: 64, items: { type: 'string', maxLength: 64 } } as const;
const validate = ajv.compile<ProviderMessage>({
  oneOf: [
    {
      type: 'object',
      additionalProperties: false,
      required: ['type', 'provider_id', 'name', 'capability', 'leases'],
      properties: {
        type: { const: 'hello' },
        provider_id: { type: 'string', pattern: ID_RE.source },
        name: { type: 'string', maxLength: 200 },
        leases: uuidList,
        protocol: { type: 'integer', minimum: 1, maximum: 1000 },
        capability: {
          type: 'object',
          additionalProperties: false,
          required: ['gflops', 'memory_bytes', 'threads', 'slots', 'platform', 'version'],
          properties: {
            gflops: { type: 'number', minimum: 0, maximum: 1e9 },
            memory_bytes: { type: 'number', minimum: 0, maximum: 2 ** 53 },
            threads: { type: 'integer', minimum: 1, maximum: 4096 },
            slots: { type: 'integer', minimum: 1, maximum: 64 },
            platform: { type: 'string', maxLength: 200 },
            version: { type: 'string', maxLength: 100 },
            device: { type: 'string', pattern: '^(cpu|cuda:[0-9]{1,4})$' },
            device_name: { type: 'string', maxLength: 200 },
          },
        },
      },
    },
    { type: 'object', additionalProperties: false, required: ['type', 'leases'], properties: { type: { const: 'heartbeat' }, leases: uuidList } },
    {
      type: 'object',
      additionalProperties: false,
      required: ['type', 'lease', 'error'],
      properties: {
        type: { const: 'failed' },
        lease: { type: 'string', maxLength: 64 },
        error: { type: 'object', additionalProperties: false, required: ['code', 'message'], properties: { code: { type: 'string', maxLength: 100 }, message: { type: 'string', maxLength: 4000 } } },
      },
    },
  ],
});

const validateComplete = ajv.compile<CompleteHeader>({
  type: 'object',
  additionalProperties: false,
  required: ['type', 'lease', 'outputs'],
  properties: {
    type: { const: 'complete' },
    lease: { type: 'string', pattern: '^[0-9a-f-]{36}$' },
    outputs: { type: 'object', maxProperties: 100_000, propertyNames: { pattern: '^[0-9]{1,9}:[0-9]{1,4}$' }, additionalProperties: { type: 'string', pattern: SHA256_RE.source } },
  },
});

/** A provider's connection as this channel makes it. */
type WsConn = ProviderConn & { lastHeard: number; ack(a: Ack): void; takeAcks(): Ack[] | null };

/**
 * Frames for the providers wait until the end of the event loop's turn and then go out together.
 * On loopback (and on a busy machine) most of a send's cost is waking the receiving process; a
 * burst of completions answered by a burst of sends wakes each receiver once, not once per frame
 * with the coordinator's work in between. Order per socket is kept: every frame goes through here.
 */
export class Outbox {
  private pending = new Map<WebSocket, (string | Buffer)[]>();
  private scheduled = false;

  push(ws: WebSocket, data: string | Buffer): void {
    const q = this.pending.get(ws);
    if (q) q.push(data);
    else this.pending.set(ws, [data]);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flushAll());
    }
  }

  /** Closes a socket after what waits for it. */
  close(ws: WebSocket, code: number, reason: string): void {
    this.flush(ws);
    ws.close(code, reason);
  }

  /** Writes what waits for one socket now. */
  flush(ws: WebSocket): void {
    const q = this.pending.get(ws);
    if (!q) return;
    this.pending.delete(ws);
    if (ws.readyState !== WebSocket.OPEN) return;
    for (const data of q) ws.send(data, { binary: typeof data !== 'string' });
  }

  private flushAll(): void {
    this.scheduled = false;
    for (const ws of [...this.pending.keys()]) this.flush(ws);
  }
}

function refuse(socket: Duplex, status: number, code: string, message: string): void {
  const body = JSON.stringify({ error: { code, message } });
  const reason = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found' }[status] ?? 'Error';
  socket.end(`HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
}

export class ProviderChannel {
  private wss: WebSocketServer;
  /** Each open socket and the hash of the token it connected with. */
  private sockets = new Map<WebSocket, string>();
  private conns = new Set<WsConn>();
  private sweep: NodeJS.Timeout;
  private outbox = new Outbox();

  constructor(
    private state: CoordinatorState,
    private opts: ChannelOptions,
  ) {
    this.wss = new WebSocketServer({ noServer: true, maxPayload: opts.maxMessageBytes });
    // A provider silent for a whole lease time is dead or stuck: drop it so its work moves on.
    this.sweep = setInterval(() => {
      const now = Date.now();
      for (const c of this.conns) if (c.open && now - c.lastHeard > opts.leaseMs) c.close(4001, `no message for ${opts.leaseMs} ms`);
    }, Math.max(50, Math.min(250, opts.leaseMs / 8)));
  }

  /** The HTTP server's 'upgrade' handler. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => {});
    const path = (req.url ?? '').split('?')[0];
    if (path !== PROVIDER_WS_PATH) return refuse(socket, 404, 'ERR_NOT_FOUND', `no WebSocket at ${path}; providers connect to ${PROVIDER_WS_PATH}`);
    const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    this.opts.authenticate(m ? m[1]! : null).then(
      (tok) => {
        if (!tok) return refuse(socket, 401, 'ERR_UNAUTHORIZED', m ? 'unknown token' : 'missing token: send Authorization: Bearer <provider token>');
        if (tok.revoked) return refuse(socket, 401, 'ERR_UNAUTHORIZED', 'this token was revoked');
        if (tok.role !== 'provider') return refuse(socket, 403, 'ERR_FORBIDDEN', `a ${tok.role} token cannot connect as a provider`);
        this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, tok.hash));
      },
      (err) => {
        this.opts.log(`upgrade failed: ${(err as Error).message}`);
        refuse(socket, 400, 'ERR_INTERNAL', 'cannot check the token now');
      },
    );
  }

  private accept(ws: WebSocket, token: string): void {
    this.sockets.set(ws, token);
    let conn: (WsConn) | null = null;
    let tokens = this.opts.messagesPerSecond * 4;
    let last = Date.now();
    let chain = Promise.resolve();
    const sendRaw = (data: string | Buffer): boolean => {
      if (ws.readyState !== WebSocket.OPEN) return false;
      this.outbox.push(ws, data);
      return true;
    };
    const send = (msg: CoordinatorMessage): boolean => sendRaw(JSON.stringify(msg));
    const close = (code: number, reason: string) => this.outbox.close(ws, code, reason);
    const fail = (code: string, message: string, closeCode = 1008) => {
      send({ type: 'error', error: { code, message } });
      close(closeCode, message.slice(0, 120));
    };
    const helloTimer = setTimeout(() => fail('ERR_BAD_REQUEST', 'no hello within 10 s'), 10_000);
    ws.on('error', () => {});
    ws.on('message', (data: RawData, isBinary: boolean) => {
      const now = Date.now();
      tokens = Math.min(this.opts.messagesPerSecond * 4, tokens + ((now - last) / 1000) * this.opts.messagesPerSecond);
      last = now;
      if (--tokens < 0) return fail('ERR_RATE_LIMIT', `more than ${this.opts.messagesPerSecond} messages per second`);
      if (conn) conn.lastHeard = now;
      const buf = messageBytes(data);
      if (isBinary) {
        // A completion with its results (protocol 2).
        if (!conn || conn.protocol < 2) return fail('ERR_BAD_REQUEST', 'binary frames are completions, after a hello with protocol 2');
        let frame;
        try {
          frame = decodeFrame(buf, 10_000);
        } catch (err) {
          return fail('ERR_BAD_REQUEST', `malformed frame: ${(err as Error).message}`);
        }
        if (!validateComplete(frame.header)) return fail('ERR_BAD_REQUEST', `malformed completion: ${ajv.errorsText(validateComplete.errors).slice(0, 300)}`);
        const header = frame.header;
        if (conn.leases.has(header.lease)) tokens++; // answers work it was given: not counted
        const c = conn;
        chain = chain.then(() => this.complete(c, header, frame.blobs, send));
        return;
      }
      let msg: unknown;
      try {
        msg = JSON.parse(buf.toString());
      } catch {
        return fail('ERR_BAD_JSON', 'a message is not valid JSON');
      }
      if (!validate(msg)) return fail('ERR_BAD_REQUEST', `malformed message: ${ajv.errorsText(validate.errors).slice(0, 300)}`);
      if (msg.type === 'failed' && conn?.leases.has(msg.lease)) tokens++;
      // Messages of one provider are handled in order.
      const onHello = (c: WsConn) => {
        clearTimeout(helloTimer);
        conn = c;
      };
      chain = chain.then(() => this.handle(msg as ProviderMessage, conn, token, send, sendRaw, close, ws, onHello).catch((err) => {
        const e = err as Error & { code?: string };
        fail(e.code ?? 'ERR_INTERNAL', e.message);
      }));
    });
    ws.on('close', () => {
      clearTimeout(helloTimer);
      this.sockets.delete(ws);
      this.outbox.flush(ws); // drops what still waited: the socket is closed
      if (conn) {
        this.conns.delete(conn);
        conn.takeAcks(); // unsent answers are lost with the socket: the provider sends those completions again
        const c = conn;
        chain = chain.then(() => this.state.disconnected(c)).catch((err) => this.opts.log(`disconnect: ${(err as Error).message}`));
      }
    });
  }

  private async handle(
    msg: ProviderMessage,
    conn: (WsConn) | null,
    token: string,
    send: (m: CoordinatorMessage) => boolean,
    sendRaw: (data: string | Buffer) => boolean,
    close: (code: number, reason: string) => void,
    ws: WebSocket,
    onHello: (c: WsConn) => void,
  ): Promise<void> {
    if (msg.type === 'hello') {
      if (conn) throw Object.assign(new Error('hello sent twice'), { code: 'ERR_BAD_REQUEST' });
      const protocol = msg.protocol ?? 1;
      if (protocol > PROTOCOL) throw Object.assign(new Error(`this coordinator speaks provider protocols 1 to ${PROTOCOL}, the provider asked for ${protocol}: update the coordinator, or run a provider of its version`), { code: 'ERR_PROTOCOL' });
      // Protocol 3: answers to completions wait here for the next assignment (or ACK_DELAY_MS).
      let acks: Ack[] = [];
      let ackTimer: NodeJS.Timeout | null = null;
      const takeAcks = (): Ack[] | null => {
        if (ackTimer) (clearTimeout(ackTimer), (ackTimer = null));
        if (!acks.length) return null;
        const out = acks;
        acks = [];
        return out;
      };
      const c: WsConn = {
        id: msg.provider_id,
        token,
        name: msg.name,
        capability: msg.capability,
        protocol,
        leases: new Set(),
        open: true,
        lastHeard: Date.now(),
        send,
        sendRaw,
        close: (code, reason) => {
          c.open = false;
          takeAcks();
          close(code, reason);
        },
        ack: (a: Ack) => {
          if (protocol < 3) return void send({ type: 'completed', ...a });
          acks.push(a);
          ackTimer ??= setTimeout(() => {
            ackTimer = null;
            const due = takeAcks();
            if (due) send({ type: 'acks', acks: due });
          }, this.opts.ackDelayMs);
        },
        takeAcks,
      };
      const resumed = await this.state.hello(c, msg.leases);
      if (ws.readyState !== WebSocket.OPEN) {
        // The socket closed while hello was being recorded (its 'close' saw no provider yet): undo it here.
        c.open = false;
        return this.state.disconnected(c);
      }
      onHello(c);
      this.conns.add(c);
      send({ type: 'welcome', provider_id: c.id, heartbeat_ms: this.opts.heartbeatMs, lease_ms: this.opts.leaseMs, resumed, protocol });
      this.state.dispatch();
      return;
    }
    if (!conn) throw Object.assign(new Error(`'${msg.type}' before hello`), { code: 'ERR_BAD_REQUEST' });
    if (msg.type === 'heartbeat') return this.state.heartbeat(conn, msg.leases);
    if (msg.type === 'failed') return this.state.failed(conn, msg.lease, msg.error);
  }

  /** A protocol-2 completion: accepted (or refused) in order with the provider's other messages; answered once durable. */
  private async complete(conn: WsConn, h: CompleteHeader, blobs: { sha256: string; bytes: Uint8Array }[], send: (m: CoordinatorMessage) => boolean): Promise<void> {
    let r: Awaited<ReturnType<CoordinatorState['accept']>>;
    try {
      r = await this.state.accept(conn.token, h.lease, h.outputs, blobs);
    } catch (err) {
      const e = err as Error & { code?: string; status?: number };
      const typed = typeof e.code === 'string' && e.code.startsWith('ERR_');
      if (!typed) this.opts.log(`completion of lease ${h.lease} failed: ${e.stack ?? e.message}`);
      send({ type: 'completed', lease: h.lease, error: { code: typed ? e.code! : 'ERR_INTERNAL', message: e.message } });
      return;
    }
    r.durable.then(
      () => conn.ack({ lease: h.lease, status: r.status }),
      (err: Error) => send({ type: 'completed', lease: h.lease, error: { code: 'ERR_UNAVAILABLE', message: `not recorded (${err.message}): send it again once reconnected` } }),
    );
  }

  /** Closes every connection made with a token that was just revoked (its leases go back to the queue). */
  revoke(tokenHash: string): number {
    let n = 0;
    for (const [ws, t] of this.sockets) {
      if (t !== tokenHash || ws.readyState !== WebSocket.OPEN) continue;
      this.outbox.push(ws, JSON.stringify({ type: 'error', error: { code: 'ERR_UNAUTHORIZED', message: 'this provider token was revoked' } } satisfies CoordinatorMessage));
      this.outbox.close(ws, 4003, 'token revoked');
      n++;
    }
    return n;
  }

  async close(): Promise<void> {
    clearInterval(this.sweep);
    for (const ws of this.sockets.keys()) ws.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}
