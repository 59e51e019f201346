import { reasonToSkip, type AuthorSecretRef } from '../contract/authorSecret';
import { normalizeAuthorId } from '../contract/authorId';
import {
  GalleryExportError,
  isGalleryExportError,
  throwIfAborted,
  toGalleryExportError,
} from '../contract/errors';
import {
  countAuthors,
  finalRunStatus,
  type AuthorOutcome,
  type RunRecord,
  type Trigger,
} from '../contract/formats';
import { newRunId } from '../contract/layout';
import type { AuthorWorkItem } from '../contract/workItem';
import { keepRunLock } from './LeaseKeeper';
import type { ExportServices } from './ports';
import { logRunFinished } from './runLogLines';

export interface PlanRequest {
  trigger: Trigger;
  /** Only these authors (64 hex each); all registered authors when absent or empty. */
  authorIds?: readonly string[] | undefined;
  signal?: AbortSignal | undefined;
}

export interface PlannedRun {
  record: RunRecord;
  leaseId: string;
  /** When storage created the run record: erasures begun after it forbid the run to write. */
  createdOn: Date;
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
  const keeper = keepRunLock(services, leaseId);
  const planSignal = signal ? AbortSignal.any([signal, keeper.signal]) : keeper.signal;
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
      refs = await services.registry.listAuthorSecrets(planSignal);
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

    const selected = await selectAuthors(services, refs, requested, planSignal);
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
    // Unfinished erasures an earlier version marked elsewhere block their authors in this run too.
    if (work.length > 0) await services.erasures.adoptLegacyMarkers(planSignal);
    // A run that lost its lock while planning must not start: its authors could never write.
    await keeper.fence(signal);
    const { createdOn } = await services.runs.create(record, planSignal);
    if (work.length === 0) {
      await services.lock.release(leaseId);
      logRunFinished(services, record);
    }
    return { record, leaseId, work, createdOn };
  } catch (error) {
    await services.lock.release(leaseId).catch(() => undefined);
    throw error;
  } finally {
    keeper.stop();
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
