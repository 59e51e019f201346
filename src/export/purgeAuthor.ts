import { authorIdDigest } from '../contract/authorId';
import { GalleryExportError, isGalleryExportError, toGalleryExportError } from '../contract/errors';
import type { ErasurePlan, ErasureRecord } from '../contract/formats';
import { newRunId } from '../contract/layout';
import { keepRunLock } from './LeaseKeeper';
import type { AuthorRegistry, BegunErasure, ErasedBlobs, ExportServices } from './ports';

export type PurgeServices = Pick<
  ExportServices,
  'lock' | 'snapshots' | 'erasures' | 'signer' | 'logger' | 'now' | 'generator' | 'lockSeconds'
> & {
  /** Absent with `keepRegistration`: the vault is then not needed at all. */
  registry?:
    Pick<AuthorRegistry, 'findAuthorSecrets' | 'deleteSecrets' | 'deletedSecrets' | 'location'> | undefined;
};

export interface PurgeRequest {
  authorId: string;
  /** Who asked (an operator's name or ticket): recorded in the erasure record. */
  requestedBy: string;
  /** Keep the author's Key Vault secrets: the next run then exports the author again. @default false */
  keepRegistration?: boolean;
  /** The ID a new erasure takes (an erasure request's); one begun earlier keeps its own. @default a new one */
  erasureId?: string | undefined;
  signal?: AbortSignal | undefined;
}

/** What a purge of the author would erase now, found without changing anything. */
export interface PurgePreview {
  authorId: string;
  runIds: string[];
  /** Every blob under the author's snapshots (versions counted once), with its size. */
  files: Array<{ name: string; bytes: number }>;
  bytes: number;
  /** The Key Vault secrets naming the author (none looked for with `keepRegistration`). */
  secrets: string[];
  /** Disabled secrets under the prefix a preview did not read (reading means enabling); `--yes` reads them. */
  unreadDisabled: string[];
  /** An erasure that began and was not finished: the purge finishes it. */
  unfinished: BegunErasure | undefined;
  /** Nothing stored, nothing registered, nothing begun. */
  nothingToErase: boolean;
}

export type PurgeResult =
  | {
      state: 'erased';
      record: ErasureRecord;
      path: string;
      /** True when the erasure record was signed. */
      signed: boolean;
      /** True when this purge finished an erasure an earlier one began. */
      resumed: boolean;
    }
  | { state: 'nothing'; preview: PurgePreview };

/** Signed by a purge before its first delete, to prove the signing key is there and usable. */
const SIGNING_PROBE = Buffer.from('gallery-export: the signing key can sign an erasure record\n');

/**
 * What a purge needs, checked before anything is erased: storage (the author's blobs and erasures can be
 * listed), the vault (the author's secrets can be listed and read), the signing key when one is configured
 * (it signs a probe). Finds what the purge would erase. Any failure says that nothing was erased.
 */
export async function previewPurge(
  services: PurgeServices,
  request: PurgeRequest,
  options: { readDisabled?: boolean } = {},
): Promise<PurgePreview> {
  const { authorId, signal } = request;
  try {
    // The newest unfinished erasure is the one to finish: its record closes every one begun before it.
    const unfinished = (await services.erasures.unfinished(authorId, signal)).at(-1);
    const deregister = !request.keepRegistration || unfinished?.plan?.keepRegistration === false;
    if (deregister && !services.registry) {
      throw new GalleryExportError(
        'CONFIG',
        request.keepRegistration
          ? `The erasure ${unfinished!.erasureId} began without --keep-registration: finishing it ends the registration, which needs KEY_VAULT_URL`
          : 'Ending the registration needs KEY_VAULT_URL (or --keep-registration)',
      );
    }
    const inventory = await services.snapshots.inventoryAuthor(authorId, signal);
    const found = deregister
      ? await services.registry!.findAuthorSecrets(authorId, { signal, readDisabled: options.readDisabled })
      : { names: [], unreadDisabled: [] };
    if (services.signer) await services.signer.sign(SIGNING_PROBE, 'purge-preflight', signal);
    return {
      authorId,
      runIds: inventory.runIds,
      files: inventory.files,
      bytes: inventory.files.reduce((sum, file) => sum + file.bytes, 0),
      secrets: found.names,
      unreadDisabled: found.unreadDisabled,
      unfinished,
      nothingToErase:
        inventory.files.length === 0 &&
        found.names.length === 0 &&
        found.unreadDisabled.length === 0 &&
        unfinished === undefined,
    };
  } catch (error) {
    throw nothingErased(error);
  }
}

/**
 * Erases an author: every snapshot (every blob, version and blob snapshot under `snapshots/<authorId>/`)
 * and, unless asked to keep it, the author's registration in Key Vault, so that the next run does not
 * re-create what was erased; then an erasure record (signed when a key is configured) proves it without
 * naming anyone.
 *
 * A small state machine whose state lives in storage, each step create-once or idempotent, so that the
 * same command run again after an interruption anywhere (a kill, a vault or storage lost half-way)
 * finishes the erasure with the same record: the marker (from now on no export of the author writes),
 * the plan of what is erased, the deletes, the record's bytes, the signature, the record, then the plan is
 * removed. Everything it needs is checked before the marker (see previewPurge); it holds the run lock
 * throughout, and every write goes out under its fence.
 */
