// Typed errors of the TypeScript layer. Every error carries the same `.code` strings as the
// native engine's errors (ERR_SHAPE, ...), so callers can switch on `.code` whatever raised it.

export type ErrorCode =
  | 'ERR_SHAPE'
  | 'ERR_DTYPE'
  | 'ERR_INDEX'
  | 'ERR_ATTR'
  | 'ERR_ARG'
  | 'ERR_BACKEND'
  | 'ERR_DEVICE'
  | 'ERR_DISPOSED'
  | 'ERR_GRAD'
  | 'ERR_GRAPH'
  | 'ERR_INTERNAL'
  | 'ABORT_ERR';

export class RavdlError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A shape that does not fit the op (rank, sizes, broadcasting, buffer length). */
export class ShapeError extends RavdlError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_SHAPE', message, options);
  }
}
/** A tensor of the wrong dtype for the op (e.g. int32 data where float32 is needed). */
export class DtypeError extends RavdlError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_DTYPE', message, options);
  }
}
/** An axis, class label or id outside its range. */
export class RangeIndexError extends RavdlError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_INDEX', message, options);
  }
}
/** An attribute (option) with a wrong type or value, or an unknown attribute name. */
export class AttrError extends RavdlError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_ATTR', message, options);
  }
}
/** A wrong argument that is not a shape, dtype, index or attribute (e.g. not a tensor). */
export class ArgError extends RavdlError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_ARG', message, options);
  }
}
/**
 * A device problem: an unknown device string, CUDA asked for where it is missing (the message
 * says why: not built with CUDA, runtime not loadable, no device), inputs of one op on different
 * devices, or an op without a kernel for its inputs' device.
 */
export class DeviceError extends RavdlError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_DEVICE', message, options);
  }
}
/** Use of a tensor after dispose() (or after the tidy() scope that owned it ended). */
export class DisposedError extends RavdlError {
  constructor(message: string) {
    super('ERR_DISPOSED', message);
  }
}
/** Autograd misuse: backward on a non-scalar without a gradient, through a freed graph, ... */
export class GradError extends RavdlError {
  constructor(message: string) {
    super('ERR_GRAD', message);
  }
}

/**
 * Graph mode: a value read while it is only a node of a graph being defined, a malformed or
 * over-limit graph (naming the node), a persisted name not computed yet or never persisted.
 */
export class GraphError extends RavdlError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_GRAPH', message, options);
  }
}

/**
 * An operation stopped by its AbortSignal (fit's `signal` option). Named and coded like Node's
 * own AbortError (`err.name === 'AbortError'`, `err.code === 'ABORT_ERR'`); `cause` is the
 * signal's reason.
 */
export class AbortError extends RavdlError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ABORT_ERR', message, options);
  }
}

const byCode: Record<string, new (m: string, o?: { cause?: unknown }) => RavdlError> = {
  ERR_SHAPE: ShapeError,
  ERR_DTYPE: DtypeError,
  ERR_INDEX: RangeIndexError,
  ERR_ATTR: AttrError,
  ERR_ARG: ArgError,
  ERR_DEVICE: DeviceError,
};

/** Converts an error thrown by the native engine into the typed error of its code. */
export function fromNative(err: unknown): unknown {
  if (err instanceof RavdlError || !(err instanceof Error)) return err;
  const code = (err as Error & { code?: string }).code;
  const Ctor = code ? byCode[code] : undefined;
  if (Ctor) return new Ctor(err.message, { cause: err });
  if (code === 'ERR_BACKEND') return new RavdlError('ERR_BACKEND', err.message, { cause: err });
  return err;
}
