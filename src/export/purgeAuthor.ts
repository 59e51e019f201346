import { authorIdDigest } from '../contract/authorId';
import { GalleryExportError, isGalleryExportError } from '../contract/errors';
import { serializeDocument, type ErasureRecord } from '../contract/formats';
import { erasureRecordPath, newRunId } from '../contract/layout';
import { keepRunLock } from './LeaseKeeper';
import type { AuthorRegistry, ExportServices } from './ports';

export type PurgeServices = Pick<
  ExportServices,
  'lock' | 'snapshots' | 'erasures' | 'signer' | 'logger' | 'now' | 'generator' | 'lockSeconds'
> & {
  /** Absent with `keepRegistration`: the vault is then not needed at all. */
  registry?: Pick<AuthorRegistry, 'findAuthorSecrets' | 'deleteSecrets' | 'location'> | undefined;
};

export interface PurgeRequest {
  authorId: string;
  /** Who asked (an operator's name or ticket): recorded in the erasure record. */
  requestedBy: string;
  /** Keep the author's Key Vault secrets: the next run then exports the author again. @default false */
  keepRegistration?: boolean;
  signal?: AbortSignal | undefined;
}

export interface PurgeResult {
  /** Undefined when there was nothing to erase and nothing registered (a repeated purge is a no-op). */
  record: ErasureRecord | undefined;
  path: string | undefined;
  /** True when the erasure record was signed. */
  signed: boolean;
}

/**
 * Erases an author: every snapshot (every blob, version and blob snapshot under `snapshots/<authorId>/`)
 * and, unless asked to keep it, the author's registration in Key Vault, so that the next run does not
 * re-create what was erased. It holds the run lock throughout, renewed by the same keeper as every other
 * holder, and every delete and write goes out under its fence. First of all it marks that the erasure has
 * begun, so that no export of the author writes afterwards, whatever run it belongs to; last it writes an
 * erasure record (signed when a key is configured) that proves the erasure without naming anyone.
 */
export async function purgeAuthor(services: PurgeServices, request: PurgeRequest): Promise<PurgeResult> {
  const { authorId, signal } = request;
  if (!request.keepRegistration && !services.registry) {
    throw new GalleryExportError(
      'CONFIG',
      'Ending the registration needs KEY_VAULT_URL (or --keep-registration)',
    );
  }
  const requestedAt = services.now();
  const leaseId = await services.lock.acquire(signal).catch((error: unknown) => {
    if (isGalleryExportError(error, 'RUN_LOCKED')) {
      throw new GalleryExportError(
        'RUN_LOCKED',
        'An export run is in progress; erase when it has finished (nothing was erased)',
        { statusCode: 409 },
      );
    }
    throw error;
  });
  const keeper = keepRunLock(services, leaseId);
  const purgeSignal = signal ? AbortSignal.any([signal, keeper.signal]) : keeper.signal;
  const fenced = { signal: purgeSignal, fence: keeper.fence };
  try {
    const stored = await services.snapshots.hasAny(authorId, purgeSignal);
    const erasureId = newRunId(requestedAt);
    // Without anything stored or registered there is nothing to prove: a repeated purge is a no-op
    // (and leaves no marker that would block the author for good).
    const deregister = !request.keepRegistration;
    const registered = deregister ? await services.registry!.findAuthorSecrets(authorId, purgeSignal) : [];
    if (!stored && registered.length === 0) return { record: undefined, path: undefined, signed: false };
    await services.erasures.begin(
      { erasureId, authorId, requestedAt: requestedAt.toISOString(), requestedBy: request.requestedBy },
      fenced,
    );
    const deleted = await services.snapshots.eraseAuthor(authorId, fenced);
    // After the blobs, before reporting success: a registration left behind would export the author again.
    const secretsRemoved = deregister ? await services.registry!.deleteSecrets(registered, fenced) : [];
    const record: ErasureRecord = {
      schemaVersion: 1,
      erasureId,
      authorIdSha256: authorIdDigest(authorId),
      requestedAt: requestedAt.toISOString(),
      completedAt: services.now().toISOString(),
      requestedBy: request.requestedBy,
      deleted,
      registration: {
        secretsRemoved,
        kept: !deregister,
        ...(services.registry ? { vault: services.registry.location } : {}),
      },
      generator: services.generator,
    };
    const bytes = serializeDocument(record);
    const signature = await services.signer?.sign(
      bytes,
      erasureRecordPath(erasureId).split('/').pop()!,
      purgeSignal,
    );
    const path = await services.erasures.complete(record, bytes, signature, fenced);
    return { record, path, signed: signature !== undefined };
  } finally {
    keeper.stop();
    await services.lock.release(leaseId).catch(() => undefined);
  }
}
