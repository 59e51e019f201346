import { normalizeAuthorId } from './authorId';
import { GalleryExportError } from './errors';

/** One registered author as listed from the vault: properties only, the value is not read yet. */
export interface AuthorSecretRef {
  secretName: string;
  /** The part of the secret name after AUTHOR_SECRET_PREFIX. */
  label: string;
  enabled: boolean;
  notBefore: Date | undefined;
  expiresOn: Date | undefined;
  /** The `authorId` tag, upper-cased, when it is a valid author ID. */
  taggedAuthorId: string | undefined;
}

/** A validated secret value. The token is carried, never printed. */
export interface AuthorCredentials {
  secretName: string;
  authorId: string;
  accessToken: string | null;
  /** The secret's own expiry: once passed, the token is not used (public data is still exported). */
  secretExpiresOn?: Date | undefined;
}

/** A label is what follows AUTHOR_SECRET_PREFIX in a secret name: letters, digits and dashes. */
export const AUTHOR_LABEL = /^[A-Za-z0-9-]{1,100}$/;

/**
 * Parses the contract's secret value `{"authorId":"<64 hex>","accessToken":"<token>"|null}`.
 * Messages name the secret, never echo its value: a malformed value may well be a bare token.
 */
export function parseAuthorSecret(secretName: string, value: string | undefined): AuthorCredentials {
  const fail = (problem: string): GalleryExportError =>
    new GalleryExportError('AUTHOR_CONFIG', `Secret "${secretName}" ${problem}`, { details: { secretName } });
  let parsed: unknown;
  try {
    parsed = JSON.parse(value ?? '');
  } catch {
    throw fail('is not valid JSON: expected {"authorId":"<64 hex>","accessToken":"<token or null>"}');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw fail('is not a JSON object: expected {"authorId":"<64 hex>","accessToken":"<token or null>"}');
  }
  const record = parsed as Record<string, unknown>;
  const authorId = normalizeAuthorId(record.authorId);
  if (!authorId) throw fail('has no valid "authorId" (64 hexadecimal characters)');
  const token = record.accessToken;
  if (token !== undefined && token !== null && typeof token !== 'string') {
    throw fail('has an "accessToken" that is neither a string nor null');
  }
  return {
    secretName,
    authorId,
    accessToken: typeof token === 'string' && token.trim() !== '' ? token.trim() : null,
  };
}

/** The value written by register-author. */
export function formatAuthorSecret(authorId: string, accessToken: string | null): string {
  return JSON.stringify({ authorId, accessToken });
}

/** Why a listed secret is not exported in this run, or undefined when it should be. */
export function reasonToSkip(ref: AuthorSecretRef, now: Date): string | undefined {
  if (!ref.enabled) return 'the secret is disabled';
  if (ref.notBefore && ref.notBefore.getTime() > now.getTime()) {
    return `the secret is not yet valid (valid from ${ref.notBefore.toISOString()})`;
  }
  return undefined;
}
