import { InvocationContext } from '@azure/functions';
import type { QueueClient } from '@azure/storage-queue';

/**
 * What the Functions host does with a storage queue, in small: receive a message, decode it (base64, as
 * host.json says), hand it to the function with its dequeue count, delete it on success, make it visible
 * again on failure, and after maxDequeueCount failed deliveries move it to the poison queue. Redelivery is
 * immediate here (the real host waits visibilityTimeout).
 */
export type QueueHandler = (entry: unknown, context: InvocationContext) => Promise<void>;

export interface HostedDelivery {
  text: string;
  dequeueCount: number;
  ok: boolean;
  logs: string[];
}

export async function drainQueue(
  queue: QueueClient,
  handler: QueueHandler,
  options: { poison?: QueueClient; maxDequeueCount?: number; functionName?: string } = {},
): Promise<HostedDelivery[]> {
  const deliveries: HostedDelivery[] = [];
  const maxDequeueCount = options.maxDequeueCount ?? 5;
  for (;;) {
    const { receivedMessageItems: messages } = await queue.receiveMessages({
      numberOfMessages: 16,
      visibilityTimeout: 60,
    });
    if (messages.length === 0) {
      const { approximateMessagesCount } = await queue.getProperties();
      if (!approximateMessagesCount) return deliveries;
      await new Promise((resolve) => setTimeout(resolve, 100));
      continue;
    }
    await Promise.all(
      messages.map(async (message) => {
        const text = Buffer.from(message.messageText, 'base64').toString('utf8');
        const logs: string[] = [];
        const context = new InvocationContext({
          functionName: options.functionName ?? 'queue',
          invocationId: message.messageId,
          triggerMetadata: { dequeueCount: message.dequeueCount, id: message.messageId },
          logHandler: (level, ...args) => logs.push(`${level}: ${args.map(String).join(' ')}`),
        });
        let entry: unknown = text;
        try {
          entry = JSON.parse(text);
        } catch {
          // the host passes non-JSON messages as strings
        }
        let ok = true;
        try {
          await handler(entry, context);
        } catch (error) {
          ok = false;
          logs.push(`error: ${(error as Error).message}`);
        }
        deliveries.push({ text, dequeueCount: message.dequeueCount, ok, logs });
        if (ok) {
          await queue.deleteMessage(message.messageId, message.popReceipt);
        } else if (message.dequeueCount >= maxDequeueCount && options.poison) {
          await options.poison.sendMessage(message.messageText);
          await queue.deleteMessage(message.messageId, message.popReceipt);
        } else {
          await queue.updateMessage(message.messageId, message.popReceipt, undefined, 0);
        }
      }),
    );
  }
}
