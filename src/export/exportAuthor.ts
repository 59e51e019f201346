import type { AuthorCredentials } from '../contract/authorSecret';
import type { AuthorReading, ListingProgress, ListingResult } from '../contract/catalogApi';
import { newCatalogFigures } from '../contract/catalogApi';
import { throwIfAborted } from '../contract/errors';
import {
  MAX_LISTED_NEWCOMER_IDS,
  serializeDocument,
  type CatalogFigures,
  type Manifest,
  type Trigger,
} from '../contract/formats';
import { MANIFEST_FILE } from '../contract/layout';
import { assessToken, describeMissingUnlisted, type TokenHealth } from '../contract/tokenHealth';
import { traceBlobWrite } from '../telemetry/tracing';
import type { ExportServices, WriteFence } from './ports';

/**
 * What entitles an export to write: `fence` proves the run still holds its lock (and the writer its
 * claim) right before each write; `checkNotErased` proves no erasure of the author began since the run
 * started. An export writes nothing that has not passed both.
 */
export interface ExportGuard {
  fence: WriteFence;
  checkNotErased(signal?: AbortSignal): Promise<void>;
}

export interface ExportAuthorRequest {
  runId: string;
  trigger: Trigger;
  author: AuthorCredentials;
  signal?: AbortSignal | undefined;
  onProgress?: (progress: ListingProgress) => void;
  /**
   * `sole`: this process planned the run just now and claimed the author, so no earlier attempt can have
   * left files and nobody else writes the folder: the checks for those (two listings) are skipped.
   * `shared`: a queued delivery, which another delivery of the same message may race.
   */
  writer: 'sole' | 'shared';
  /**
   * For a shared writer: no earlier attempt can have written the folder, because this one made the
   * author's claim just now (an attempt writes only once it holds the claim). Saves the listing that
   * looks for an earlier attempt's files.
   */
  folderUntouched?: boolean;
  guard: ExportGuard;
}

export interface ExportedSnapshot {
  manifest: Manifest;
  figures: CatalogFigures;
  token: TokenHealth;
  /** True when this run already held a complete snapshot of the author (a redelivered message). */
  alreadyComplete: boolean;
}

type ExportAuthorServices = Pick<
  ExportServices,
  'catalog' | 'snapshots' | 'signer' | 'createSpool' | 'now' | 'generator'
>;

/**
 * Exports one author: profile and every entity from the catalog, then `profile.json`, `entities.json`,
 * `signature.json` when a signing key is configured and, last, `manifest.json`, which names the author's
 * previous complete snapshot (the chain). Nothing is written until the catalog has given a consistent
 * list, so a failure leaves no files; a failure while writing leaves files without a manifest, which
 * readers ignore and a later attempt of the same run removes. Every write passes the guard first.
 * Throws GalleryExportError on failure.
 */
export async function exportAuthor(
  services: ExportAuthorServices,
  request: ExportAuthorRequest,
): Promise<ExportedSnapshot> {
  const { author, runId, signal } = request;
  const startedAt = services.now();
  const token = assessToken(author.accessToken, author.authorId, startedAt, author.secretExpiresOn);
  const target = services.snapshots.open(author.authorId, runId);
  const shared = request.writer === 'shared';
  // Everything this export makes visible goes out right after one proof that it still may: no erasure
  // of the author has begun, and the run still holds its lock (see commitGuard).
  const fence = commitGuard(request.guard);

  if (shared && !request.folderUntouched) {
    const existing = await target.prepare({ signal, fence: request.guard.fence });
    if (existing) return { manifest: existing, figures: newCatalogFigures(), token, alreadyComplete: true };
  }
  const previous = await services.snapshots.latestComplete(author.authorId, signal);

  const spool = services.createSpool();
  try {
    const reading = await services.catalog.readAuthor(author.authorId, spool, {
      token:
        token.sendToken && author.accessToken
          ? { value: author.accessToken, expiresAt: token.expiresAt ? new Date(token.expiresAt) : undefined }
          : undefined,
      signal,
      onProgress: request.onProgress,
    });
    throwIfAborted(signal);
    const { profile, listing } = reading;
    // entities.json first: its blocks are staged out of sight, and its commit is the first visible write.
    const entitiesFile = await traceBlobWrite('entities', () =>
      target.writeFile('entities.json', spool.sortedJson({ lendChunks: true }), { signal, fence }),
    );
    const profileFile = await traceBlobWrite(
      'profile',
      () => target.writeFile('profile.json', profile.raw, { signal, fence }),
      profile.raw.length,
    );

    const manifest: Manifest = {
      schemaVersion: 1,
      runId,
      authorId: author.authorId,
      trigger: request.trigger,
      startedAt: startedAt.toISOString(),
      completedAt: services.now().toISOString(),
      source: { baseUrl: services.catalog.baseUrl },
      // A token that lapsed while the list was read was not used for the list that was kept.
      token: {
        status: reading.tokenDropped?.reason === 'expired' ? 'expired' : token.status,
        ...(token.expiresAt === undefined ? {} : { expiresAt: token.expiresAt }),
      },
      includesUnlisted: reading.tokenUsed,
      counts: {
        entities: listing.entities,
        unlisted: listing.unlisted,
        reportedByCatalog: listing.reportedByCatalog,
        ...(profile.entitiesCount === undefined ? {} : { profileEntitiesCount: profile.entitiesCount }),
      },
      warnings: describeWarnings(author, token, reading, startedAt),
      listing: describeListing(listing),
      files: [profileFile, entitiesFile],
      generator: services.generator,
      previous: previous ?? null,
    };
    // The signature covers the manifest's exact bytes, so they are made once and stored as signed.
    const bytes = serializeDocument(manifest);
    const signature = await services.signer?.sign(bytes, MANIFEST_FILE, signal);
    if (signature)
      await traceBlobWrite('signature', () => target.writeSignature(signature, { signal, fence }));
    await traceBlobWrite(
      'manifest',
      // No listing to check the files are still this attempt's: only the holder of the author's claim
      // writes or cleans up this folder, and the fence this write passes renewed that claim's lease.
      () => target.writeManifest(bytes, manifest, { signal, fence, checkFiles: false }),
      bytes.length,
    );
    return { manifest, figures: reading.figures, token, alreadyComplete: false };
  } finally {
    await spool.dispose();
  }
}

