import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { InvocationContext, InvocationContextInit, Timer } from '@azure/functions';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { QueueClient, type DequeuedMessageItem } from '@azure/storage-queue';

/**
 * What the Functions host does with a fan-out run, in one worker process: it invokes the timer function
 * (EXPORT_MODE=queue: plan the run and queue one message per author), then drains the queue with at most
 * `concurrency` invocations of exportAuthorQueue in flight at any time (a new message is fetched as soon
 * as one finishes), until the run record is finalised. As the host does: messages are base64 JSON, each
 * invocation carries its dequeueCount, success deletes the message, failure makes it visible again after
 * host.json's visibilityTimeout, and the fifth failure moves it to `<queue>-poison`, drained by
 * exportAuthorPoison. The handlers are loaded from a product's dist/ (before or after), each with the
 * @azure/functions of that product. Telemetry hooks are not run: with no OTEL_* endpoint they do nothing.
 *
 * Setup: JSON in argv[2] ({@link FanOutHostSetup}); the result goes back over IPC ({@link FanOutHostResult}).
 */
export interface FanOutHostSetup {
  productRoot: string;
  /** The app settings (the contract's), given to the product through useEnvironment. */
  settings: Record<string, string>;
  /** Invocations in flight at most. */
  concurrency: number;
  /** Stop waiting after this long, and report what is still pending. */
  timeoutMs: number;
  /** Authors registered, to count those still pending. */
  authors: number;
  /** Storage for this host's own reads (the run's status), when the product's goes through a counting proxy. */
  hostStorage?: string;
}

export interface FanOutHostResult {
  runId: string | undefined;
  /** The timer invocation: planning, run record, one message per author. */
  timerMs: number;
  /** Epoch ms when the timer invocation ended and when the drain did: the deliveries happened between. */
  timerEndedAtEpochMs: number;
  drainEndedAtEpochMs: number;
  /** From the timer invocation's start until the run was finalised (or the timeout). */
  drainMs: number;
  finalised: boolean;
  status: string | undefined;
  /** Authors with a recorded outcome when the host stopped, and those without. */
  outcomes: number;
  pending: number;
  invocations: number;
  failedInvocations: number;
  poisonInvocations: number;
  maxActive: number;
  /** Mean invocations in flight over the drain (after the timer). */
  meanActive: number;
  warnings: number;
  /** The first few warnings and errors the handlers logged or threw. */
  messages: string[];
  cpuMs: number;
  maxRssBytes: number;
}

/** host.json: extensions.queues (visibilityTimeout "00:00:30", maxDequeueCount 5, maxPollingInterval 5 s). */
const RETRY_VISIBILITY_SECONDS = 30;
const MAX_DEQUEUE_COUNT = 5;
/** How long a received message stays invisible while its invocation runs (the host renews it; 10 min). */
const MESSAGE_LEASE_SECONDS = 600;
/** An empty queue is polled again after 50 ms, doubling up to 1 s (the host goes up to maxPollingInterval). */
const MIN_POLL_MS = 50;
const MAX_POLL_MS = 1000;
const RECEIVE_BATCH = 32;
const KEPT_MESSAGES = 12;

type QueueHandler = (entry: unknown, context: InvocationContext) => Promise<void>;

interface ProductFunctions {
  InvocationContext: new (init: InvocationContextInit) => InvocationContext;
  useEnvironment(env: Readonly<Record<string, string | undefined>> | undefined): Promise<void>;
  exportTimer(timer: Timer, context: InvocationContext): Promise<void>;
  exportAuthorQueue: QueueHandler;
  exportAuthorPoison: QueueHandler;
}

function loadProduct(root: string): ProductFunctions {
  const load = createRequire(join(root, 'package.json'));
  const functions = join(root, 'dist', 'src', 'functions');
  const library = load('@azure/functions') as Pick<ProductFunctions, 'InvocationContext'>;
  const runtime = load(join(functions, 'runtime.js')) as Pick<ProductFunctions, 'useEnvironment'>;
  const timer = load(join(functions, 'exportTimer.js')) as Pick<ProductFunctions, 'exportTimer'>;
  const queue = load(join(functions, 'exportAuthorQueue.js')) as Pick<
    ProductFunctions,
    'exportAuthorQueue' | 'exportAuthorPoison'
  >;
  return {
    InvocationContext: library.InvocationContext,
    useEnvironment: runtime.useEnvironment,
    exportTimer: timer.exportTimer,
    exportAuthorQueue: queue.exportAuthorQueue,
    exportAuthorPoison: queue.exportAuthorPoison,
  };
}

