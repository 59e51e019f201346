import { setMaxListeners } from 'node:events';
import type { ListingProgress } from '../contract/catalogApi';
import { GalleryExportError, toGalleryExportError } from '../contract/errors';
import { finalRunStatus, type AuthorOutcome, type RunRecord } from '../contract/formats';
import { exportRegisteredAuthor } from './exportRegisteredAuthor';
import { finalizeRunIfDone, mergeOutcomes } from './finalizeRun';
import { keepRunLock } from './LeaseKeeper';
import { recordRunFinished } from '../telemetry/instruments';
import { traceRun } from '../telemetry/tracing';
import { mapWithConcurrency } from './mapWithConcurrency';
import { planRun, type PlanRequest } from './planRun';
import type { ExportServices } from './ports';

/** What a run reports as it goes, for progress displays. */
export type RunEvent =
  | { type: 'run-planned'; record: RunRecord }
  | { type: 'author-started'; secretName: string; authorId: string | null }
  | { type: 'author-progress'; secretName: string; progress: ListingProgress }
  | { type: 'author-finished'; outcome: AuthorOutcome }
  | { type: 'run-finished'; record: RunRecord };

export interface RunInProcessRequest extends PlanRequest {
  onEvent?: (event: RunEvent) => void;
}

/**
 * A whole run in this process (the CLI, and small deployments): plan, export every author with bounded
 * concurrency through the same per-author unit as the queue function, finalise. One author's failure
 * never stops the others; an abort fails the authors in flight and those not started.
 */
export function runInProcess(services: ExportServices, request: RunInProcessRequest): Promise<RunRecord> {
  return traceRun(request.trigger, () => runAll(services, request));
}

async function runAll(services: ExportServices, request: RunInProcessRequest): Promise<RunRecord> {
  const { signal, onEvent } = request;
  const plan = await planRun(services, request);
  onEvent?.({ type: 'run-planned', record: plan.record });
  if (plan.work.length === 0) {
    onEvent?.({ type: 'run-finished', record: plan.record });
    return plan.record;
  }
  const keeper = keepRunLock(services, plan.leaseId);
  const plannedAuthorIds = new Map(plan.record.authors.map((author) => [author.secretName, author.authorId]));
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
      onEvent?.({
        type: 'author-started',
        secretName: work.secretName,
        authorId: plannedAuthorIds.get(work.secretName) ?? null,
      });
      const authorSignal = AbortSignal.any([
        ...(signal ? [signal] : []),
        AbortSignal.timeout(services.authorTimeoutMs),
      ]);
      setMaxListeners(0, authorSignal);
      const { outcome } = await exportRegisteredAuthor(services, work, {
        signal: authorSignal,
        writer: 'sole',
        keeper,
        runCreatedOn: plan.createdOn,
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
    keeper.stop();
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
    recordRunFinished(record, services.now());
  }
  onEvent?.({ type: 'run-finished', record });
  return record;
}
