import type { CatalogFigures } from './formats';

/**
 * The Catalog API's vocabulary as the export core sees it (shared/reference/catalog-api.md): an
 * author's profile and entities, exactly as the service sent them, and how a listing went. The catalog
 * client produces these; the core consumes them without knowing how they were fetched.
 */

export interface ListedEntity {
  /** The entity's id as a string (ids are compared and sorted by their UTF-16 code units). */
  id: string;
  /** Set when the catalog sent the id as a JSON number: such ids sort numerically. */
  numericId?: number;
  /** The entity's JSON exactly as received (its bytes within the page), unwrapped from `{"entity": ...}`. */
  raw: Buffer;
  /** `hidden: true`: an unlisted entity, only returned with a valid DataLabAccessToken. */
  hidden: boolean;
}

export interface Profile {
  /** `GET /users/{authorId}`'s body exactly as received. */
  raw: Buffer;
  /** The profile's `entities_count`, when it is a usable number. */
  entitiesCount: number | undefined;
}

/** Where a pass's entities go: a spool that can be emptied when a pass is thrown away. */
export interface EntityCollector {
  reset(): Promise<void>;
  /** Entities at distinct positions of the list, never called concurrently. */
  add(entities: readonly ListedEntity[]): Promise<void>;
}

export interface ListingProgress {
  pass: number;
  entities: number;
  /** total_count of the pass, when known. */
  expected: number | undefined;
  /**
   * The author's catalog calls so far (requests, retries, 429s), counted live: a progress display reads
   * it again as it redraws, so retries and throttling show while the client waits.
   */
  catalog?: Readonly<CatalogFigures>;
}

export interface ListingResult {
  /** `total_count` of the kept pass (or the entities counted when the catalog sent none). */
  reportedByCatalog: number;
  entities: number;
  unlisted: number;
  /** Pages read in the kept pass. */
  pages: number;
  /** Passes read, the kept one included. */
  passes: number;
  /** Page size the catalog actually served (it may cap `$top`). */
  effectivePageSize: number;
  /** Why earlier passes were thrown away. */
  discardedPasses: string[];
  /**
   * False when the catalog refused `$orderby`: the kept list was confirmed by a second pass that held the
   * same entities, byte for byte, apart from entities published after the listing began.
   */
  ordered: boolean;
  /**
   * Ids of the entities an unordered listing left out because they were published while it was read (their
   * `created_at` after it began): not collected, not counted in `entities`. Absent when none.
   */
  createdDuringListing?: string[];
}

/** An author's access token as the catalog client may use it: the value, and until when to send it. */
export interface CatalogToken {
  value: string;
  /** The JWT's `exp`: the token is not sent once it has passed (the catalog would ignore it anyway). */
  expiresAt?: Date | undefined;
}

export interface ReadAuthorOptions {
  /** Only a token judged usable at the start (see assessToken); absent for public data only. */
  token?: CatalogToken | undefined;
  signal?: AbortSignal | undefined;
  onProgress?: (progress: ListingProgress) => void;
}

/** One author's data from the catalog, read consistently. */
export interface AuthorReading {
  profile: Profile;
  listing: ListingResult;
  figures: CatalogFigures;
  /**
   * True when every request of the kept listing carried the token, so unlisted entities are included.
   * False when no token was given or it stopped being used (see `tokenDropped`).
   */
  tokenUsed: boolean;
  /** Why a token that was given was not used for the kept listing. */
  tokenDropped?:
    { reason: 'refused'; statusCode: number } | { reason: 'expired'; expiredAt: string } | undefined;
}

export function newCatalogFigures(): CatalogFigures {
  return { requests: 0, retries: 0, throttled: 0, pages: 0, passes: 0 };
}
