import { app, type InvocationContext } from '@azure/functions';
import { handlePoisonedWorkItem, handleWorkItem } from '../export/fanOut';
import { parseQueueMessage, type ErasureWorkItem } from '../contract/workItem';
import { failRequestedErasure, runRequestedErasure } from '../export/erasureRequests';
import { servicesFor } from './runtime';

/** host.json `extensions.queues.maxDequeueCount`: the delivery after which the host gives up. */
const MAX_DEQUEUE_COUNT = 5;

/**
 * One author of a fan-out run. A transient failure is thrown so the host delivers the message again
 * (after the visibility timeout in host.json); after maxDequeueCount deliveries the host moves it to
 * the poison queue, where exportAuthorPoison records the failure.
 */
export async function exportAuthorQueue(queueEntry: unknown, context: InvocationContext): Promise<void> {
  const item = parseQueueMessage(queueEntry);
  if (typeof item === 'string') {
    context.error(`Dropped a malformed work item: ${item}`);
    return;
  }
  const services = servicesFor(context);
  const dequeueCount = Number(context.triggerMetadata?.dequeueCount ?? 1);
  if ('kind' in item) {
    await runErasureMessage(services, item, context, dequeueCount);
    return;
  }
  const result = await handleWorkItem(services, item, {
    signal: AbortSignal.timeout(services.config.authorTimeoutMs),
    dequeueCount,
  });
  const { outcome } = result;
  if (result.retry) {
    throw new Error(
      `Export of ${item.secretName} in run ${item.runId} failed (delivery ${dequeueCount}), will be retried: ${outcome.error?.code ?? 'ERROR'}: ${outcome.error?.message ?? ''}`,
    );
  }
  context.log(
    `Author ${item.secretName} in run ${item.runId}: ${outcome.status}${outcome.error ? ` (${outcome.error.code})` : ''}`,
  );
  if (result.finalised) context.log(`Run ${item.runId} finished: ${result.finalised.status}`);
}

/** A work item every delivery failed: record the author as failed so the run can finish. */
export async function exportAuthorPoison(queueEntry: unknown, context: InvocationContext): Promise<void> {
  const item = parseQueueMessage(queueEntry);
  if (typeof item === 'string') {
    context.error(`Dropped a malformed poison work item: ${item}`);
    return;
  }
  const services = servicesFor(context);
  if ('kind' in item) {
    await failRequestedErasure(services, item);
    context.error(`The erasure ${item.erasureId} failed after every delivery`);
    return;
  }
  const finalised = await handlePoisonedWorkItem(services, item);
  context.error(`Author ${item.secretName} in run ${item.runId} failed after every delivery`);
  if (finalised) context.log(`Run ${item.runId} finished: ${finalised.status}`);
}

/**
 * An erasure requested over HTTP, run as `purge --yes` runs it. A transient failure is thrown, for the
 * host to deliver it again; the last delivery (host.json maxDequeueCount) records the failure itself.
 */
async function runErasureMessage(
  services: ReturnType<typeof servicesFor>,
  item: ErasureWorkItem,
  context: InvocationContext,
  dequeueCount: number,
): Promise<void> {
  const attempt = await runRequestedErasure(services, item, {
    signal: AbortSignal.timeout(services.config.authorTimeoutMs),
    finalDelivery: dequeueCount >= MAX_DEQUEUE_COUNT,
  });
  if (attempt.state === 'retry') {
    throw new Error(
      `Erasure ${item.erasureId} failed (delivery ${dequeueCount}), will be retried: ${attempt.error.code}: ${attempt.error.message}`,
    );
  }
  const said =
    attempt.state === 'complete'
      ? `complete (record ${attempt.recordErasureId})`
      : attempt.state === 'waiting'
        ? 'waiting for an export run to finish'
        : attempt.state === 'failed'
          ? `failed: ${attempt.error.code}: ${attempt.error.message}`
          : `dropped: ${attempt.reason}`;
  context.log(`Erasure ${item.erasureId}: ${said}`);
}

app.storageQueue('exportAuthorQueue', {
  queueName: '%EXPORT_QUEUE%',
  connection: 'EXPORT_STORAGE',
  handler: exportAuthorQueue,
});

app.storageQueue('exportAuthorPoison', {
  queueName: '%EXPORT_QUEUE%-poison',
  connection: 'EXPORT_STORAGE',
  handler: exportAuthorPoison,
});
