import { setMaxListeners } from 'node:events';
import type { AuthorCredentials } from '../authors/AuthorRegistry';
import {
  newCatalogCallStats,
  type CatalogCallStats,
  type ListEntitiesOptions,
} from '../catalog/CatalogClient';
import type { Profile } from '../catalog/catalogResponses';
import type { ListingResult } from '../catalog/consistentListing';
import type { ListingProgress } from '../catalog/consistentListing';
import { RetryBudget } from '../catalog/RetryBudget';
import { assessToken, describeMissingUnlisted, type TokenHealth } from '../catalog/tokenHealth';
import { isAbortError, isGalleryExportError, throwIfAborted, toGalleryExportError } from '../errors';
import type { Manifest, Trigger } from '../snapshots/formats';
import type { ExportServices, SortedEntitySpool } from './ports';

export interface ExportAuthorRequest {
  runId: string;
  trigger: Trigger;
  author: AuthorCredentials;
  signal?: AbortSignal | undefined;
  onProgress?: (progress: ListingProgress) => void;
  /**
   * True when this process planned the run just now and claimed the author: no earlier attempt can have
   * left files and nobody else writes the folder, so the checks for those (two listings) are skipped.
   */
  fresh?: boolean;
}

export interface ExportedSnapshot {
  manifest: Manifest;
  figures: CatalogCallStats;
  token: TokenHealth;
  /** True when this run already held a complete snapshot of the author (a redelivered message). */
  alreadyComplete: boolean;
}

type ExportAuthorServices = Pick<
  ExportServices,
  'catalog' | 'snapshots' | 'createSpool' | 'now' | 'generator'
>;

/**
 * Exports one author: profile and every entity from the catalog, then `profile.json`, `entities.json`
 * and, last, `manifest.json`. Nothing is written until the catalog has given a consistent list, so a
 * failure leaves no files; a failure while writing leaves files without a manifest, which readers ignore
 * and a later attempt of the same run removes. Throws GalleryExportError on failure.
 */
export async function exportAuthor(
  services: ExportAuthorServices,
  request: ExportAuthorRequest,
): Promise<ExportedSnapshot> {
  const { author, runId, signal } = request;
  const startedAt = services.now();
  const token = assessToken(author.accessToken, author.authorId, startedAt, author.secretExpiresOn);
  const target = services.snapshots.open(author.authorId, runId);

  if (!request.fresh) {
    const existing = await target.prepare(signal);
    if (existing) return { manifest: existing, figures: newCatalogCallStats(), token, alreadyComplete: true };
  }

  const figures = newCatalogCallStats();
  const retryBudget = new RetryBudget();
  const warnings: string[] = [];
  const missing = describeMissingUnlisted(token.status);
  if (missing) {
    const secretExpired =
      token.status === 'expired' && author.secretExpiresOn && author.secretExpiresOn <= startedAt;
    warnings.push(
      secretExpired
        ? `The Key Vault secret expired at ${author.secretExpiresOn!.toISOString()}, so its token was not used and unlisted entities are not included; register a fresh token.`
        : missing,
    );
  }
  const spool = services.createSpool();
  try {
    let sentToken = token.sendToken ? (author.accessToken ?? undefined) : undefined;
    let read: CatalogRead;
    try {
      read = await readCatalog(services, author.authorId, spool, {
        token: sentToken,
        signal,
        stats: figures,
        retryBudget,
        onProgress: request.onProgress,
      });
    } catch (error) {
      // The documented catalog ignores a bad token; one that refuses it instead still has public data.
      const status = isGalleryExportError(error, 'CATALOG_HTTP') ? error.statusCode : undefined;
      if (sentToken === undefined || (status !== 401 && status !== 403)) throw error;
      sentToken = undefined;
      warnings.push(
        `The catalog refused the access token (HTTP ${status}), so only public entities are included.`,
      );
      read = await readCatalog(services, author.authorId, spool, {
        signal,
        stats: figures,
        retryBudget,
        onProgress: request.onProgress,
      });
    }
    const { profile, listing } = read;
    throwIfAborted(signal);
    const profileFile = await target.writeFile('profile.json', profile.raw, signal);
    const entitiesFile = await target.writeFile('entities.json', spool.sortedJson(), signal);

    if (profile.entitiesCount !== undefined && profile.entitiesCount > listing.entities) {
      warnings.push(
        sentToken
          ? `The profile reports ${profile.entitiesCount} entities but the list held ${listing.entities}: the catalog may have ignored the access token, so unlisted entities may be missing.`
          : `The profile reports ${profile.entitiesCount} entities but the list held ${listing.entities}: the others are probably unlisted.`,
      );
    }
    const manifest: Manifest = {
      schemaVersion: 1,
      runId,
      authorId: author.authorId,
      trigger: request.trigger,
      startedAt: startedAt.toISOString(),
      completedAt: services.now().toISOString(),
      source: { baseUrl: services.catalog.baseUrl },
      token:
        token.expiresAt === undefined
          ? { status: token.status }
          : { status: token.status, expiresAt: token.expiresAt },
      includesUnlisted: sentToken !== undefined,
      counts: {
        entities: listing.entities,
        unlisted: listing.unlisted,
        reportedByCatalog: listing.reportedByCatalog,
        ...(profile.entitiesCount === undefined ? {} : { profileEntitiesCount: profile.entitiesCount }),
      },
      warnings,
      files: [profileFile, entitiesFile],
      generator: services.generator,
    };
    await target.writeManifest(manifest, signal, { checkFiles: !request.fresh });
    return { manifest, figures, token, alreadyComplete: false };
  } finally {
    await spool.dispose();
  }
}

