// Tokens: 32 random bytes (base64url), shown once; only their SHA-256 is stored, with a role.
// A token is named by its id, the first 12 hex digits of its hash (what `token list` shows and
// `token revoke` takes). Revoking stamps revoked_at; a running coordinator polls for it.
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { sha256 } from '../protocol.js';
import type { Database, TokensTable } from './schema.js';

export const ROLES = ['requester', 'provider'] as const;
export type Role = (typeof ROLES)[number];

/** The name a token goes by in listings: the start of its hash (the token itself is never stored). */
export const tokenId = (hash: string): string => hash.slice(0, 12);
const ID_PREFIX_RE = /^[0-9a-f]{6,64}$/;

/** A token that cannot be revoked as asked (no such id, an ambiguous id, a malformed id). */
export class TokenError extends Error {
  constructor(
    message: string,
    readonly code: 'ERR_NOT_FOUND' | 'ERR_AMBIGUOUS' | 'ERR_BAD_REQUEST',
  ) {
    super(message);
  }
}

/** Creates a token of `role` and returns it (the only time it is visible). */
export async function createToken(db: Kysely<Database>, role: Role, label = ''): Promise<string> {
  if (!(ROLES as readonly string[]).includes(role)) throw new Error(`role must be one of ${ROLES.join(', ')}, got ${JSON.stringify(role)}`);
  const token = `rv_${role[0]}_${randomBytes(32).toString('base64url')}`;
  await db.insertInto('tokens').values({ hash: sha256(token), role, label, created_at: Date.now(), revoked_at: null }).execute();
  return token;
}

/** The stored token whose hash matches (revoked or not), or null. */
export async function findToken(db: Kysely<Database>, token: string): Promise<Pick<TokensTable, 'hash' | 'role' | 'revoked_at'> | null> {
  if (token.length < 16 || token.length > 256) return null;
  const row = await db.selectFrom('tokens').select(['hash', 'role', 'revoked_at']).where('hash', '=', sha256(token)).executeTakeFirst();
  return row ?? null;
}

export interface TokenListing {
  id: string;
  role: Role;
  label: string;
  created_at: number;
  revoked_at: number | null;
  /** Requesters: graphs uploaded. */
  graphs: number;
  /** Providers: provider ids seen with the token, and the work they were credited with. */
  providers: number;
  subgraphs_done: number;
  flops_done: number;
  busy_ms: number;
  /** Results of its providers that lost a vote of a replicated run. */
  disputed: number;
}

/** Every token, oldest first, with what was done with it. */
export async function listTokens(db: Kysely<Database>): Promise<TokenListing[]> {
  const tokens = await db.selectFrom('tokens').select(['hash', 'role', 'label', 'created_at', 'revoked_at']).orderBy('created_at').orderBy('hash').execute();
  const graphs = await db.selectFrom('graphs').select(['owner', (eb) => eb.fn.countAll<number>().as('n')]).groupBy('owner').execute();
  const work = await db
    .selectFrom('providers')
    .select([
      'token',
      (eb) => eb.fn.countAll<number>().as('n'),
      (eb) => eb.fn.sum<number>('subgraphs_done').as('subgraphs'),
      (eb) => eb.fn.sum<number>('flops_done').as('flops'),
      (eb) => eb.fn.sum<number>('busy_ms').as('busy'),
      (eb) => eb.fn.sum<number>('disputed').as('disputed'),
    ])
    .groupBy('token')
    .execute();
  const graphsOf = new Map(graphs.map((g) => [g.owner, Number(g.n)]));
  const workOf = new Map(work.map((w) => [w.token, w]));
  return tokens.map((t) => {
    const w = workOf.get(t.hash);
    return {
      id: tokenId(t.hash), role: t.role, label: t.label, created_at: Number(t.created_at), revoked_at: t.revoked_at === null ? null : Number(t.revoked_at),
      graphs: graphsOf.get(t.hash) ?? 0, providers: Number(w?.n ?? 0), subgraphs_done: Number(w?.subgraphs ?? 0), flops_done: Number(w?.flops ?? 0), busy_ms: Number(w?.busy ?? 0), disputed: Number(w?.disputed ?? 0),
    };
  });
}

/**
 * Revokes the one token whose hash starts with `id` (at least 6 hex digits; `token list` shows 12).
 * Revoking a revoked token changes nothing. Returns the token's listing line.
 */
export async function revokeToken(db: Kysely<Database>, id: string): Promise<{ id: string; role: Role; label: string; revoked_at: number; already: boolean }> {
  if (!ID_PREFIX_RE.test(id)) throw new TokenError(`a token id is 6 to 64 hex digits (token list shows them), got ${JSON.stringify(id.slice(0, 80))}`, 'ERR_BAD_REQUEST');
  const rows = await db.selectFrom('tokens').select(['hash', 'role', 'label', 'revoked_at']).where('hash', 'like', `${id}%`).limit(2).execute();
  if (!rows.length) throw new TokenError(`no token has the id ${id}`, 'ERR_NOT_FOUND');
  if (rows.length > 1) throw new TokenError(`the id ${id} names more than one token: give more of its digits`, 'ERR_AMBIGUOUS');
  const t = rows[0]!;
  if (t.revoked_at !== null) return { id: tokenId(t.hash), role: t.role, label: t.label, revoked_at: Number(t.revoked_at), already: true };
  const now = Date.now();
  await db.updateTable('tokens').set({ revoked_at: now }).where('hash', '=', t.hash).where('revoked_at', 'is', null).execute();
  return { id: tokenId(t.hash), role: t.role, label: t.label, revoked_at: now, already: false };
}

/** The hashes and roles of every revoked token (a coordinator polls this: revocations come from other processes). */
export async function revokedTokens(db: Kysely<Database>): Promise<{ hash: string; role: Role }[]> {
  return db.selectFrom('tokens').select(['hash', 'role']).where('revoked_at', 'is not', null).execute();
}

