import { normalizeAuthorId } from '../contract/authorId';
import { readJwtClaims } from '../contract/tokenHealth';
import { GalleryExportError } from '../contract/errors';
import { AUTHOR_LABEL } from '../contract/authorSecret';
import type { KeyVaultAuthorRegistry } from './KeyVaultAuthorRegistry';

export interface RegisterAuthorRequest {
  label: string;
  authorId: string;
  /** The DataLabAccessToken, or null to export public data only. */
  token: string | null;
  now: Date;
  signal?: AbortSignal | undefined;
}

export interface RegisteredAuthor {
  secretName: string;
  authorId: string;
  expiresOn: Date | undefined;
  /** Things the operator should know (an expired token, no token). */
  notes: string[];
}

/**
 * Registers (or re-registers, as a new secret version) an author. Everything is checked before anything
 * is written: a token whose `author_id` claim names another author, or that is not a JWT at all, is
 * refused as a usage error. The secret's `expiresOn` is the token's `exp`, so the vault shows when it
 * needs renewing.
 */
export async function registerAuthor(
  registry: KeyVaultAuthorRegistry,
  request: RegisterAuthorRequest,
): Promise<RegisteredAuthor> {
  if (!AUTHOR_LABEL.test(request.label)) {
    throw new GalleryExportError(
      'USAGE',
      `--label "${request.label.slice(0, 40)}" may hold only letters, digits and dashes (at most 100)`,
    );
  }
  const authorId = normalizeAuthorId(request.authorId);
  if (!authorId) throw new GalleryExportError('USAGE', '--author-id must be 64 hexadecimal characters');

  const notes: string[] = [];
  let expiresOn: Date | undefined;
  const token = request.token?.trim() || null;
  if (token) {
    const claims = readJwtClaims(token);
    if (!claims) {
      throw new GalleryExportError(
        'USAGE',
        'The token is not a JWT: paste the value of the DataLabAccessToken request header (nothing was written)',
      );
    }
    if (claims.authorId !== undefined && claims.authorId.toUpperCase() !== authorId) {
      throw new GalleryExportError(
        'USAGE',
        `The token belongs to another author (its author_id claim is ${claims.authorId.slice(0, 64)}); nothing was written`,
      );
    }
    if (claims.authorId === undefined)
      notes.push('The token has no author_id claim: exports will treat it as unreadable and not send it.');
    if (claims.exp !== undefined) {
      expiresOn = new Date(claims.exp * 1000);
      if (expiresOn.getTime() <= request.now.getTime()) {
        notes.push(
          `The token expired at ${expiresOn.toISOString()}: only public entities will be exported until a fresh token is registered.`,
        );
      }
    }
  } else {
    notes.push('No token: only public entities will be exported.');
  }
  const secretName = await registry.writeAuthor(request.label, authorId, token, expiresOn, request.signal);
  return { secretName, authorId, expiresOn, notes };
}