/**
 * The profile is one request: when every attempt of it failed on something transient, it gets one more
 * round (the list's pages get theirs from the next pass), within the author's retry budget.
 */
async function getProfileTwice(
  services: Pick<ExportServices, 'catalog'>,
  authorId: string,
  options: ListEntitiesOptions,
): Promise<Profile> {
  try {
    return await services.catalog.getProfile(authorId, options);
  } catch (error) {
    const transient =
      isGalleryExportError(error, 'CATALOG_UNAVAILABLE') || isGalleryExportError(error, 'CATALOG_INVALID');
    if (!transient || options.signal?.aborted || options.queueSignal?.aborted) throw error;
    return services.catalog.getProfile(authorId, options);
  }
}

interface CatalogRead {
  profile: Profile;
  listing: ListingResult;
}

/**
 * The profile and the list are independent: both are asked for at once, and when one fails the other
 * stops taking new requests (those already on the wire finish, see `queueSignal`).
 */
async function readCatalog(
  services: Pick<ExportServices, 'catalog'>,
  authorId: string,
  spool: SortedEntitySpool,
  options: ListEntitiesOptions,
): Promise<CatalogRead> {
  const catalogCalls = new AbortController();
  // Many requests of this author wait on it at once: not a listener leak.
  setMaxListeners(0, catalogCalls.signal);
  const callOptions = { ...options, queueSignal: catalogCalls.signal };
  const stopTheOther = (error: unknown): never => {
    catalogCalls.abort();
    throw error;
  };
  const [profileResult, listingResult] = await Promise.allSettled([
    getProfileTwice(services, authorId, callOptions).catch(stopTheOther),
    services.catalog.listEntities(authorId, spool, callOptions).catch(stopTheOther),
  ]);
  if (profileResult.status === 'fulfilled' && listingResult.status === 'fulfilled') {
    return { profile: profileResult.value, listing: listingResult.value };
  }
  throwIfAborted(options.signal);
  // The failure that came first is the cause; the other call was only stopped because of it.
  const failures: unknown[] = [profileResult, listingResult].flatMap((result) =>
    result.status === 'rejected' ? [result.reason as unknown] : [],
  );
  throw toGalleryExportError(failures.find((failure) => !isAbortError(failure)) ?? failures[0]);
}
