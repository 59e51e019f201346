import { setMaxListeners } from 'node:events';
import type { AuthorCredentials } from '../authors/AuthorRegistry';
import { newCatalogCallStats, type CatalogCallStats } from '../catalog/CatalogClient';
import type { ListingProgress } from '../catalog/consistentListing';
import { RetryBudget } from '../catalog/RetryBudget';
import { assessToken, describeMissingUnlisted, type TokenHealth } from '../catalog/tokenHealth';
import { isAbortError, throwIfAborted, toGalleryExportError } from '../errors';
import type { Manifest, Trigger } from '../snapshots/formats';
import type { ExportServices } from './ports';

export interface ExportAuthorRequest {
  runId: string;
  trigger: Trigger;
  author: AuthorCredentials;
  signal?: AbortSignal | undefined;
  onProgress?: (progress: ListingProgress) => void;
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
  const token = assessToken(author.accessToken, author.authorId, startedAt);
  const target = services.snapshots.open(author.authorId, runId);

  const existing = await target.prepare(signal);
  if (existing) return { manifest: existing, figures: newCatalogCallStats(), token, alreadyComplete: true };

  const figures = newCatalogCallStats();
  // The profile and the list are independent: ask for both at once, and stop the other when one fails.
  const catalogCalls = new AbortController();
  // Many requests of this author wait on it at once: not a listener leak.
  setMaxListeners(0, catalogCalls.signal);
  const callOptions = {
    token: token.sendToken ? (author.accessToken ?? undefined) : undefined,
    signal,
    queueSignal: catalogCalls.signal,
    stats: figures,
    retryBudget: new RetryBudget(),
  };
  const spool = services.createSpool();
  try {
    const [profileResult, listingResult] = await Promise.allSettled([
      services.catalog.getProfile(author.authorId, callOptions).catch((error: unknown) => {
        catalogCalls.abort();
        throw error;
      }),
      services.catalog
        .listEntities(author.authorId, spool, { ...callOptions, onProgress: request.onProgress })
        .catch((error: unknown) => {
          catalogCalls.abort();
          throw error;
        }),
    ]);
    if (profileResult.status === 'rejected' || listingResult.status === 'rejected') {
      throwIfAborted(signal);
      // The failure that came first is the cause; the other call was only stopped because of it.
      const failures: unknown[] = [profileResult, listingResult].flatMap((result) =>
        result.status === 'rejected' ? [result.reason as unknown] : [],
      );
      throw toGalleryExportError(failures.find((failure) => !isAbortError(failure)) ?? failures[0]);
    }
    const profile = profileResult.value;
    const listing = listingResult.value;
    throwIfAborted(signal);
    const profileFile = await target.writeFile('profile.json', profile.raw, signal);
    const entitiesFile = await target.writeFile('entities.json', spool.sortedJson(), signal);

    const warnings: string[] = [];
    const missing = describeMissingUnlisted(token.status);
    if (missing) warnings.push(missing);
    if (profile.entitiesCount !== undefined && profile.entitiesCount > listing.entities) {
      warnings.push(
        token.sendToken
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
      includesUnlisted: token.sendToken,
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
    await target.writeManifest(manifest, signal);
    return { manifest, figures, token, alreadyComplete: false };
  } finally {
    await spool.dispose();
  }
}
