import type { QueueClient } from '@azure/storage-queue';
import type { AuthorWorkItem } from '../contract/workItem';
import { storageError } from './storageErrors';

/**
 * The fan-out queue. Messages are base64-encoded JSON because that is what the Functions host's queue
 * trigger expects by default (host.json `extensions.queues.messageEncoding`).
 */
export class StorageWorkQueue {
  constructor(private readonly queue: QueueClient) {}

  async enqueue(items: readonly AuthorWorkItem[], signal?: AbortSignal): Promise<void> {
    const sendAll = items.map((item) =>
      this.queue.sendMessage(encodeWorkItem(item), { abortSignal: signal }).catch((error: unknown) => {
        throw storageError(error, 'enqueue work on', `queue ${this.queue.name}`, 'STORAGE_UNAVAILABLE');
      }),
    );
    await Promise.all(sendAll);
  }
}

export function encodeWorkItem(item: AuthorWorkItem): string {
  return Buffer.from(JSON.stringify(item), 'utf8').toString('base64');
}
