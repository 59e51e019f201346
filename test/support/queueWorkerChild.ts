import { InvocationContext } from '@azure/functions';
import { exportAuthorQueue } from '../../src/functions/exportAuthorQueue';
import { useEnvironment } from '../../src/functions/runtime';

/**
 * One delivery of a queue message to the queue function, in a process of its own (test/support/tsChild.js
 * runs it), for drills that kill a worker mid-delivery: `node tsChild.js queueWorkerChild.ts <message text>`.
 */
void (async () => {
  await useEnvironment(process.env);
  const context = new InvocationContext({
    functionName: 'exportAuthorQueue',
    invocationId: 'child',
    triggerMetadata: { dequeueCount: 1 },
    logHandler: () => undefined,
  });
  await exportAuthorQueue(process.argv[2], context);
})();
