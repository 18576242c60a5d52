// The HTTP side of the requester client and the provider: fetch with the bearer token, typed
// errors from the coordinator's { error: { code, message } } bodies, and retries with
// exponential backoff while the coordinator cannot be reached (it may be restarting).
import { GraphError } from '../errors.js';

/** An error answer of the coordinator (status and its code), or a failure to reach it. */
export class RemoteError extends GraphError {
  constructor(
    message: string,
    readonly status: number,
    readonly remoteCode: string,
  ) {
    super(message);
  }
}

export interface RequestOptions {
  method?: string;
  body?: Uint8Array | string | object;
  headers?: Record<string, string>;
  /** Keep retrying connection failures, 429 and 5xx answers for this long, ms (default 0: no retry). */
  retryMs?: number;
  signal?: AbortSignal;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });

export class Http {
  constructor(
    readonly base: string,
    private token: string | null,
  ) {}

  /** The response of a 2xx answer (or 404/409 for HEAD); anything else throws RemoteError. */
  async request(path: string, opts: RequestOptions = {}): Promise<Response> {
    const deadline = Date.now() + (opts.retryMs ?? 0);
    let delay = 100;
    for (let attempt = 1; ; attempt++) {
      let res: Response;
      try {
        const headers: Record<string, string> = { ...opts.headers };
        if (this.token) headers.authorization = `Bearer ${this.token}`;
        let body: BodyInit | undefined;
        if (opts.body instanceof Uint8Array) {
          body = opts.body as Uint8Array<ArrayBuffer>;
          headers['content-type'] ??= 'application/octet-stream';
        } else if (typeof opts.body === 'string') {
          body = opts.body;
          headers['content-type'] ??= 'application/json';
        } else if (opts.body !== undefined) {
          body = JSON.stringify(opts.body);
          headers['content-type'] ??= 'application/json';
        }
        res = await fetch(this.base + path, { method: opts.method ?? 'GET', headers, body, signal: opts.signal });
      } catch (err) {
        if (opts.signal?.aborted) throw new RemoteError(`${opts.method ?? 'GET'} ${path}: aborted`, 0, 'ERR_ABORTED');
        if (Date.now() + delay > deadline) throw new RemoteError(`cannot reach the coordinator at ${this.base} (${(err as Error & { cause?: Error }).cause?.message ?? (err as Error).message})`, 0, 'ERR_UNREACHABLE');
        await sleep(delay, opts.signal);
        delay = Math.min(delay * 2, 2000);
        continue;
      }
      if (res.ok || (opts.method === 'HEAD' && res.status === 404)) return res;
      if ((res.status === 429 || res.status >= 500) && Date.now() + delay <= deadline) {
        await res.body?.cancel();
        await sleep(delay, opts.signal);
        delay = Math.min(delay * 2, 2000);
        continue;
      }
      let code = `HTTP_${res.status}`;
      let message = res.statusText;
      try {
        const j = (await res.json()) as { error?: { code?: string; message?: string } };
        if (j.error?.code) code = j.error.code;
        if (j.error?.message) message = j.error.message;
      } catch {
        /* not a JSON body */
      }
      throw new RemoteError(`coordinator: ${opts.method ?? 'GET'} ${path.split('?')[0]}: ${res.status} ${code}: ${message}`, res.status, code);
    }
  }

  async json<T>(path: string, opts: RequestOptions = {}): Promise<T> {
    return (await this.request(path, opts)).json() as Promise<T>;
  }

  async bytes(path: string, opts: RequestOptions = {}): Promise<Buffer> {
    return Buffer.from(await (await this.request(path, opts)).arrayBuffer());
  }
}
