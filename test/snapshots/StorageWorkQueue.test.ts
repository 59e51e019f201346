import { QueueServiceClient } from '@azure/storage-queue';
import { startAzurite, type RunningAzurite } from '../../dev/azurite';
import type { AuthorWorkItem } from '../../src/contract/workItem';
import { StorageWorkQueue } from '../../src/snapshots/StorageWorkQueue';
import { uniqueName } from '../support/storage';

/** The fan-out queue against Azurite's queue service; each test owns a queue. */
let azurite: RunningAzurite;
beforeAll(async () => {
  azurite = await startAzurite();
});
afterAll(async () => {
  await azurite?.stop();
});

const items: AuthorWorkItem[] = ['a', 'b', 'c'].map((name) => ({
  v: 1,
  runId: '20261204T020000Z-abc123',
  secretName: `gallery-author-${name}`,
  trigger: 'timer',
}));

test('every item becomes one base64 JSON message, as the queue trigger expects; none is reported as not queued', async () => {
  const client = QueueServiceClient.fromConnectionString(azurite.connectionString).getQueueClient(
    uniqueName('q'),
  );
  await client.create();
  expect(await new StorageWorkQueue(client).enqueue(items)).toEqual([]);
  const received = await client.receiveMessages({ numberOfMessages: 32 });
  const decoded = received.receivedMessageItems.map(
    (message) => JSON.parse(Buffer.from(message.messageText, 'base64').toString('utf8')) as AuthorWorkItem,
  );
  expect(decoded.sort((x, y) => x.secretName.localeCompare(y.secretName))).toEqual(items);
});

test('a queue that cannot take the messages answers which items were not queued and why, without throwing', async () => {
  const missing = QueueServiceClient.fromConnectionString(azurite.connectionString).getQueueClient(
    uniqueName('q'),
  );
  const notQueued = await new StorageWorkQueue(missing).enqueue(items);
  expect(notQueued.map((entry) => entry.item)).toEqual(items);
  for (const entry of notQueued) {
    expect(entry.error).toMatchObject({
      code: 'STORAGE_UNAVAILABLE',
      message: expect.stringContaining(`queue ${missing.name}`) as unknown,
    });
  }
});
