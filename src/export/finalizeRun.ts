import { countAuthors, finalRunStatus, type AuthorOutcome, type RunRecord } from '../contract/formats';
import type { ExportServices } from './ports';
import { logRunFinished } from './runLogLines';

/**
 * Records an author's outcome and, when it was the last one the run waited for, finalises the run:
 * gathers every outcome into the run record (`If-Match`, so concurrent finalisers cannot both win),
 * releases the lock and logs the run's end. Returns the final record when this call finalised it.
 * `queued` is how many authors the run queued, when the caller knows (see settleAuthor).
 */
export async function recordOutcome(
  services: ExportServices,
  runId: string,
  outcome: AuthorOutcome,
  queued?: number,
): Promise<RunRecord | undefined> {
  await services.runs.writeOutcome(runId, outcome);
  return settleAuthor(services, runId, queued);
}

/**
 * After an author's outcome is stored: counts it in the run's tally and finalises only when the count
 * says every queued author may have settled. So a run of N authors checks its outcomes about once, not
 * N times (each check a listing of N outcomes). The count may include an author twice (a redelivery),
 * which only brings a check forward; it never misses one, since each settlement counts after its outcome
 * is stored, so the settlement counted last sees every outcome. Without a tally (or a known queue
 * size), every settlement checks.
 */
export async function settleAuthor(
  services: ExportServices,
  runId: string,
  queued: number | undefined,
): Promise<RunRecord | undefined> {
  if (queued !== undefined) {
    const settled = await services.runs.countSettled(runId);
    if (settled !== undefined && settled < queued) return undefined;
  }
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
  // Summaries are enough here, so the read costs one listing however many authors the run has.
  return mergeOutcomes(record, await services.runs.listOutcomes(runId, { detail: 'summary' }));
}

/** How many authors a planned run queued: those still pending in its first record. */
export function queuedAuthors(record: RunRecord): number {
  return record.authors.filter((author) => author.status === 'pending').length;
}
