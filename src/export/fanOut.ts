import { setTimeout as sleep } from 'node:timers/promises';
import { GalleryExportError, isGalleryExportError, toGalleryExportError } from '../contract/errors';
import type { AuthorOutcome, RunRecord } from '../contract/formats';
import type { AuthorWorkItem, NotQueued } from '../contract/workItem';
import type { ExportServices, WorkQueue } from './ports';
import { exportRegisteredAuthor, type AuthorExportResult } from './exportRegisteredAuthor';
import { finalizeRunIfDone, queuedAuthors, recordOutcome, settleAuthor } from './finalizeRun';
import { keepRunLock } from './LeaseKeeper';
import { traceRun } from '../telemetry/tracing';
import { planRun, type PlanRequest } from './planRun';

/**
 * Starts a fan-out run: plans it and puts one message per author on the queue. The Functions platform
 * then spreads the authors over as many instances as it likes; the last author to report finalises.
 */
export function startFanOutRun(
  services: ExportServices,
  queue: WorkQueue,
  request: PlanRequest,
): Promise<RunRecord> {
  return traceRun(request.trigger, () => planAndQueue(services, queue, request));
}

async function planAndQueue(
  services: ExportServices,
  queue: WorkQueue,
  request: PlanRequest,
): Promise<RunRecord> {
  const plan = await planRun(services, request);
  if (plan.work.length === 0) return plan.record;
  const keeper = keepRunLock(services, plan.leaseId);
  try {
    let notQueued: NotQueued[];
    try {
      await services.runs.startSettledTally(plan.record.runId, plan.work.length, request.signal);
      notQueued = await queue.enqueue(plan.work, request.signal);
    } catch (error) {
      notQueued = plan.work.map((item) => ({ item, error }));
    }
    if (notQueued.length > 0) await settleNotQueued(services, plan.record.runId, plan.work.length, notQueued);
  } finally {
    keeper.stop();
  }
  return plan.record;
}

/**
 * Authors whose message could not be sent would wait forever: each is recorded as failed now and
 * counted like any settled author, so the run finishes once the queued ones have. The authors whose
 * messages went out are left to their workers, and so is an author a worker has recorded meanwhile:
 * its message had landed after all (a send whose answer was lost), so it is no failure. The caller is
 * told of the rest, with the first reason.
 */
async function settleNotQueued(
  services: ExportServices,
  runId: string,
  queued: number,
  notQueued: readonly NotQueued[],
): Promise<void> {
  const now = services.now().toISOString();
  const failed: NotQueued[] = [];
  for (const entry of notQueued) {
    const reason = toGalleryExportError(entry.error);
    const outcome: AuthorOutcome = {
      secretName: entry.item.secretName,
      authorId: null,
      status: 'failed',
      error: { code: reason.code, message: `Could not be queued: ${reason.message}` },
      completedAt: now,
    };
    const stored = await services.runs.writeOutcome(runId, outcome).catch(() => undefined);
    if (stored && !stored.created) continue;
    failed.push(entry);
    if (stored) await settleAuthor(services, runId, queued).catch(() => undefined);
  }
  if (failed.length === 0) return;
  await finalizeRunIfDone(services, runId).catch(() => undefined);
  const failure = toGalleryExportError(failed[0]!.error);
  const some = failed.length < queued ? `${failed.length} of ${queued} authors` : 'the authors';
  throw new GalleryExportError(
    failure.code,
    `Run ${runId}: ${some} could not be queued: ${failure.message}`,
    {
      cause: failure,
    },
  );
}

export interface WorkItemResult {
  outcome: AuthorOutcome;
  /** Set when the failure is transient: the caller should throw so the queue delivers it again. */
  retry: boolean;
  /** The run record, when this author was the last and the run was finalised. */
  finalised?: RunRecord | undefined;
}

/**
 * Handles one queue message: exports the author under the run's lock (idempotent: a redelivered message
 * for an author already recorded in this run does nothing) and records the outcome, unless the failure
 * is transient, in which case only the last error is kept and the caller lets the queue retry. A message
 * of a run that no longer holds its lock (it lapsed and another run or a purge took it, or the run is
 * over) writes nothing: the author is recorded as failed with RUN_LOCK_LOST, once.
 */
