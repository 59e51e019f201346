import { createHash } from 'node:crypto';

/** An author ID: 64 hex characters, derived by the gallery from the publisher's e-mail; never changes. */
const AUTHOR_ID = /^[0-9A-Fa-f]{64}$/;

export function isAuthorId(value: unknown): value is string {
  return typeof value === 'string' && AUTHOR_ID.test(value);
}

/**
 * Returns the canonical (upper-case, as the gallery shows it) form of a valid author ID, or undefined.
 * Only IDs that pass this check are ever placed in a URL, a filter or a blob path.
 */
export function normalizeAuthorId(value: unknown): string | undefined {
  return isAuthorId(value) ? value.toUpperCase() : undefined;
}

/** For messages: enough of an ID to recognise it without printing 64 characters. */
export function shortAuthorId(authorId: string): string {
  return authorId.length > 12 ? `${authorId.slice(0, 6)}…${authorId.slice(-4)}` : authorId;
}

/**
 * SHA-256 (hex) of the upper-case author ID: what erasure records hold instead of the ID, so they prove
 * which author was erased without naming anyone. Writers and `verify` must compute it the same way.
 */
export function authorIdDigest(authorId: string): string {
  return createHash('sha256').update(authorId.toUpperCase()).digest('hex');
}
