import { setMaxListeners } from 'node:events';
import { reasonToSkip, type AuthorSecretRef } from '../authors/AuthorRegistry';
import { normalizeAuthorId } from '../catalog/authorId';
import type { ListingProgress } from '../catalog/consistentListing';
import {
  describeAbort,
  GalleryExportError,
  isGalleryExportError,
  throwIfAborted,
  toGalleryExportError,
} from '../errors';
import {
  countAuthors,
  finalRunStatus,
  type AuthorOutcome,
  type RunRecord,
  type Trigger,
} from '../snapshots/formats';
import { newRunId } from '../snapshots/layout';
import { isTransient } from './errorPolicy';
import { exportAuthor } from './exportAuthor';
import { mapWithConcurrency } from './mapWithConcurrency';
import type { AuthorWorkItem, ExportServices } from './ports';

/** What a run reports as it goes, for progress displays. */
export type RunEvent =
  | { type: 'run-planned'; record: RunRecord }
  | { type: 'author-started'; secretName: string; authorId: string | null }
  | { type: 'author-progress'; secretName: string; progress: ListingProgress }
  | { type: 'author-finished'; outcome: AuthorOutcome }
  | { type: 'run-finished'; record: RunRecord };

export interface PlanRequest {
  trigger: Trigger;
  /** Only these authors (64 hex each); all registered authors when absent or empty. */
  authorIds?: readonly string[] | undefined;
  signal?: AbortSignal | undefined;
}

export interface PlannedRun {
  record: RunRecord;
  leaseId: string;
  /** One item per author to export (skipped authors are already settled in the record). */
  work: AuthorWorkItem[];
}

/**
 * Starts a run: takes the run lock (RUN_LOCKED if another run holds it), lists the registered authors
 * and writes the run record. When the vault cannot be read the run is recorded as failed and the error
 * rethrown. The lock stays held (the caller renews and the finaliser releases it) unless nothing is
 * left to do.
 */
export async function planRun(services: ExportServices, request: PlanRequest): Promise<PlannedRun> {
  const { signal } = request;
  const requested = normalizeRequestedAuthors(request.authorIds);
  throwIfAborted(signal);
  const leaseId = await services.lock.acquire(signal);
  // Listing a large vault (and reading untagged secrets) can outlast one lease period.
  const renewal = keepLockAlive(services, leaseId);
  try {
    const startedAt = services.now();
    const runId = newRunId(startedAt);
    const base: RunRecord = {
      schemaVersion: 1,
      runId,
      trigger: request.trigger,
      startedAt: startedAt.toISOString(),
      completedAt: null,
      status: 'running',
      settings: services.settings,
      lockLeaseId: leaseId,
      ...(requested ? { requestedAuthors: requested } : {}),
      counts: countAuthors([]),
      authors: [],
    };

    let refs: AuthorSecretRef[];
    try {
      refs = await services.registry.listAuthorSecrets(signal);
    } catch (error) {
      const failure = toGalleryExportError(error, 'VAULT_UNAVAILABLE');
      const failed: RunRecord = {
        ...base,
        status: 'failed',
        completedAt: services.now().toISOString(),
        error: { code: failure.code, message: failure.message },
      };
      await services.runs.create(failed).catch(() => undefined);
      logRunFinished(services, failed);
      throw failure;
    }

    const selected = await selectAuthors(services, refs, requested, signal);
    const now = services.now();
    const seenAuthorIds = new Map<string, string>();
    const authors: AuthorOutcome[] = selected.map((ref) => {
      const authorId = ref.taggedAuthorId ?? null;
      const skip = reasonToSkip(ref, now);
      if (skip) return { secretName: ref.secretName, authorId, status: 'skipped', reason: skip };
      if (authorId) {
        const first = seenAuthorIds.get(authorId);
        if (first) {
          return {
            secretName: ref.secretName,
            authorId,
            status: 'skipped',
            reason: `same author as secret ${first}`,
          };
        }
        seenAuthorIds.set(authorId, ref.secretName);
      }
      return { secretName: ref.secretName, authorId, status: 'pending' };
    });
    const work: AuthorWorkItem[] = authors
      .filter((author) => author.status === 'pending')
      .map((author) => ({ v: 1, runId, secretName: author.secretName, trigger: request.trigger }));

    let record: RunRecord = { ...base, counts: countAuthors(authors), authors };
    if (work.length === 0) {
      record = { ...record, status: finalRunStatus(authors), completedAt: services.now().toISOString() };
    }
    await services.runs.create(record, signal);
    if (work.length === 0) {
      await services.lock.release(leaseId);
      logRunFinished(services, record);
    }
    return { record, leaseId, work };
  } catch (error) {
    await services.lock.release(leaseId).catch(() => undefined);
    throw error;
  } finally {
    renewal.stop();
  }
}