export async function handleWorkItem(
  services: ExportServices,
  item: AuthorWorkItem,
  options: { signal?: AbortSignal; dequeueCount?: number } = {},
): Promise<WorkItemResult> {
  const attempts = options.dequeueCount === undefined ? {} : { attempts: options.dequeueCount };
  const run = await services.runs.readRun(item.runId, options.signal);
  if (!run) {
    // Nothing to record into (a forged message, or a run the lifecycle rule has removed): drop it.
    const error = { code: 'RUN_NOT_FOUND' as const, message: `No run record for run ${item.runId}` };
    return {
      outcome: { secretName: item.secretName, authorId: null, status: 'failed', error },
      retry: false,
    };
  }
  const queued = run.record.status === 'running' ? queuedAuthors(run.record) : undefined;
  const recorded = await services.runs.readOutcome(item.runId, item.secretName, options.signal);
  if (recorded) {
    // A redelivery: the delivery that recorded it may have stopped before it was counted.
    return { outcome: recorded, retry: false, finalised: await settleAuthor(services, item.runId, queued) };
  }

  const lost = (message: string): Promise<WorkItemResult> =>
    settle(services, item, queued, {
      secretName: item.secretName,
      authorId: run.record.authors.find((author) => author.secretName === item.secretName)?.authorId ?? null,
      status: 'failed',
      error: { code: 'RUN_LOCK_LOST', message },
      completedAt: services.now().toISOString(),
      ...attempts,
    });
  const { lockLeaseId } = run.record;
  if (run.record.status !== 'running' || !lockLeaseId) {
    return lost(`Run ${item.runId} was already ${run.record.status}; nothing was written for this author`);
  }
  const keeper = keepRunLock(services, lockLeaseId);
  try {
    await keeper.fence(options.signal);
  } catch (error) {
    keeper.stop();
    if (!isGalleryExportError(error, 'RUN_LOCK_LOST')) throw error;
    return lost(`${error.message}: another run or a purge took the lock before this author was exported`);
  }
  try {
    const exportIt = (): Promise<AuthorExportResult> =>
      exportRegisteredAuthor(services, item, {
        signal: options.signal,
        writer: 'shared',
        keeper,
        runCreatedOn: run.createdOn,
      });
    let result = await exportIt();
    // Another delivery of this work item is alive (a second copy of the message, or the message delivered
    // again while the first delivery still works): it holds the claim and will record the author or let
    // go. Failing this invocation would only deliver it again later, so it waits for that here, checking
    // at growing intervals (a dead holder's claim lapses within a lease), as long as its deadline allows.
    const waitSignal = options.signal ? AbortSignal.any([options.signal, keeper.signal]) : keeper.signal;
    if (isBusy(result)) {
      services.logger.info(
        `Author ${item.secretName} in run ${item.runId}: another delivery of it is still working; waiting for it`,
      );
    }
    for (
      let waitMs = FIRST_BUSY_CHECK_MS;
      isBusy(result);
      waitMs = Math.min(2 * waitMs, lastCheckMs(services))
    ) {
      const waited = await sleep(waitMs, true, { signal: waitSignal }).catch(() => false);
      if (!waited) break;
      const recorded = await services.runs.readOutcome(item.runId, item.secretName, options.signal);
      if (recorded) {
        return {
          outcome: recorded,
          retry: false,
          finalised: await settleAuthor(services, item.runId, queued),
        };
      }
      result = await exportIt();
    }
    const { outcome, retryable } = result;
    if (retryable) {
      await services.runs.writeLastError(item.runId, { ...outcome, ...attempts }).catch(() => undefined);
      return { outcome, retry: true };
    }
    return settle(services, item, queued, { ...outcome, ...attempts });
  } finally {
    keeper.stop();
  }
}

/** The first look at whether a live twin delivery has finished; it doubles up to a third of a lease. */
const FIRST_BUSY_CHECK_MS = 1000;

function lastCheckMs(services: ExportServices): number {
  return Math.max(FIRST_BUSY_CHECK_MS, (services.lockSeconds * 1000) / 3);
}

function isBusy(result: AuthorExportResult): boolean {
  return result.retryable && result.outcome.error?.code === 'SNAPSHOT_BUSY';
}

async function settle(
  services: ExportServices,
  item: AuthorWorkItem,
  queued: number | undefined,
  outcome: AuthorOutcome,
): Promise<WorkItemResult> {
  const finalised = await recordOutcome(services, item.runId, outcome, queued);
  return { outcome, retry: false, finalised };
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
