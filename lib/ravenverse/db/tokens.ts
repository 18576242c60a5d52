// Tokens: 32 random bytes (base64url), shown once; only their SHA-256 is stored, with a role.
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { sha256 } from '../protocol.js';
import type { Database, TokensTable } from './schema.js';

export const ROLES = ['requester', 'provider'] as const;
export type Role = (typeof ROLES)[number];

/** Creates a token of `role` and returns it (the only time it is visible). */
export async function createToken(db: Kysely<Database>, role: Role, label = ''): Promise<string> {
  if (!(ROLES as readonly string[]).includes(role)) throw new Error(`role must be one of ${ROLES.join(', ')}, got ${JSON.stringify(role)}`);
  const token = `rv_${role[0]}_${randomBytes(32).toString('base64url')}`;
  await db.insertInto('tokens').values({ hash: sha256(token), role, label, created_at: Date.now() }).execute();
  return token;
}

/** The stored token whose hash matches, or null. */
export async function findToken(db: Kysely<Database>, token: string): Promise<Pick<TokensTable, 'hash' | 'role'> | null> {
  if (token.length < 16 || token.length > 256) return null;
  const row = await db.selectFrom('tokens').select(['hash', 'role']).where('hash', '=', sha256(token)).executeTakeFirst();
  return row ?? null;
}
