import { setMaxListeners } from 'node:events';
import type {
  AuthorReading,
  EntityCollector,
  ListingResult,
  Profile,
  ReadAuthorOptions,
} from '../contract/catalogApi';
import { newCatalogFigures } from '../contract/catalogApi';
import { normalizeAuthorId, shortAuthorId } from '../contract/authorId';
import { DEFAULT_CATALOG_CLIENT } from '../contract/defaults';
import {
  GalleryExportError,
  isAbortError,
  isGalleryExportError,
  throwIfAborted,
  toGalleryExportError,
} from '../contract/errors';
import type { AdaptiveLimiter } from './AdaptiveLimiter';
import { parseEntityPage, parseProfile, type EntityPage } from './catalogResponses';
import { CatalogTransport, anySignal, type RequestOptions } from './CatalogTransport';
import { readConsistentListing } from './consistentListing';
import { ListingClock } from './catalogClock';
import { isBadRequest, TOKEN_EXPIRY_MARGIN_MS, TokenLapsed } from './listingGuards';
import { UnorderedPasses } from './unorderedPasses';
import type { AuthorCallOptions, CatalogClientOptions, ListEntitiesOptions } from './catalogClientOptions';
import { DEFAULT_RETRY_TIMING } from './retryPolicy';
import { RetryBudget } from './RetryBudget';

/**
 * The Catalog API client: one keep-alive pool and one adaptive concurrency budget per process (the
 * transport), shared by every author; lists read by `readConsistentListing`; `readAuthor` is what the
 * export core asks for.
 */
export class CatalogClient {
  readonly baseUrl: string;
  private readonly transport: CatalogTransport;
  private readonly pageSize: number;
  private readonly concurrency: number;
  /** Cleared when the catalog refuses `$orderby`. */
  private orderBySupported = true;
  /** Cleared when a page of a list comes without total_count: pages must then overlap to be checked. */
  private totalsOnEveryPage = true;

  constructor(private readonly options: CatalogClientOptions) {
    const defaults = DEFAULT_CATALOG_CLIENT;
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.pageSize = options.pageSize ?? defaults.pageSize;
    this.concurrency = options.concurrency ?? defaults.concurrency;
    this.transport = new CatalogTransport({
      baseUrl: this.baseUrl,
      concurrency: this.concurrency,
      maxRetries: options.maxRetries ?? defaults.maxRetries,
      timeoutMs: options.timeoutMs ?? defaults.timeoutMs,
      timing: { ...DEFAULT_RETRY_TIMING, ...options.retryTiming },
      requestRetryBudgetMs: options.requestRetryBudgetMs ?? defaults.requestRetryBudgetMs,
      maxResponseBytes: options.maxResponseBytes ?? defaults.maxResponseBytes,
      random: options.random ?? Math.random,
      userAgent: options.userAgent ?? 'gallery-export',
      observer: options.observer,
    });
  }

  /** The process's one concurrency budget (for run figures and tests). */
  get limiter(): AdaptiveLimiter {
    return this.transport.limiter;
  }

  /**
   * One author, as the export core needs it: the profile and a consistent list, asked for at once; when
   * one fails the other stops taking new requests. A catalog that refuses the token (401/403) instead
   * of ignoring it, as the documented one does, still gives its public data.
   */
  async readAuthor(
    authorId: string,
    collector: EntityCollector,
    options: ReadAuthorOptions = {},
  ): Promise<AuthorReading> {
    const figures = newCatalogFigures();
    const retryBudget = new RetryBudget();
    // Every progress report carries the live counters, and a first one goes out before any request: a
    // display can then show retries and 429s while the first page is still being waited for.
    const { onProgress } = options;
    const call: ListEntitiesOptions = {
      signal: options.signal,
      stats: figures,
      retryBudget,
      onProgress: onProgress && ((progress) => onProgress({ ...progress, catalog: figures })),
    };
    onProgress?.({ pass: 1, entities: 0, expected: undefined, catalog: figures });
    const token = options.token?.value;
    if (token === undefined) {
      const { profile, listing } = await this.readBoth(authorId, collector, call);
      return { profile, listing, figures, tokenUsed: false };
    }
    const expiresAt = options.token?.expiresAt?.getTime();
    const now = this.options.now ?? Date.now;
    const tokenUsable = (): boolean => expiresAt === undefined || now() + TOKEN_EXPIRY_MARGIN_MS < expiresAt;
    const publicOnly = async (
      dropped: NonNullable<AuthorReading['tokenDropped']>,
    ): Promise<AuthorReading> => {
      const { profile, listing } = await this.readBoth(authorId, collector, call);
      return { profile, listing, figures, tokenUsed: false, tokenDropped: dropped };
    };
    const expired = {
      reason: 'expired' as const,
      expiredAt: new Date(expiresAt ?? Date.now()).toISOString(),
    };
    if (!tokenUsable()) return publicOnly(expired);
    try {
      const { profile, listing } = await this.readBoth(authorId, collector, { ...call, token, tokenUsable });
      return { profile, listing, figures, tokenUsed: true };
    } catch (error) {
      // Every page of the kept list must have carried a valid token, or none: read it again without.
      if (error instanceof TokenLapsed) return publicOnly(expired);
      const statusCode = isGalleryExportError(error, 'CATALOG_HTTP') ? error.statusCode : undefined;
      if (statusCode !== 401 && statusCode !== 403) throw error;
      return publicOnly({ reason: 'refused', statusCode });
    }
  }

