import { setMaxListeners } from 'node:events';
import { GalleryExportError, isGalleryExportError, throwIfAborted } from '../contract/errors';
import type { EntityCollector, ListedEntity, ListingProgress, ListingResult } from '../contract/catalogApi';
import type { EntityPage } from './catalogResponses';
import { abortableSleep } from './abortableSleep';
import { DEFAULT_CATALOG_CLIENT } from '../contract/defaults';

/**
 * Reading every entity exactly once from an offset-paged list whose data may change while it is read.
 *
 * The catalog pages by `$skip`/`$top` with no continuation token, so an insert or delete between two
 * page requests shifts every later item: one item can be skipped and another repeated, possibly with
 * the totals still adding up. Consecutive pages therefore overlap by one item: page k+1 must start with
 * the item page k ended with. A shift anywhere before that boundary breaks the match, a change of
 * `total_count` or a page of the wrong length gives the rest away, and a pass with any of these is
 * thrown away and read again, up to `maxPasses` times. Only a self-consistent pass is ever kept.
 */

export interface PageRequest {
  skip: number;
  top: number;
  /** 1-based pass number, for error context. */
  pass: number;
  signal: AbortSignal;
}

export type PageFetcher = (request: PageRequest) => Promise<EntityPage>;

export interface ConsistentListingOptions {
  /** `$top` requested. */
  pageSize: number;
  /** Passes before giving up with CATALOG_INCONSISTENT. @default 6 */
  maxPasses?: number;
  /** Pause before re-reading, multiplied by the pass number, so churn has a chance to settle. @default 100 */
  passRetryDelayMs?: number;
  signal?: AbortSignal;
  onProgress?: (progress: ListingProgress) => void;
  /** For messages only. */
  describeAuthor?: string;
  /**
   * Whether the first pass may read pages without overlapping them: only for an ordered list whose
   * pages each report total_count. Any pass thrown away is followed by overlapping ones. @default false
   */
  optimistic?: boolean;
  /** Told when a page of an optimistic pass came without total_count (the pass is then read again). */
  onTotalMissing?: () => void;
  /**
   * Pages of one pass requested ahead of the ones being stored. The client's concurrency budget bounds
   * the requests on the wire; this bounds the pages held in memory, whatever the author's size. @default 32
   */
  maxPagesInFlight?: number;
}

export const DEFAULT_MAX_PAGES_IN_FLIGHT = 32;

function pageRefused(error: unknown): boolean {
  return (
    isGalleryExportError(error, 'CATALOG_TOO_LARGE') ||
    (isGalleryExportError(error, 'CATALOG_HTTP') && error.statusCode === 400)
  );
}

class PassInconsistent extends Error {
  override readonly name = 'PassInconsistent';
}

export async function readConsistentListing(
  fetchPage: PageFetcher,
  collector: EntityCollector,
  options: ConsistentListingOptions,
): Promise<ConsistentListing> {
  const maxPasses = options.maxPasses ?? DEFAULT_CATALOG_CLIENT.maxPasses;
  const discardedPasses: string[] = [];
  let passOptions = options;
  // Data that moved once may move again: after a discarded pass, every page overlaps the one before.
  let overlap = options.optimistic !== true;
  for (let pass = 1; pass <= maxPasses; pass++) {
    throwIfAborted(options.signal);
    await collector.reset();
    try {
      const result = await readPass(fetchPage, collector, passOptions, pass, overlap);
      return { ...result, passes: pass, discardedPasses };
    } catch (error) {
      if (pageRefused(error) && passOptions.pageSize > 1) {
        // Pages too big to hold (very large entities), or a $top above what the service accepts (ASP.NET
        // OData answers 400 past its MaxTop): ask for smaller pages, fewer at a time. Not an
        // inconsistency, so the pass does not count.
        passOptions = {
          ...passOptions,
          pageSize: Math.max(1, Math.floor(passOptions.pageSize / 2)),
          maxPagesInFlight: 2,
        };
        discardedPasses.push(
          `pass ${pass}: a page was refused or too large; reading again ${passOptions.pageSize} at a time`,
        );
        pass--;
        continue;
      }
      // A page whose every attempt failed (the service was down for a while, or kept sending broken
      // bodies) costs this pass, not the author: the next pass asks again, within the author's budget.
      const pageLost =
        isGalleryExportError(error, 'CATALOG_UNAVAILABLE') || isGalleryExportError(error, 'CATALOG_INVALID');
      if (pageLost && pass >= maxPasses) throw error;
      if (!pageLost && !(error instanceof PassInconsistent)) throw error;
      discardedPasses.push(`pass ${pass}: ${(error as Error).message}`);
      overlap = true;
      if (pass < maxPasses) {
        await abortableSleep(
          (options.passRetryDelayMs ?? DEFAULT_CATALOG_CLIENT.passRetryDelayMs) * pass,
          options.signal,
        );
      }
    }
  }
  await collector.reset();
  throw new GalleryExportError(
    'CATALOG_INCONSISTENT',
    `The catalog's entity list${options.describeAuthor ? ` for author ${options.describeAuthor}` : ''} kept changing while it was paged: no consistent pass in ${maxPasses} attempts (last: ${discardedPasses.at(-1) ?? 'unknown'})`,
    { details: { passes: maxPasses } },
  );
}