async function host(setup: FanOutHostSetup): Promise<FanOutHostResult> {
  const product = loadProduct(setup.productRoot);
  const { settings } = setup;
  const connection = setup.hostStorage ?? settings.EXPORT_STORAGE!;
  const queueName = settings.EXPORT_QUEUE ?? 'gallery-export-authors';
  const retryOptions = { maxTries: 3, tryTimeoutInMs: 60_000 };
  const queue = new QueueClient(connection, queueName, { retryOptions });
  const poison = new QueueClient(connection, `${queueName}-poison`, { retryOptions });
  const container = BlobServiceClient.fromConnectionString(connection, { retryOptions }).getContainerClient(
    settings.EXPORT_CONTAINER ?? 'gallery-exports',
  );
  await poison.createIfNotExists();
  await product.useEnvironment(settings);

  const messages: string[] = [];
  let warnings = 0;
  let finalisedStatus: string | undefined;
  let finishedAt: number | undefined;
  const keep = (message: string): void => {
    if (messages.length < KEPT_MESSAGES) messages.push(message.slice(0, 400));
  };
  const context = (functionName: string, id: string, dequeueCount?: number): InvocationContext =>
    new product.InvocationContext({
      functionName,
      invocationId: id,
      triggerMetadata: dequeueCount === undefined ? {} : { dequeueCount, id },
      logHandler: (level, ...args) => {
        const text = args.map(String).join(' ');
        const finished = /^Run \S+ finished: (\w+)/.exec(text);
        if (finished) {
          finalisedStatus = finished[1];
          finishedAt ??= performance.now();
        }
        if (level === 'warning' || level === 'error') {
          warnings++;
          keep(`${level}: ${text}`);
        }
      },
    });

  const started = performance.now();
  const timer: Timer = {
    isPastDue: false,
    schedule: { adjustForDST: false },
    scheduleStatus: { last: new Date().toISOString(), next: new Date().toISOString(), lastUpdated: '' },
  };
  await product.exportTimer(timer, context('exportTimer', 'bench-timer'));
  const timerMs = performance.now() - started;
  const timerEndedAtEpochMs = Date.now();
  const runId = await findRunId(container);

  let invocations = 0;
  let failedInvocations = 0;
  let poisonInvocations = 0;
  let maxActive = 0;
  let activeMs = 0;
  let lastChange = performance.now();
  const active = new Set<Promise<void>>();
  const setActive = (change: () => void): void => {
    const now = performance.now();
    activeMs += active.size * (now - lastChange);
    lastChange = now;
    change();
    maxActive = Math.max(maxActive, active.size);
  };

  const invoke = (message: DequeuedMessageItem, from: QueueClient, handler: QueueHandler, name: string) => {
    invocations++;
    const task = (async () => {
      const text = Buffer.from(message.messageText, 'base64').toString('utf8');
      let entry: unknown = text;
      try {
        entry = JSON.parse(text);
      } catch {
        // the host passes a message that is not JSON as a string
      }
      try {
        await handler(entry, context(name, message.messageId, message.dequeueCount));
        await from.deleteMessage(message.messageId, message.popReceipt);
      } catch (error) {
        failedInvocations++;
        keep(`${name} threw: ${error instanceof Error ? error.message : String(error)}`);
        if (from === queue && message.dequeueCount >= MAX_DEQUEUE_COUNT) {
          await poison.sendMessage(message.messageText);
          await from.deleteMessage(message.messageId, message.popReceipt);
        } else {
          await from.updateMessage(
            message.messageId,
            message.popReceipt,
            undefined,
            RETRY_VISIBILITY_SECONDS,
          );
        }
      }
    })()
      .catch((error: unknown) => keep(`host: ${error instanceof Error ? error.message : String(error)}`))
      .finally(() => setActive(() => active.delete(task)));
    setActive(() => active.add(task));
  };

  /** A failed receive (storage overloaded) is noted and counts as an empty queue: the host polls again. */
  const receive = async (from: QueueClient, count: number): Promise<DequeuedMessageItem[]> => {
    try {
      return (
        await from.receiveMessages({ numberOfMessages: count, visibilityTimeout: MESSAGE_LEASE_SECONDS })
      ).receivedMessageItems;
    } catch (error) {
      keep(`host: receive failed: ${error instanceof Error ? error.message : String(error)}`);
      return [];
    }
  };

  const deadline = started + setup.timeoutMs;
  // Invocations that hang (storage overloaded) must not hold the host past its deadline.
  const timeIsUp = new Promise<void>((resolve) =>
    setTimeout(resolve, Math.max(0, deadline - performance.now())).unref(),
  );
  let pollMs = MIN_POLL_MS;
  let lastRecordCheck = 0;
  while (finishedAt === undefined && performance.now() < deadline && runId !== undefined) {
    if (active.size >= setup.concurrency) {
      await Promise.race([...active, timeIsUp]);
      continue;
    }
    const free = Math.min(RECEIVE_BATCH, setup.concurrency - active.size);
    const received = await receive(queue, free);
    for (const message of received) invoke(message, queue, product.exportAuthorQueue, 'exportAuthorQueue');
    if (received.length > 0) {
      pollMs = MIN_POLL_MS;
      continue;
    }
    const poisoned = await receive(poison, free);
    for (const message of poisoned) {
      poisonInvocations++;
      invoke(message, poison, product.exportAuthorPoison, 'exportAuthorPoison');
    }
    if (poisoned.length > 0) continue;
    // Nothing to receive: the run is finishing, or waiting on redeliveries. The handlers say when a run
    // is finalised; the run record is also read now and then, in case a finalisation was not logged.
    if (active.size === 0 && performance.now() - lastRecordCheck > MAX_POLL_MS) {
      lastRecordCheck = performance.now();
      const status = await runStatus(container, runId);
      if (status !== undefined && status !== 'running') {
        finalisedStatus = status;
        finishedAt = performance.now();
        break;
      }
    }
    await Promise.race([new Promise((resolve) => setTimeout(resolve, pollMs)), ...active, timeIsUp]);
    pollMs = Math.min(MAX_POLL_MS, pollMs * 2);
  }
  const drainMs = (finishedAt ?? performance.now()) - started;
  const drainEndedAtEpochMs = Date.now();
  setActive(() => undefined);
  const drainOnlyMs = Math.max(1, drainMs - timerMs);
  const outcomes = runId === undefined ? 0 : await countOutcomes(container, runId).catch(() => NaN);
  const usage = process.resourceUsage();
  return {
    runId,
    timerMs,
    timerEndedAtEpochMs,
    drainEndedAtEpochMs,
    drainMs,
    finalised: finishedAt !== undefined,
    status:
      finalisedStatus ??
      (runId === undefined ? undefined : await runStatus(container, runId).catch(() => undefined)),
    outcomes,
    pending: Math.max(0, setup.authors - outcomes),
    invocations,
    failedInvocations,
    poisonInvocations,
    maxActive,
    meanActive: activeMs / drainOnlyMs,
    warnings,
    messages,
    cpuMs: (usage.userCPUTime + usage.systemCPUTime) / 1000,
    maxRssBytes: usage.maxRSS * 1024,
  };
}