/**
 * The fence of an export's visible writes: the first one checks that no erasure of the author has begun
 * and renews the run's leases; the writes after it (the author's other files, each a few milliseconds
 * later) go out inside the time that proof holds for, and a new proof is made only once it has run out.
 */
function commitGuard(guard: ExportGuard): WriteFence {
  let proof: Promise<AbortSignal | undefined> | undefined;
  return async (signal) => {
    const current = proof && (await proof.catch(() => undefined));
    if (proof && current && !current.aborted) return current;
    proof = (async () => {
      await guard.checkNotErased(signal);
      return guard.fence(signal);
    })();
    return proof;
  };
}

/** How the list was read, for the manifest: entities left out as created during the export, by id. */
function describeListing(listing: ListingResult): NonNullable<Manifest['listing']> {
  const createdLater = listing.createdDuringListing ?? [];
  return {
    ordered: listing.ordered,
    passes: listing.passes,
    ...(createdLater.length === 0
      ? {}
      : {
          createdDuringExport: {
            count: createdLater.length,
            ids: [...createdLater].sort().slice(0, MAX_LISTED_NEWCOMER_IDS),
          },
        }),
  };
}

/** Why the snapshot may not hold everything, in words for its reader. */
function describeWarnings(
  author: AuthorCredentials,
  token: TokenHealth,
  reading: AuthorReading,
  startedAt: Date,
): string[] {
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
  if (reading.tokenDropped?.reason === 'refused') {
    warnings.push(
      `The catalog refused the access token (HTTP ${reading.tokenDropped.statusCode}), so only public entities are included.`,
    );
  }
  if (reading.tokenDropped?.reason === 'expired') {
    warnings.push(
      `The access token expired at ${token.expiresAt ?? reading.tokenDropped.expiredAt} while the entities were read, so the list was read again without it and unlisted entities are not included; the author must sign in again and register a fresh token.`,
    );
  }
  const { profile, listing } = reading;
  const createdLater = listing.createdDuringListing?.length ?? 0;
  if (!listing.ordered) {
    warnings.push(
      `The catalog refused $orderby, so the list was read unordered, ${listing.passes} times, and kept only when two passes found the same entities${createdLater > 0 ? ' (apart from entities created during the export)' : ''}.`,
    );
  }
  if (createdLater > 0) {
    warnings.push(
      `${createdLater === 1 ? 'One entity was' : `${createdLater} entities were`} created in the catalog while this export was reading it and ${createdLater === 1 ? 'is' : 'are'} not included; the next export will include ${createdLater === 1 ? 'it' : 'them'}. The catalog cannot list its entities in a stable order, so the export kept a list that two readings agreed on: it holds every entity that existed when the export began. The manifest names what was left out (listing.createdDuringExport).`,
    );
  }
  // Entities created during the export may be counted by the profile, read as the export began.
  if (profile.entitiesCount !== undefined && profile.entitiesCount > listing.entities + createdLater) {
    warnings.push(
      reading.tokenUsed
        ? `The profile reports ${profile.entitiesCount} entities but the list held ${listing.entities}: the catalog may have ignored the access token, so unlisted entities may be missing.`
        : `The profile reports ${profile.entitiesCount} entities but the list held ${listing.entities}: the others are probably unlisted.`,
    );
  }
  return warnings;
}