  /** `GET /users/{authorId}`: the profile, exactly as received. 404 is CATALOG_NOT_FOUND. */
  async getProfile(authorId: string, options: AuthorCallOptions = {}): Promise<Profile> {
    const id = this.checkAuthorId(authorId);
    return this.transport.send(
      {
        route: 'profile',
        path: `/users/${id}`,
        what: `the profile of author ${shortAuthorId(id)}`,
        notFound: () =>
          new GalleryExportError(
            'CATALOG_NOT_FOUND',
            `The catalog has no author ${id} (GET /users answered 404)`,
            { statusCode: 404, details: { authorId: id } },
          ),
      },
      (body) => parseProfile(body, id),
      requestOptions(options),
    );
  }

  /**
   * Every entity of an author, listed and (with a usable token) unlisted, each exactly once, delivered
   * to `collector` pass by pass until one pass is self-consistent (ordered) or agrees with the one before
   * it (unordered: see UnorderedPasses).
   */
  async listEntities(
    authorId: string,
    collector: EntityCollector,
    options: ListEntitiesOptions = {},
  ): Promise<ListingResult> {
    const id = this.checkAuthorId(authorId);
    let passes = 0;
    const discardedPasses: string[] = [];
    // The catalog's clock, read from its first answer: what tells an entity published during the listing.
    const clock = new ListingClock();
    const unordered = new UnorderedPasses(clock);
    const maxPasses = this.options.maxPasses ?? DEFAULT_CATALOG_CLIENT.maxPasses;
    for (;;) {
      // Only an unordered list needs a pass recorded, to compare it with the next.
      const pass = unordered.collector(collector, () => !this.orderBySupported);
      const result = await this.readOnePassSet(id, pass, clock, options);
      passes += result.passes;
      discardedPasses.push(...result.discardedPasses);
      const finish = (listing: ListingResult): ListingResult => {
        if (options.stats) options.stats.passes += passes;
        return listing;
      };
      if (this.orderBySupported) return finish({ ...result, passes, discardedPasses, ordered: true });
      // A pass that found `$orderby` refused half-way was not recorded whole: it only starts the comparison.
      const comparison = unordered.judge(pass);
      if (comparison?.agree) {
        const { newcomers, hiddenNewcomers } = comparison;
        return finish({
          ...result,
          entities: result.entities - newcomers.length,
          unlisted: result.unlisted - hiddenNewcomers,
          passes,
          discardedPasses,
          ordered: false,
          ...(newcomers.length > 0 ? { createdDuringListing: [...newcomers] } : {}),
        });
      }
      if (comparison)
        discardedPasses.push(`an unordered pass differed from the one before it: ${comparison.reason}`);
      // Two passes must agree where one ordered pass proves itself: an unordered list gets twice the passes.
      if (passes >= 2 * maxPasses) {
        throw new GalleryExportError(
          'CATALOG_INCONSISTENT',
          `The catalog's unordered entity list for author ${shortAuthorId(id)} differed between every two passes in ${passes}${comparison ? ` (last: ${comparison.reason})` : ''}`,
          { details: { passes } },
        );
      }
      if (comparison?.unproven) {
        await unordered.settle(
          options.stopWaiting ? anySignal(options.signal, options.stopWaiting) : options.signal,
        );
      }
    }
  }