function normalizeRequestedAuthors(authorIds: readonly string[] | undefined): string[] | undefined {
  if (!authorIds || authorIds.length === 0) return undefined;
  const normalized = authorIds.map((id) => {
    const authorId = normalizeAuthorId(id);
    if (!authorId)
      throw new GalleryExportError(
        'USAGE',
        `"${String(id).slice(0, 80)}" is not an author ID (64 hexadecimal characters)`,
      );
    return authorId;
  });
  return [...new Set(normalized)];
}

/** The secrets of the requested authors (all when none requested); an unknown author is an error. */
async function selectAuthors(
  services: ExportServices,
  refs: AuthorSecretRef[],
  requested: string[] | undefined,
  signal: AbortSignal | undefined,
): Promise<AuthorSecretRef[]> {
  if (!requested) return refs;
  const wanted = new Set(requested);
  const found = new Set<string>();
  const selected: AuthorSecretRef[] = [];
  for (const ref of refs) {
    let authorId = ref.taggedAuthorId;
    if (!authorId && reasonToSkip(ref, services.now()) === undefined) {
      // Without the contract's authorId tag the value must be read to know whose secret it is.
      authorId = await services.registry.readAuthor(ref.secretName, signal).then(
        (author) => author.authorId,
        (error: unknown) => {
          if (isGalleryExportError(error, 'AUTHOR_CONFIG')) return undefined;
          throw error;
        },
      );
    }
    if (authorId && wanted.has(authorId)) {
      found.add(authorId);
      selected.push({ ...ref, taggedAuthorId: authorId });
    }
  }
  const missing = requested.filter((id) => !found.has(id));
  if (missing.length > 0) {
    throw new GalleryExportError(
      'AUTHOR_NOT_REGISTERED',
      `Not registered in ${services.registry.location}: ${missing.join(', ')}`,
      { details: { missing: missing.length } },
    );
  }
  return selected;
}

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
    /** False when nothing can be recorded yet (this process planned the run just now). @default true */
    checkRecorded?: boolean;
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

  try {
    if (options.checkRecorded !== false) {
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
      // Planned by this process and claimed for this secret: nothing else can be writing the folder.
      fresh: options.checkRecorded === false && options.claimAuthor !== undefined,
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
    const failure = options.signal?.aborted
      ? new GalleryExportError('ABORTED', describeAbort(options.signal), { cause: error })
      : toGalleryExportError(error);
    if (failure.code === 'AUTHOR_CONFIG' && failure.details.disabled === true) {
      return { outcome: finish({ status: 'skipped', reason: 'the secret is disabled' }), retryable: false };
    }
    return {
      outcome: finish({ status: 'failed', error: { code: failure.code, message: failure.message } }),
      retryable: isTransient(failure.code),
    };
  }
}

/**
 * Records an author's outcome and, when it was the last one the run waited for, finalises the run:
 * gathers every outcome into the run record (`If-Match`, so concurrent finalisers cannot both win),
 * releases the lock and logs the run's end. Returns the final record when this call finalised it.
 */
export async function recordOutcome(
  services: ExportServices,
  runId: string,
  outcome: AuthorOutcome,
): Promise<RunRecord | undefined> {
  await services.runs.writeOutcome(runId, outcome);
  return finalizeRunIfDone(services, runId);
}

export async function finalizeRunIfDone(
  services: ExportServices,
  runId: string,
  /** Every outcome of the run, when the caller already holds them (the in-process run): saves reading them back. */
  knownOutcomes?: readonly AuthorOutcome[],
): Promise<RunRecord | undefined> {
  const stored = await services.runs.read(runId);
  if (!stored || stored.status !== 'running') return undefined;
  const outcomes = knownOutcomes ?? (await services.runs.listOutcomes(runId));
  const merged = mergeOutcomes(stored, outcomes);
  if (merged.authors.some((author) => author.status === 'pending')) return undefined;

  let finalised = false;
  const record = await services.runs.update(runId, (latest) => {
    finalised = false;
    if (latest.status !== 'running') return undefined;
    const authors = mergeOutcomes(latest, outcomes).authors;
    finalised = true;
    return {
      ...latest,
      status: finalRunStatus(authors),
      completedAt: services.now().toISOString(),
      counts: countAuthors(authors),
      authors,
    };
  });
  if (!finalised) return undefined;
  const leaseId = stored.lockLeaseId;
  if (leaseId) await services.lock.release(leaseId).catch(() => undefined);
  logRunFinished(services, record);
  return record;
}

/** The record with each pending author replaced by its recorded outcome, if any. */
export function mergeOutcomes(record: RunRecord, outcomes: readonly AuthorOutcome[]): RunRecord {
  const bySecret = new Map(outcomes.map((outcome) => [outcome.secretName, outcome]));
  const authors = record.authors.map((author) => {
    const outcome = author.status === 'pending' ? bySecret.get(author.secretName) : undefined;
    if (!outcome) return author;
    // An outcome whose secret could not be read does not know the author; the planned tag may.
    return outcome.authorId === null && author.authorId !== null
      ? { ...outcome, authorId: author.authorId }
      : outcome;
  });
  return { ...record, counts: countAuthors(authors), authors };
}

