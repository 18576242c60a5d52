// What a provider accepts from its coordinator: every message is schema-checked before use, so a
// malformed one (a buggy coordinator, or something posing as one) is refused with a reason instead
// of throwing in the socket's handler, which would end the provider's process. Fields a newer
// coordinator may add are allowed; the fields this provider reads must have their types.
import { Ajv } from 'ajv';
import { type CoordinatorMessage, SHA256_RE } from '../protocol.js';

const ajv = new Ajv({ allErrors: false });
const lease = { type: 'string', minLength: 1, maxLength: 64 } as const;
const error = { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string', maxLength: 100 }, message: { type: 'string', maxLength: 10_000 } } } as const;
const ack = {
  oneOf: [
    { type: 'object', required: ['lease', 'status'], properties: { lease, status: { enum: ['accepted', 'duplicate', 'ignored'] } } },
    { type: 'object', required: ['lease', 'error'], properties: { lease, error } },
  ],
} as const;
const acks = { type: 'array', maxItems: 100_000, items: ack } as const;
const typed = (type: string, required: string[], properties: Record<string, unknown>) => ({
  type: 'object',
  required: ['type', ...required],
  properties: { type: { const: type }, ...properties },
});

const validate = ajv.compile<CoordinatorMessage>({
  oneOf: [
    typed('welcome', ['provider_id', 'heartbeat_ms', 'lease_ms', 'resumed'], {
      provider_id: { type: 'string', maxLength: 200 },
      heartbeat_ms: { type: 'number', exclusiveMinimum: 0 }, // clamped by the provider (HEARTBEAT_RANGE_MS)
      lease_ms: { type: 'number', minimum: 0 },
      resumed: { type: 'array', maxItems: 100_000, items: lease },
      protocol: { type: 'integer', minimum: 1 },
    }),
    typed('assign', ['lease', 'graph_id', 'subgraph', 'graph', 'blobs', 'outputs', 'expires_in_ms'], {
      lease,
      graph_id: { type: 'string', maxLength: 200 },
      subgraph: { type: 'integer', minimum: 0 },
      graph: { type: 'object' }, // checked whole by the executor's graph validation before anything runs
      blobs: { type: 'array', maxItems: 1_000_000, items: { type: 'object', required: ['sha256', 'size'], properties: { sha256: { type: 'string', pattern: SHA256_RE.source }, size: { type: 'integer', minimum: 0 } } } },
      outputs: { type: 'array', maxItems: 1_000_000, items: { type: 'string', maxLength: 1000 } },
      expires_in_ms: { type: 'number' },
      acks,
    }),
    typed('cancel', ['lease', 'reason'], { lease, reason: { type: 'string', maxLength: 10_000 } }),
    { allOf: [typed('completed', [], {}), ack] },
    typed('acks', ['acks'], { acks }),
    typed('error', ['error'], { error }),
  ],
});

/** The heartbeat interval a provider keeps, whatever its welcome asks: 0 would flood the coordinator, hours would lose the leases. */
export const HEARTBEAT_RANGE_MS = [50, 60_000] as const;

/** The message, or why it is refused. */
export function checkCoordinatorMessage(m: unknown): { ok: true; message: CoordinatorMessage } | { ok: false; why: string } {
  if (validate(m)) return { ok: true, message: m };
  return { ok: false, why: ajv.errorsText(validate.errors).slice(0, 300) };
}

/** The lease a refused assignment names, when it names one (its provider reports it failed, so the coordinator moves on). */
export function leaseOfAssignment(m: unknown): string | null {
  if (m === null || typeof m !== 'object') return null;
  const x = m as { type?: unknown; lease?: unknown };
  return x.type === 'assign' && typeof x.lease === 'string' && x.lease.length > 0 && x.lease.length <= 64 ? x.lease : null;
}
