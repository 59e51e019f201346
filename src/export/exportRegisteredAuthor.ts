import type { ListingProgress } from '../contract/catalogApi';
import { abortError, toGalleryExportError } from '../contract/errors';
import type { AuthorOutcome } from '../contract/formats';
import type { AuthorWorkItem } from '../contract/workItem';
import { isTransient } from './errorPolicy';
import { exportAuthor } from './exportAuthor';
import type { ExportServices } from './ports';
import { logTokenHealth } from './runLogLines';

export interface AuthorExportResult {
  outcome: AuthorOutcome;
  /** True when the failure is transient and another delivery may succeed. */
  retryable: boolean;
}

/**
 * The per-author unit of work, shared by the in-process run and the queue-triggered function: reads the
 * author's secret, exports, and returns the outcome (it does not record it). Never throws for an
 * author's own failure; an outcome already recorded for this run is returned as it is.
 */
export async function exportRegisteredAuthor(
  services: ExportServices,
  work: AuthorWorkItem,
  options: {
    signal?: AbortSignal | undefined;
    onProgress?: (progress: ListingProgress) => void;
    /**
     * `sole`: this process planned the run just now and is its only writer (the in-process run): nothing
     * can be recorded yet and nobody else writes. `shared`: a queued delivery, which may be a
     * redelivery or race another one. @default 'shared'
     */
    writer?: 'sole' | 'shared';
    /**
     * Claims the author for this secret; returns the secret that claimed it first when another did.
     * Two untagged secrets of one author are only seen to be the same once their values are read.
     */
    claimAuthor?: (authorId: string, secretName: string) => string | undefined;
  } = {},
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

  const writer = options.writer ?? 'shared';
  try {
    if (writer === 'shared') {
      const recorded = await services.runs.readOutcome(work.runId, work.secretName, options.signal);
      if (recorded) return { outcome: recorded, retryable: false };
    }
    const author = await services.registry.readAuthor(work.secretName, options.signal);
    authorId = author.authorId;
    const claimedBy = options.claimAuthor?.(author.authorId, work.secretName);
    if (claimedBy !== undefined && claimedBy !== work.secretName) {
      return {
        outcome: finish({ status: 'skipped', reason: `same author as secret ${claimedBy}` }),
        retryable: false,
      };
    }
    const result = await exportAuthor(services, {
      runId: work.runId,
      trigger: work.trigger,
      author,
      signal: options.signal,
      onProgress: options.onProgress,
      writer,
    });
    logTokenHealth(services, work.secretName, author.authorId, result.token.status, result.token.expiresAt);
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
    // However the abort surfaced (an SDK's AbortError, a reason thrown as is), it is an abort.
    const failure = options.signal?.aborted ? abortError(options.signal, error) : toGalleryExportError(error);
    if (failure.code === 'AUTHOR_CONFIG' && failure.details.disabled === true) {
      return { outcome: finish({ status: 'skipped', reason: 'the secret is disabled' }), retryable: false };
    }
    return {
      outcome: finish({ status: 'failed', error: { code: failure.code, message: failure.message } }),
      retryable: isTransient(failure.code),
    };
  }
}