export async function purgeAuthor(services: PurgeServices, request: PurgeRequest): Promise<PurgeResult> {
  const { authorId, signal } = request;
  const leaseId = await services.lock.acquire(signal).catch((error: unknown) => {
    if (isGalleryExportError(error, 'RUN_LOCKED')) {
      throw new GalleryExportError(
        'RUN_LOCKED',
        'An export run (or another purge) is in progress; erase when it has finished. Nothing was erased.',
        { statusCode: 409 },
      );
    }
    throw nothingErased(error);
  });
  const keeper = keepRunLock(services, leaseId);
  const purgeSignal = signal ? AbortSignal.any([signal, keeper.signal]) : keeper.signal;
  const fenced = { signal: purgeSignal, fence: keeper.fence };
  try {
    // Under the lock, disabled secrets are read too (enabled for the moment): no run can start meanwhile.
    const preview = await previewPurge(services, { ...request, signal: purgeSignal }, { readDisabled: true });
    if (preview.nothingToErase) {
      // A purge killed right after its record leaves the plan, which names the author: remove it now.
      await services.erasures.discardProgress(authorId, undefined, fenced);
      return { state: 'nothing', preview };
    }
    const now = services.now();
    const begun: BegunErasure = preview.unfinished ?? {
      erasureId: request.erasureId ?? newRunId(now),
      requestedAt: now.toISOString(),
      requestedBy: request.requestedBy,
    };
    const authorIdSha256 = authorIdDigest(authorId);
    await services.erasures.begin(
      {
        schemaVersion: 1,
        erasureId: begun.erasureId,
        authorIdSha256,
        requestedAt: begun.requestedAt,
        requestedBy: begun.requestedBy,
      },
      fenced,
    );
    const plan = await services.erasures.savePlan(
      begun.plan ?? {
        schemaVersion: 1,
        erasureId: begun.erasureId,
        authorId,
        keepRegistration: request.keepRegistration === true,
        blobs: preview.files,
        runIds: preview.runIds,
        secrets: preview.secrets,
      },
      fenced,
    );
    const erased = await services.snapshots.eraseAuthor(authorId, fenced);
    // Finishing an erasure that began without --keep-registration ends the registration in any case.
    const deregister = !(plan.keepRegistration && request.keepRegistration === true);
    // Only what names the author now is deleted: the plan, read back from storage, is not trusted to say
    // what to delete. Its secrets count as removed when the vault holds them as deleted (a resumed purge).
    const removed = deregister ? await services.registry!.deleteSecrets(preview.secrets, fenced) : [];
    const removedEarlier = deregister
      ? await services.registry!.deletedSecrets(
          plan.secrets.filter((name) => !removed.includes(name)),
          purgeSignal,
        )
      : [];
    const record: ErasureRecord = {
      schemaVersion: 1,
      erasureId: begun.erasureId,
      authorIdSha256,
      requestedAt: begun.requestedAt,
      completedAt: services.now().toISOString(),
      requestedBy: begun.requestedBy,
      deleted: whatWasDeleted(plan, erased),
      registration: {
        // A secret of the plan that is gone now was deleted by this erasure, by this attempt or an earlier one.
        secretsRemoved: deregister ? union(removed, removedEarlier) : [],
        kept: !deregister,
        ...(services.registry ? { vault: services.registry.location } : {}),
      },
      generator: services.generator,
    };
    const bytes = await services.erasures.draftRecord(record, fenced);
    const signature = await services.signer?.sign(bytes, `${begun.erasureId}.json`, purgeSignal);
    const path = await services.erasures.complete(begun.erasureId, bytes, signature, fenced);
    await services.erasures.discardProgress(authorId, begun.erasureId, fenced);
    return {
      state: 'erased',
      record: JSON.parse(bytes.toString('utf8')) as ErasureRecord,
      path,
      signed: signature !== undefined,
      resumed: preview.unfinished !== undefined,
    };
  } catch (error) {
    throw unfinishedErasure(error, authorId);
  } finally {
    keeper.stop();
    await services.lock.release(leaseId).catch(() => undefined);
  }
}

/** What the plan found when the erasure began, and whatever this attempt found besides (once each). */
function whatWasDeleted(plan: ErasurePlan, erased: ErasedBlobs): ErasureRecord['deleted'] {
  const files = new Map(plan.blobs.map((file) => [file.name, file.bytes]));
  for (const file of erased.files) if (!files.has(file.name)) files.set(file.name, file.bytes);
  const runIds = union(plan.runIds, erased.runIds);
  return {
    snapshots: runIds.length,
    blobs: files.size,
    bytes: [...files.values()].reduce((sum, bytes) => sum + bytes, 0),
    runIds,
  };
}

function union(a: readonly string[], b: readonly string[]): string[] {
  return [...new Set([...a, ...b])].sort();
}

/** A failure before the first change: says that nothing was erased. */
function nothingErased(error: unknown): GalleryExportError {
  const failure = toGalleryExportError(error);
  if (/nothing was erased/i.test(failure.message)) return failure;
  return new GalleryExportError(failure.code, `${failure.message.replace(/\.?$/, '')}. Nothing was erased.`, {
    cause: failure,
    statusCode: failure.statusCode,
    details: failure.details,
  });
}

/** A failure after the marker: the erasure is unfinished, and the same command finishes it. */
function unfinishedErasure(error: unknown, authorId: string): GalleryExportError {
  const failure = toGalleryExportError(error);
  // PURGE_FAILED names what must be done first (a document to move aside, a policy): the same command
  // alone would fail the same way.
  if (/nothing was erased/i.test(failure.message) || failure.code === 'PURGE_FAILED') return failure;
  return new GalleryExportError(
    failure.code,
    `${failure.message.replace(/\.?$/, '')}. The erasure is unfinished: run the same command again to finish it (gallery-export purge --author ${authorId} --yes).`,
    { cause: failure, statusCode: failure.statusCode, details: failure.details },
  );
}