/** The run as readers should see it: while running, with the outcomes recorded so far. */
export async function readRunStatus(
  services: Pick<ExportServices, 'runs'>,
  runId: string,
): Promise<RunRecord | undefined> {
  const record = await services.runs.read(runId);
  if (!record || record.status !== 'running') return record;
  return mergeOutcomes(record, await services.runs.listOutcomes(runId));
}

export interface RunInProcessRequest extends PlanRequest {
  onEvent?: (event: RunEvent) => void;
}

/**
 * A whole run in this process (the CLI, and small deployments): plan, export every author with bounded
 * concurrency through the same per-author unit as the queue function, finalise. One author's failure
 * never stops the others; an abort fails the authors in flight and those not started.
 */
export async function runInProcess(
  services: ExportServices,
  request: RunInProcessRequest,
): Promise<RunRecord> {
  const { signal, onEvent } = request;
  const plan = await planRun(services, request);
  onEvent?.({ type: 'run-planned', record: plan.record });
  if (plan.work.length === 0) {
    onEvent?.({ type: 'run-finished', record: plan.record });
    return plan.record;
  }
  const renewal = keepLockAlive(services, plan.leaseId);
  const outcomes: AuthorOutcome[] = [];
  let unsaved: GalleryExportError | undefined;
  const claims = new Map<string, string>();
  const claimAuthor = (authorId: string, secretName: string): string | undefined => {
    const first = claims.get(authorId);
    if (first === undefined) claims.set(authorId, secretName);
    return first;
  };
  try {
    await mapWithConcurrency(plan.work, services.authorConcurrency, async (work) => {
      const planned = plan.record.authors.find((author) => author.secretName === work.secretName);
      onEvent?.({ type: 'author-started', secretName: work.secretName, authorId: planned?.authorId ?? null });
      const authorSignal = AbortSignal.any([
        ...(signal ? [signal] : []),
        AbortSignal.timeout(services.authorTimeoutMs),
      ]);
      setMaxListeners(0, authorSignal);
      const { outcome } = await exportRegisteredAuthor(services, work, {
        signal: authorSignal,
        checkRecorded: false,
        claimAuthor,
        onProgress: (progress) =>
          onEvent?.({ type: 'author-progress', secretName: work.secretName, progress }),
      });
      outcomes.push(outcome);
      try {
        await services.runs.writeOutcome(plan.record.runId, outcome);
      } catch (error) {
        unsaved ??= toGalleryExportError(error);
      }
      onEvent?.({ type: 'author-finished', outcome });
    });
  } finally {
    renewal.stop();
  }
  let record: RunRecord | undefined;
  if (!unsaved) {
    try {
      record = await finalizeRunIfDone(services, plan.record.runId, outcomes);
    } catch (error) {
      unsaved = toGalleryExportError(error);
    }
  }
  if (!record) {
    // The record could not be finalised in storage: report what happened from memory, and say so.
    await services.lock.release(plan.leaseId).catch(() => undefined);
    const merged = mergeOutcomes(plan.record, outcomes);
    const error = unsaved ?? new GalleryExportError('INTERNAL', 'The run record was not finalised');
    services.logger.error(`The run record ${plan.record.runId} could not be finalised: ${error.message}`);
    record = {
      ...merged,
      status: finalRunStatus(merged.authors),
      completedAt: services.now().toISOString(),
      error: { code: error.code, message: `The run record could not be finalised: ${error.message}` },
    };
  }
  onEvent?.({ type: 'run-finished', record });
  return record;
}

/** Renews the run lock in the background until stopped. */
export function keepLockAlive(
  services: Pick<ExportServices, 'lock' | 'logger' | 'lockRenewIntervalMs'>,
  leaseId: string,
): { stop(): void } {
  const timer = setInterval(() => {
    services.lock.renew(leaseId).then(
      (held) => {
        if (!held)
          services.logger.warn('The run lock was lost (it expired and another run may have taken it)');
      },
      (error: unknown) => services.logger.warn(`Could not renew the run lock: ${(error as Error).message}`),
    );
  }, services.lockRenewIntervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

function logTokenHealth(
  services: ExportServices,
  secretName: string,
  authorId: string,
  status: string,
  expiresAt: string | undefined,
): void {
  const hoursLeft =
    expiresAt === undefined
      ? '-'
      : ((Date.parse(expiresAt) - services.now().getTime()) / 3600_000).toFixed(1);
  services.logger.info(
    `GalleryExport.TokenHealth secret=${secretName} authorId=${authorId} status=${status} expiresAt=${expiresAt ?? '-'} hoursLeft=${hoursLeft}`,
  );
}

function logRunFinished(services: ExportServices, record: RunRecord): void {
  const { complete, failed, skipped } = countAuthors(record.authors);
  const line = `GalleryExport.RunFinished runId=${record.runId} status=${record.status} complete=${complete} failed=${failed} skipped=${skipped}`;
  if (record.status === 'complete') services.logger.info(line);
  else services.logger.warn(line + (record.error ? ` error=${record.error.code}` : ''));
}