type PassResult = Omit<ListingResult, 'passes' | 'discardedPasses' | 'ordered'>;

/** What one listing found; whether it was ordered is the caller's to say. */
export type ConsistentListing = Omit<ListingResult, 'ordered'>;

/**
 * One pass. With `overlap`, consecutive pages share an item that must match (a shift anywhere before a
 * boundary breaks it). Without, pages tile the list: every change shows in a page's total_count, a
 * repeated id or a count that does not add up, which each page must report for that reason. It saves a
 * page for a list that is a multiple of the page size (500 entities: 5 pages, not 6).
 */
async function readPass(
  fetchPage: PageFetcher,
  collector: EntityCollector,
  options: ConsistentListingOptions,
  pass: number,
  overlapPages: boolean,
): Promise<PassResult> {
  const passController = new AbortController();
  const signal = options.signal
    ? AbortSignal.any([options.signal, passController.signal])
    : passController.signal;
  // Every page request of the pass listens to it: many listeners on purpose, not a leak.
  setMaxListeners(0, signal);
  const requested = options.pageSize;
  const state = new PassState(collector, pass, options);

  const first = await fetchPage({ skip: 0, top: requested, pass, signal });
  const total = first.totalCount;
  if (total === undefined) return readSequentially(fetchPage, state, first, requested, signal);

  const served = first.items.length;
  if (total === 0 && served === 0) {
    return { reportedByCatalog: 0, entities: 0, unlisted: 0, pages: 1, effectivePageSize: requested };
  }
  if (served === 0 && total > 0)
    throw new PassInconsistent(`the first page was empty but total_count was ${total}`);
  if (served > total)
    throw new PassInconsistent(`the first page held ${served} items but total_count was ${total}`);
  // A page shorter than asked for while more remain means the catalog caps $top: page by what it serves.
  const pageSize = served > requested || (served < requested && total > served) ? served : requested;
  const overlap = overlapPages && pageSize >= 2;
  const stride = overlap ? pageSize - 1 : pageSize;
  const pageCount = total <= pageSize ? 1 : 1 + Math.ceil((total - pageSize) / stride);
  const firstIds: string[] = new Array<string>(pageCount);
  const lastIds: string[] = new Array<string>(pageCount);

  const accept = async (index: number, page: EntityPage): Promise<void> => {
    const skip = index * stride;
    // A catalog may send total_count on the first page only: a missing one is no evidence of change
    // when pages overlap, but without overlap the totals are the evidence.
    if (page.totalCount === undefined && !overlap && index > 0) {
      options.onTotalMissing?.();
      throw new PassInconsistent(`the page at $skip=${skip} has no total_count to check it by`);
    }
    if (page.totalCount !== undefined && page.totalCount !== total) {
      throw new PassInconsistent(
        `total_count changed from ${total} to ${String(page.totalCount)} at $skip=${skip}`,
      );
    }
    const expected = Math.min(pageSize, total - skip);
    if (page.items.length !== expected) {
      throw new PassInconsistent(
        `the page at $skip=${skip} held ${page.items.length} items, expected ${expected}`,
      );
    }
    firstIds[index] = page.items[0]!.id;
    lastIds[index] = page.items.at(-1)!.id;
    // The first item of every later page is the overlap with the page before: checked, not collected.
    await state.collect(index > 0 && overlap ? page.items.slice(1) : page.items, skip);
  };

  state.expected = total;
  await accept(0, first);
  if (pageCount > 1) {
    let firstFailure: Error | undefined;
    let next = 1;
    const worker = async (): Promise<void> => {
      while (next < pageCount && !passController.signal.aborted) {
        const index = next++;
        try {
          const page = await fetchPage({ skip: index * stride, top: pageSize, pass, signal });
          await accept(index, page);
        } catch (error) {
          // One bad page condemns the pass: stop the others now instead of paying for them.
          firstFailure ??= error instanceof Error ? error : new Error(String(error));
          passController.abort();
        }
      }
    };
    const workers = Math.min(options.maxPagesInFlight ?? DEFAULT_MAX_PAGES_IN_FLIGHT, pageCount - 1);
    const tasks = Array.from({ length: workers }, worker);
    // Wait for every task to settle so nothing from this pass reaches the collector after a reset.
    await Promise.all(tasks);
    if (firstFailure !== undefined) {
      throwIfAborted(options.signal);
      throw firstFailure;
    }
  }
  if (overlap) {
    for (let index = 1; index < pageCount; index++) {
      if (firstIds[index] !== lastIds[index - 1]) {
        throw new PassInconsistent(
          `the items shifted between the pages at $skip=${(index - 1) * stride} and $skip=${index * stride}`,
        );
      }
    }
  }
  if (state.entities !== total) {
    throw new PassInconsistent(`${state.entities} distinct entities were read but total_count was ${total}`);
  }
  return {
    reportedByCatalog: total,
    entities: state.entities,
    unlisted: state.unlisted,
    pages: pageCount,
    effectivePageSize: pageSize,
  };
}

