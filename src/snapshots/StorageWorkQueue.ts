import type { QueueClient } from '@azure/storage-queue';
import type { AuthorWorkItem, NotQueued } from '../contract/workItem';
import { storageError } from './storageErrors';

/**
 * The fan-out queue. Messages are base64-encoded JSON because that is what the Functions host's queue
 * trigger expects by default (host.json `extensions.queues.messageEncoding`).
 */
export class StorageWorkQueue {
  constructor(private readonly queue: QueueClient) {}

  async enqueue(items: readonly AuthorWorkItem[], signal?: AbortSignal): Promise<NotQueued[]> {
    const sent = await Promise.allSettled(
      items.map((item) => this.queue.sendMessage(encodeWorkItem(item), { abortSignal: signal })),
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

export function encodeWorkItem(item: AuthorWorkItem): string {
  return Buffer.from(JSON.stringify(item), 'utf8').toString('base64');
}
