import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { QueueClient } from '@azure/storage-queue';
import { isGalleryExportError } from '../contract/errors';
import type { AuthorWorkItem, ErasureWorkItem, NotQueued } from '../contract/workItem';
import { statusOf, storageError } from './storageErrors';

export interface StorageWorkQueueOptions {
  /** Pause before the messages the SDK could not send are sent once more. @default 2000 */
  resendDelayMs?: number;
}

const DEFAULT_RESEND_DELAY_MS = 2000;

/**
 * The fan-out queue. Messages are base64-encoded JSON because that is what the Functions host's queue
 * trigger expects by default (host.json `extensions.queues.messageEncoding`).
 */
export class StorageWorkQueue {
  private readonly resendDelayMs: number;

  constructor(
    private readonly queue: QueueClient,
    options: StorageWorkQueueOptions = {},
  ) {
    this.resendDelayMs = options.resendDelayMs ?? DEFAULT_RESEND_DELAY_MS;
  }

  /**
   * Sends one message per item. A send the SDK gave up on after its retries may still have landed: an
   * earlier try can have reached the queue and lost its answer, the later ones refused (503, 500, a
   * reset). The queue cannot be asked whether a message is there, but a second copy is harmless (a
   * delivery of an author already recorded does nothing, and one that meets a live delivery of the same
   * author waits for it), so those items are sent once more and only what that also fails is reported.
   * A refusal the SDK does not retry (a 4xx) means nothing landed and is reported at once.
   */
  async enqueue(items: readonly AuthorWorkItem[], signal?: AbortSignal): Promise<NotQueued[]> {
    const notQueued = await this.send(items, signal);
    const unsure = notQueued.filter(({ error }) => mayHaveLanded(error));
    if (unsure.length === 0 || signal?.aborted) return notQueued;
    await sleep(this.resendDelayMs, undefined, { signal }).catch(() => undefined);
    const again = await this.send(
      unsure.map(({ item }) => item),
      signal,
    );
    return [...notQueued.filter((entry) => !unsure.includes(entry)), ...again];
  }

  private async send(items: readonly AuthorWorkItem[], signal?: AbortSignal): Promise<NotQueued[]> {
    // Every message is sent at once, each request listening to the signal: that fan-in is by design, so
    // the batch listens through a signal of its own without Node's limit of 10 listeners (which would
    // warn of a leak on every run of more than 10 authors). AbortSignal.any adds no listener to `signal`.
    const batch = signal ? AbortSignal.any([signal]) : undefined;
    if (batch) setMaxListeners(0, batch);
    const sent = await Promise.allSettled(
      items.map((item) => this.queue.sendMessage(encodeWorkItem(item), { abortSignal: batch })),
    );
    const notQueued: NotQueued[] = [];
    sent.forEach((result, index) => {
      if (result.status === 'rejected') {
        notQueued.push({
          item: items[index]!,
          error: storageError(
            result.reason,
            'enqueue work on',
            `queue ${this.queue.name}`,
            'STORAGE_UNAVAILABLE',
          ),
        });
      }
    });
    return notQueued;
  }
}

/**
 * The erasures requested over HTTP, on the same queue as the authors of a run. `delaySeconds` keeps the
 * message invisible for that long (an erasure that waits for an export run to finish).
 */
export class StorageErasureQueue {
  constructor(private readonly queue: QueueClient) {}

  async send(
    item: ErasureWorkItem,
    options: { delaySeconds?: number; signal?: AbortSignal } = {},
  ): Promise<void> {
    try {
      await this.queue.sendMessage(encodeWorkItem(item), {
        visibilityTimeout: options.delaySeconds,
        abortSignal: options.signal,
      });
    } catch (error) {
      throw storageError(error, 'enqueue the erasure on', `queue ${this.queue.name}`, 'STORAGE_UNAVAILABLE');
    }
  }
}

/** A failure the SDK retries (no answer, 500, 503): one of its tries may have landed. */
function mayHaveLanded(error: unknown): boolean {
  if (isGalleryExportError(error, 'ABORTED')) return false;
  const status = statusOf(error);
  return status === undefined || status === 500 || status === 503;
}

export function encodeWorkItem(item: AuthorWorkItem | ErasureWorkItem): string {
  return Buffer.from(JSON.stringify(item), 'utf8').toString('base64');
}