  /** One consistent listing (possibly after passes thrown away), as `readConsistentListing` reads it. */
  private readOnePassSet(
    id: string,
    collector: EntityCollector,
    clock: ListingClock,
    options: ListEntitiesOptions,
  ): ReturnType<typeof readConsistentListing> {
    // The ID is validated as 64 hex, so it cannot break out of the quoted literal.
    const filter = encodeURIComponent(`author/id eq '${id}'`);
    return readConsistentListing(
      async ({ skip, top, signal }): Promise<EntityPage> => {
        const { tokenUsable } = options;
        const tokenStillUsable =
          options.token !== undefined && tokenUsable
            ? (): void => {
                if (!tokenUsable())
                  throw new TokenLapsed('the access token expired while the entities were read');
              }
            : undefined;
        tokenStillUsable?.();
        const fetch = (ordered: boolean): Promise<EntityPage> =>
          this.transport.send(
            {
              route: 'entities',
              // A stable order makes offset paging repeatable; `$orderby` is part of the documented API.
              path: `/entities?$filter=${filter}${ordered ? '&$orderby=id' : ''}&$top=${top}&$skip=${skip}`,
              what: `the entities of author ${shortAuthorId(id)} at $skip=${skip}`,
            },
            (body, { date }) => {
              clock.observe(date);
              return parseEntityPage(body);
            },
            // Judged again before every attempt: a retry or a wait can outlast the token.
            { ...requestOptions(options), waitSignal: signal, beforeEachAttempt: tokenStillUsable },
          );
        let page: EntityPage;
        const ordered = this.orderBySupported;
        try {
          page = await fetch(ordered);
        } catch (error) {
          if (!ordered || !isBadRequest(error)) throw error;
          // A 400 may be about anything in the query ($top above the catalog's maximum, say): only when
          // the same page without `$orderby` is accepted has the catalog refused `$orderby` itself.
          try {
            page = await fetch(false);
          } catch (second) {
            throw isBadRequest(second) ? error : second;
          }
          this.orderBySupported = false;
        }
        if (options.stats) options.stats.pages++;
        return page;
      },
      collector,
      {
        pageSize: this.pageSize,
        maxPasses: this.options.maxPasses,
        passRetryDelayMs: this.options.passRetryDelayMs,
        signal: options.stopWaiting ? anySignal(options.signal, options.stopWaiting) : options.signal,
        onProgress: options.onProgress,
        describeAuthor: shortAuthorId(id),
        optimistic: this.orderBySupported && this.totalsOnEveryPage,
        onTotalMissing: () => {
          this.totalsOnEveryPage = false;
        },
        // Enough pages ahead to keep the whole budget busy on one author, and no more held in memory.
        maxPagesInFlight: Math.max(16, 2 * this.concurrency),
      },
    );
  }

  close(): Promise<void> {
    return this.transport.close();
  }

  private checkAuthorId(authorId: string): string {
    const id = normalizeAuthorId(authorId);
    if (!id) throw new GalleryExportError('AUTHOR_CONFIG', 'An author ID must be 64 hexadecimal characters');
    return id;
  }

  /**
   * The profile and the list are independent: both are asked for at once, and when one fails the other
   * stops taking new requests (those already on the wire finish, see `stopWaiting`).
   */
  private async readBoth(
    authorId: string,
    collector: EntityCollector,
    options: ListEntitiesOptions,
  ): Promise<{ profile: Profile; listing: ListingResult }> {
    const catalogCalls = new AbortController();
    // Many requests of this author wait on it at once: not a listener leak.
    setMaxListeners(0, catalogCalls.signal);
    const callOptions = { ...options, stopWaiting: catalogCalls.signal };
    const stopTheOther = (error: unknown): never => {
      catalogCalls.abort();
      throw error;
    };
    const [profileResult, listingResult] = await Promise.allSettled([
      this.getProfileTwice(authorId, callOptions).catch(stopTheOther),
      this.listEntities(authorId, collector, callOptions).catch(stopTheOther),
    ]);
    if (profileResult.status === 'fulfilled' && listingResult.status === 'fulfilled') {
      return { profile: profileResult.value, listing: listingResult.value };
    }
    throwIfAborted(options.signal);
    // The failure that came first is the cause; the other call was only stopped because of it.
    const failures: unknown[] = [profileResult, listingResult].flatMap((result) =>
      result.status === 'rejected' ? [result.reason as unknown] : [],
    );
    const lapsed = failures.find((failure) => failure instanceof TokenLapsed);
    if (lapsed) throw lapsed;
    throw toGalleryExportError(failures.find((failure) => !isAbortError(failure)) ?? failures[0]);
  }

  /**
   * The profile is one request: when every attempt of it failed on something transient, it gets one more
   * round (the list's pages get theirs from the next pass), within the author's retry budget.
   */
  private async getProfileTwice(authorId: string, options: AuthorCallOptions): Promise<Profile> {
    try {
      return await this.getProfile(authorId, options);
    } catch (error) {
      const transient =
        isGalleryExportError(error, 'CATALOG_UNAVAILABLE') || isGalleryExportError(error, 'CATALOG_INVALID');
      if (!transient || options.signal?.aborted || options.stopWaiting?.aborted) throw error;
      return this.getProfile(authorId, options);
    }
  }
}

function requestOptions(options: AuthorCallOptions): RequestOptions {
  return {
    token: options.token,
    signal: options.signal,
    waitSignal: options.stopWaiting,
    figures: options.stats,
    retryBudget: options.retryBudget,
  };
}
