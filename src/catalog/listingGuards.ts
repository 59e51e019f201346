import { createHash } from 'node:crypto';
import type { EntityCollector, ListedEntity } from '../contract/catalogApi';
import { isGalleryExportError } from '../contract/errors';

/** What keeps a listing honest beyond its pages' own checks: a token's lifetime, an unordered list. */

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

/**
 * Passes entities on to the real collector, and keeps their ids to tell whether two passes of an
 * unordered list found the same entities (order does not matter, the set does).
 */
export class IdDigestCollector implements EntityCollector {
  private ids: string[] = [];
  /** Entities were added while the list was still ordered: this pass's ids are not all known. */
  private partial = false;

  /** @param recording whether ids are kept now: only for an unordered list, which must be compared. */
  constructor(
    private readonly inner: EntityCollector,
    private readonly recording: () => boolean,
  ) {}

  async reset(): Promise<void> {
    this.ids = [];
    this.partial = false;
    await this.inner.reset();
  }

  async add(entities: readonly ListedEntity[]): Promise<void> {
    if (this.recording()) for (const entity of entities) this.ids.push(entity.id);
    else this.partial = true;
    await this.inner.add(entities);
  }

  /** A digest of the pass's ids, or undefined when they were not all kept. */
  digest(): string | undefined {
    if (this.partial) return undefined;
    return createHash('sha256').update(this.ids.sort().join('\n')).digest('hex');
  }
}
