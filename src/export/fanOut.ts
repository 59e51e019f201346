import { toGalleryExportError } from '../contract/errors';
import type { AuthorOutcome, RunRecord } from '../contract/formats';
import type { AuthorWorkItem } from '../contract/workItem';
import type { ExportServices, WorkQueue } from './ports';
import { exportRegisteredAuthor } from './exportRegisteredAuthor';
import { finalizeRunIfDone, recordOutcome } from './finalizeRun';
import { keepLockAlive } from './keepLockAlive';
import { planRun, type PlanRequest } from './planRun';

/**
 * Starts a fan-out run: plans it and puts one message per author on the queue. The Functions platform
 * then spreads the authors over as many instances as it likes; the last author to report finalises.
 */
export async function startFanOutRun(
  services: ExportServices,
  queue: WorkQueue,
  request: PlanRequest,
): Promise<RunRecord> {
  const plan = await planRun(services, request);
  if (plan.work.length === 0) return plan.record;
  const renewal = keepLockAlive(services, plan.leaseId);
  try {
    await queue.enqueue(plan.work, request.signal);
  } catch (error) {
    // Without their messages these authors would wait forever: settle them now so the run finishes.
    const failure = toGalleryExportError(error);
    const now = services.now().toISOString();
    for (const item of plan.work) {
      await services.runs
        .writeOutcome(item.runId, {
          secretName: item.secretName,
          authorId: null,
          status: 'failed',
          error: { code: failure.code, message: `Could not be queued: ${failure.message}` },
          completedAt: now,
        })
        .catch(() => undefined);
    }
    await finalizeRunIfDone(services, plan.record.runId).catch(() => undefined);
    throw failure;
  } finally {
    renewal.stop();
  }
  return plan.record;
}

export interface WorkItemResult {
  outcome: AuthorOutcome;
  /** Set when the failure is transient: the caller should throw so the queue delivers it again. */
  retry: boolean;
  /** The run record, when this author was the last and the run was finalised. */
  finalised?: RunRecord | undefined;
}

/**
 * Handles one queue message: exports the author (idempotent: a redelivered message for an author already
 * recorded in this run does nothing) and records the outcome, unless the failure is transient, in which
 * case only the last error is kept and the caller lets the queue retry.
 */
export async function handleWorkItem(
  services: ExportServices,
  item: AuthorWorkItem,
  options: { signal?: AbortSignal; dequeueCount?: number } = {},
): Promise<WorkItemResult> {
  const record = await services.runs.read(item.runId, options.signal);
  const renewal =
    record?.lockLeaseId && record.status === 'running'
      ? keepLockAlive(services, record.lockLeaseId)
      : undefined;
  if (record?.lockLeaseId) await services.lock.renew(record.lockLeaseId).catch(() => false);
  try {
    const { outcome, retryable } = await exportRegisteredAuthor(services, item, { signal: options.signal });
    const attempts = options.dequeueCount === undefined ? {} : { attempts: options.dequeueCount };
    if (retryable) {
      await services.runs.writeLastError(item.runId, { ...outcome, ...attempts }).catch(() => undefined);
      return { outcome, retry: true };
    }
    const finalised = await recordOutcome(services, item.runId, { ...outcome, ...attempts });
    return { outcome, retry: false, finalised };
  } finally {
    renewal?.stop();
  }
}

/**
 * A message the queue gave up on (the poison queue): the author is recorded as failed with the last
 * error seen, and the run finalised if it was the last.
 */
export async function handlePoisonedWorkItem(
  services: ExportServices,
  item: AuthorWorkItem,
): Promise<RunRecord | undefined> {
  const last = await services.runs.readLastError(item.runId, item.secretName);
  const lastError = last?.error;
  const outcome: AuthorOutcome = {
    ...(last ?? { secretName: item.secretName, authorId: null }),
    status: 'failed',
    error: {
      code: lastError?.code ?? 'RETRIES_EXHAUSTED',
      message: `Gave up after every delivery of the work item failed${lastError ? `; the last error: ${lastError.message}` : ''}`,
    },
    completedAt: services.now().toISOString(),
  };
  return recordOutcome(services, item.runId, outcome);
}