/** Without a total_count nothing can be fetched ahead: follow the overlap page by page to the end. */
async function readSequentially(
  fetchPage: PageFetcher,
  state: PassState,
  first: EntityPage,
  pageSize: number,
  signal: AbortSignal,
): Promise<PassResult> {
  let page = first;
  let pages = 1;
  await state.collect(page.items, 0);
  // Positions [0, covered) have been read. Each step either adds at least one new item or ends the list,
  // so the loop always finishes.
  let covered = page.items.length;
  while (page.items.length > 0) {
    // Overlap by one item when pages hold two or more; a server serving one item per page cannot overlap.
    const overlap = page.items.length >= 2;
    const lastId = page.items.at(-1)!.id;
    const skip = overlap ? covered - 1 : covered;
    page = await fetchPage({ skip, top: pageSize, pass: state.pass, signal });
    pages++;
    let fresh = page.items;
    if (overlap) {
      if (page.items.length === 0)
        throw new PassInconsistent(`the page at $skip=${skip} lost the overlap item`);
      if (page.items[0]!.id !== lastId) throw new PassInconsistent(`the items shifted before $skip=${skip}`);
      fresh = page.items.slice(1);
    }
    if (fresh.length === 0) break;
    await state.collect(fresh, skip);
    covered = skip + page.items.length;
  }
  return {
    reportedByCatalog: state.entities,
    entities: state.entities,
    unlisted: state.unlisted,
    pages,
    effectivePageSize: pageSize,
  };
}

class PassState {
  private readonly seen = new Set<string>();
  private writing: Promise<void> = Promise.resolve();
  entities = 0;
  unlisted = 0;
  expected: number | undefined;

  constructor(
    private readonly collector: EntityCollector,
    readonly pass: number,
    private readonly options: ConsistentListingOptions,
  ) {}

  /** Records entities at distinct positions; a repeated id means the list moved under us. */
  async collect(items: readonly ListedEntity[], skip: number): Promise<void> {
    for (const item of items) {
      if (this.seen.has(item.id)) {
        throw new PassInconsistent(`entity ${item.id} appeared twice (again near $skip=${skip})`);
      }
      this.seen.add(item.id);
      this.entities++;
      if (item.hidden) this.unlisted++;
    }
    this.options.onProgress?.({ pass: this.pass, entities: this.entities, expected: this.expected });
    // Pages finish in any order; the collector sees them one at a time.
    const write = this.writing.then(() => this.collector.add(items));
    this.writing = write.catch(() => undefined);
    await write;
  }
}
