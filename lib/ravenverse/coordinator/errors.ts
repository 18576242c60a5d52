// Typed API errors: every non-2xx answer is { error: { code, message } } with one of these codes.
export type ApiCode =
  | 'ERR_BAD_REQUEST'
  | 'ERR_BAD_JSON'
  | 'ERR_GRAPH'
  | 'ERR_BLOB'
  | 'ERR_HASH_MISMATCH'
  | 'ERR_MISSING_BLOBS'
  | 'ERR_UNAUTHORIZED'
  | 'ERR_FORBIDDEN'
  | 'ERR_NOT_FOUND'
  | 'ERR_NOT_READY'
  | 'ERR_CONFLICT'
  | 'ERR_LEASE_ENDED'
  | 'ERR_OFFSET'
  | 'ERR_TOO_LARGE'
  | 'ERR_MEDIA_TYPE'
  | 'ERR_RATE_LIMIT'
  | 'ERR_INTERNAL';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: ApiCode,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export const badRequest = (m: string) => new ApiError(400, 'ERR_BAD_REQUEST', m);
export const notFound = (m: string) => new ApiError(404, 'ERR_NOT_FOUND', m);
export const forbidden = (m: string) => new ApiError(403, 'ERR_FORBIDDEN', m);
export const conflict = (m: string) => new ApiError(409, 'ERR_CONFLICT', m);
