import { app, type InvocationContext } from '@azure/functions';
import { handlePoisonedWorkItem, handleWorkItem } from '../export/fanOut';
import { parseWorkItem } from '../contract/workItem';
import { servicesFor } from './runtime';

/**
 * One author of a fan-out run. A transient failure is thrown so the host delivers the message again
 * (after the visibility timeout in host.json); after maxDequeueCount deliveries the host moves it to
 * the poison queue, where exportAuthorPoison records the failure.
 */
export async function exportAuthorQueue(queueEntry: unknown, context: InvocationContext): Promise<void> {
  const item = parseWorkItem(queueEntry);
  if (typeof item === 'string') {
    context.error(`Dropped a malformed work item: ${item}`);
    return;
  }
  const services = servicesFor(context);
  const dequeueCount = Number(context.triggerMetadata?.dequeueCount ?? 1);
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
  const item = parseWorkItem(queueEntry);
  if (typeof item === 'string') {
    context.error(`Dropped a malformed poison work item: ${item}`);
    return;
  }
  const services = servicesFor(context);
  const finalised = await handlePoisonedWorkItem(services, item);
  context.error(`Author ${item.secretName} in run ${item.runId} failed after every delivery`);
  if (finalised) context.log(`Run ${item.runId} finished: ${finalised.status}`);
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
