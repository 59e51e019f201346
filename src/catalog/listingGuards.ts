import { isGalleryExportError } from '../contract/errors';

/** What keeps a listing honest beyond its pages' own checks: a token's lifetime (unordered lists: unorderedPasses.ts). */

/**
 * A token is not sent once it is this close to its expiry: the catalog judges it when the request
 * arrives, and a page answered without the unlisted entities would make the pass a mix of two lists.
 */
export const TOKEN_EXPIRY_MARGIN_MS = 10_000;

/** The token expired while the list was read: the listing is read again without it. */
export class TokenLapsed extends Error {
  override readonly name = 'TokenLapsed';
}

export function isBadRequest(error: unknown): boolean {
  return isGalleryExportError(error, 'CATALOG_HTTP') && error.statusCode === 400;
}
