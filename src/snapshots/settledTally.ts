import type { ContainerClient } from '@azure/storage-blob';
import { serializeDocument } from '../contract/formats';
import { runSettledTallyPath } from '../contract/layout';
import { JSON_CONTENT_TYPE } from './blobDocuments';
import { statusOf, storageError } from './storageErrors';

/**
 * A fan-out run's settled tally: how its last author learns it is the last without listing every
 * outcome. One append blob per run; its block count is the number of settlements.
 */

const TALLY_MARK = Buffer.from('\n');

/**
 * Starts a fan-out run's tally (before its messages are queued): an append blob whose first block is a
 * small JSON document saying what it is. Every later block is one newline, so the blob stays valid JSON.
 */
export async function startSettledTally(
  container: ContainerClient,
  runId: string,
  queued: number,
  signal?: AbortSignal,
): Promise<void> {
  const path = runSettledTallyPath(runId);
  const tally = container.getAppendBlobClient(path);
  try {
    await tally.create({
      conditions: { ifNoneMatch: '*' },
      blobHTTPHeaders: { blobContentType: JSON_CONTENT_TYPE },
      tags: { runId, kind: 'run' },
      abortSignal: signal,
    });
  } catch (error) {
    // Already there: a retried plan, or a create whose answer was lost. Its header may still be
    // missing, so it is appended below all the same, at position 0 only.
    if (statusOf(error) !== 409) throw storageError(error, 'create', path, 'STORAGE_UNAVAILABLE');
  }
  const header = serializeDocument({
    schemaVersion: 1,
    runId,
    queued,
    about:
      'Each author of this fan-out run appends one newline once its outcome is stored; the block count tells the author whether it may be the last.',
  });
  try {
    await tally.appendBlock(header, header.length, {
      conditions: { appendPosition: 0 },
      abortSignal: signal,
    });
  } catch (error) {
    // 412: the tally has its header already (this start is a repeat, or a retried append landed).
    if (statusOf(error) === 412) return;
    throw storageError(error, 'write', path, 'STORAGE_UNAVAILABLE');
  }
}

/**
 * Adds one settled author to the run's tally and returns how many settlements it holds now (a
 * redelivery may count an author twice, never zero times), or undefined when there is no tally to
 * count on (a run planned without one, or one past append blobs' 50,000 blocks): the caller then
 * checks every outcome instead.
 */
export async function countSettled(
  container: ContainerClient,
  runId: string,
  signal?: AbortSignal,
): Promise<number | undefined> {
  const tally = container.getAppendBlobClient(runSettledTallyPath(runId));
  try {
    const appended = await tally.appendBlock(TALLY_MARK, TALLY_MARK.length, { abortSignal: signal });
    const blocks = appended.blobCommittedBlockCount;
    return blocks === undefined ? undefined : blocks - 1;
  } catch {
    return undefined;
  }
}