async function findRunId(container: ContainerClient): Promise<string | undefined> {
  for await (const blob of container.listBlobsFlat({ prefix: 'runs/' })) {
    const match = /^runs\/\d{4}\/\d{2}\/\d{2}\/([^/]+)\.json$/.exec(blob.name);
    if (match) return match[1];
  }
  return undefined;
}

function runPrefix(runId: string): string {
  return `runs/${runId.slice(0, 4)}/${runId.slice(4, 6)}/${runId.slice(6, 8)}/${runId}`;
}

async function runStatus(container: ContainerClient, runId: string): Promise<string | undefined> {
  try {
    const body = await container.getBlobClient(`${runPrefix(runId)}.json`).downloadToBuffer();
    const record = JSON.parse(body.toString('utf8')) as { status?: string; completedAt?: string | null };
    return record.completedAt ? record.status : 'running';
  } catch {
    return undefined;
  }
}

/** Authors with an outcome: the run record's own list once finalised, else the outcome blobs. */
async function countOutcomes(container: ContainerClient, runId: string): Promise<number> {
  const prefix = `${runPrefix(runId)}/`;
  let count = 0;
  for await (const blob of container.listBlobsFlat({ prefix })) {
    const rest = blob.name.slice(prefix.length);
    if (!rest.includes('/') && rest.endsWith('.json')) count++;
  }
  try {
    const body = await container.getBlobClient(`${runPrefix(runId)}.json`).downloadToBuffer();
    const record = JSON.parse(body.toString('utf8')) as { authors?: Array<{ status?: string }> };
    const recorded = (record.authors ?? []).filter((author) => author.status !== 'pending').length;
    return Math.max(count, recorded);
  } catch {
    return count;
  }
}

async function main(): Promise<void> {
  const setup = JSON.parse(process.argv[2] ?? '{}') as FanOutHostSetup;
  const result = await host(setup);
  process.send?.({ result }, () => process.exit(0));
}

main().catch((error: unknown) => {
  process.stderr.write(
    `fan-out host: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
