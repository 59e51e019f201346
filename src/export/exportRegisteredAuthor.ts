import { shortAuthorId } from '../contract/authorId';
import type { ListingProgress } from '../contract/catalogApi';
import { abortError, GalleryExportError, toGalleryExportError } from '../contract/errors';
import type { AuthorOutcome } from '../contract/formats';
import type { AuthorWorkItem } from '../contract/workItem';
import { traceAuthor } from '../telemetry/tracing';
import { isTransient } from './errorPolicy';
import { exportAuthor, type ExportGuard } from './exportAuthor';
import type { LeaseKeeper } from './LeaseKeeper';
import type { AuthorClaim, ExportServices } from './ports';
import { logTokenHealth } from './runLogLines';

export interface AuthorExportResult {
  outcome: AuthorOutcome;
  /** True when the failure is transient and another delivery may succeed. */
  retryable: boolean;
}

export interface ExportRegisteredAuthorOptions {
  signal?: AbortSignal | undefined;
  onProgress?: (progress: ListingProgress) => void;
  /**
   * `sole`: this process planned the run just now and is its only writer (the in-process run): nothing
   * can be recorded yet and nobody else writes. `shared`: a queued delivery, which may be a redelivery
   * or race another one.
   */
  writer: 'sole' | 'shared';
  /** Keeps the run lock (and, for a shared writer, the claim on the author) and fences every write. */
  keeper: LeaseKeeper;
  /** When storage created the run record: erasures begun after it forbid this export to write. */
  runCreatedOn: Date;
  /**
   * For a sole writer: claims the author for this secret; returns the secret that claimed it first.
   * Two untagged secrets of one author are only seen to be the same once their values are read.
   */
  claimAuthor?: (authorId: string, secretName: string) => string | undefined;
}

/**
 * The per-author unit of work, shared by the in-process run and the queue-triggered function: reads the
 * author's secret, claims the author for it, exports under the run's lock, and returns the outcome (it
 * does not record it). Never throws for an author's own failure; an outcome already recorded for this
 * run is returned as it is.
 */
export function exportRegisteredAuthor(
  services: ExportServices,
  work: AuthorWorkItem,
  options: ExportRegisteredAuthorOptions,
): Promise<AuthorExportResult> {
  return traceAuthor(work, () => exportOne(services, work, options));
}

async function exportOne(
  services: ExportServices,
  work: AuthorWorkItem,
  options: ExportRegisteredAuthorOptions,
): Promise<AuthorExportResult> {
  const startedAt = services.now();
  let authorId: string | null = null;
  const finish = (fields: Partial<AuthorOutcome> & Pick<AuthorOutcome, 'status'>): AuthorOutcome => {
    const completedAt = services.now();
    return {
      secretName: work.secretName,
      authorId,
      ...fields,
      startedAt: startedAt.toISOString(),
      completedAt: completedAt.toISOString(),
      durationMs: completedAt.getTime() - startedAt.getTime(),
    };
  };
  const { keeper, writer } = options;
  // Losing the lock stops everything the author's export is doing.
  const signal = options.signal ? AbortSignal.any([options.signal, keeper.signal]) : keeper.signal;
  let claim: AuthorClaim | undefined;
  // A complete export keeps its claim until the lease lapses: its outcome is recorded next, and a
  // redelivery reads that outcome before it claims anything. Any other end frees it for a retry at once.
  let exported = false;
  try {
    const author = await services.registry.readAuthor(work.secretName, signal);
    authorId = author.authorId;
    claim =
      writer === 'sole'
        ? { claimedBy: options.claimAuthor?.(author.authorId, work.secretName) ?? work.secretName }
        : await services.runs.claimAuthor(work.runId, author.authorId, work.secretName, {
            leaseSeconds: services.lockSeconds,
            signal,
          });
    if (claim.claimedBy !== work.secretName) {
      return {
        outcome: finish({ status: 'skipped', reason: `same author as secret ${claim.claimedBy}` }),
        retryable: false,
      };
    }
    if (claim.hold)
      keeper.add({ lease: claim.hold, what: `the claim on author ${shortAuthorId(author.authorId)}` });
    if (writer === 'shared' && !claim.madeNow) {
      // An earlier delivery held this claim: it may have recorded the author while this one waited.
      const recorded = await services.runs.readOutcome(work.runId, work.secretName, signal);
      if (recorded) return { outcome: recorded, retryable: false };
    }
    const guard: ExportGuard = {
      fence: keeper.fence,
      checkNotErased: async (checkSignal) => {
        const erasures = await services.erasures.blocking(author.authorId, options.runCreatedOn, checkSignal);
        if (erasures.length > 0) {
          throw new GalleryExportError(
            'AUTHOR_ERASED',
            `An erasure of author ${author.authorId} began after this run started (${erasures.join(', ')}): nothing more is written for it`,
          );
        }
      },
    };
    const result = await exportAuthor(services, {
      runId: work.runId,
      trigger: work.trigger,
      author,
      signal,
      onProgress: options.onProgress,
      writer,
      folderUntouched: claim.madeNow === true,
      guard,
    });
    logTokenHealth(services, work.secretName, author.authorId, result.token.status, result.token.expiresAt);
    exported = true;
    const { manifest, figures } = result;
    return {
      outcome: finish({
        status: 'complete',
        tokenStatus: manifest.token.status,
        ...(manifest.token.expiresAt ? { tokenExpiresAt: manifest.token.expiresAt } : {}),
        counts: {
          entities: manifest.counts.entities,
          unlisted: manifest.counts.unlisted,
          reportedByCatalog: manifest.counts.reportedByCatalog,
        },
        snapshot: manifest.files[0]!.path.replace(/[^/]+$/, ''),
        warnings: manifest.warnings,
        catalog: figures,
      }),
      retryable: false,
    };
  } catch (error) {
    // However the abort surfaced (an SDK's AbortError, a reason thrown as is), it is an abort, or the
    // lock's loss when that is what stopped it.
    const failure = signal.aborted ? abortError(signal, error) : toGalleryExportError(error);
    if (failure.code === 'AUTHOR_CONFIG' && failure.details.disabled === true) {
      return { outcome: finish({ status: 'skipped', reason: 'the secret is disabled' }), retryable: false };
    }
    return {
      outcome: finish({ status: 'failed', error: { code: failure.code, message: failure.message } }),
      retryable: isTransient(failure.code),
    };
  } finally {
    if (!exported) await claim?.hold?.release();
  }
}
