import { QueueServiceClient, type QueueClient } from '@azure/storage-queue';
import { exportAuthorQueue } from '../../src/functions/exportAuthorQueue';
import { exportTimer } from '../../src/functions/exportTimer';
import { useEnvironment } from '../../src/functions/runtime';
import { BlobRunLock } from '../../src/snapshots/BlobRunLock';
import { invocation, timer } from '../support/functionsHarness';
import { drainQueue, type HostedDelivery } from '../support/queueHost';
import { expectEveryAuthorOnce, storedRunRecord } from '../support/runVerdict';
import {
  queuedWorkItem,
  startStorageFaultProxy,
  type StorageFaultProxy,
  type StorageFaultProxyOptions,
  type StorageRequest,
} from '../support/storageFaultProxy';
import { uniqueName } from '../support/storage';
import { createWorld, useAzuriteAndVault, type World } from '../support/world';

/**
 * The queue path with storage misbehaving (issue 26): the app's blob and queue requests go through a
 * proxy that answers some 503 ServerBusy or 500, resets connections, holds requests, or passes a request
 * on and loses its answer. The timer fans out, the queue function drains the queue as the host would;
 * nothing may be lost or claimed twice, and no invocation may fail for a fault storage's retry or a check
 * can absorb. The host's own queue traffic (receive, delete) goes to Azurite directly: it is not the app's.
 */
const servers = useAzuriteAndVault();
const AUTHORS = 6;

afterAll(async () => {
  await useEnvironment(undefined);
});

interface FaultyDeployment extends World {
  proxy: StorageFaultProxy;
  queue: QueueClient;
  poison: QueueClient;
}

const deployments: FaultyDeployment[] = [];
afterEach(async () => {
  for (const deployment of deployments.splice(0)) {
    await deployment.proxy.close();
    await deployment.catalog.close();
  }
});

async function deploy(faults: Partial<StorageFaultProxyOptions> = {}): Promise<FaultyDeployment> {
  const world = await createWorld(
    servers,
    Array.from({ length: AUTHORS }, () => ({ entities: 20 })),
  );
  const proxy = await startStorageFaultProxy({
    blobEndpoint: servers.azurite.blobEndpoint,
    queueEndpoint: servers.azurite.queueEndpoint,
    ...faults,
  });
  const name = uniqueName('faults');
  world.env = {
    ...world.env,
    EXPORT_QUEUE: name,
    EXPORT_STORAGE: proxy.connectionString(servers.azurite.connectionString),
  };
  await useEnvironment(world.env);
  const queues = QueueServiceClient.fromConnectionString(servers.azurite.connectionString);
  const deployment = {
    ...world,
    proxy,
    queue: queues.getQueueClient(name),
    poison: queues.getQueueClient(`${name}-poison`),
  };
  deployments.push(deployment);
  return deployment;
}

/** The timer, then the queue drained as the host would: every invocation's result and log. */
async function runFanOut(
  deployment: FaultyDeployment,
): Promise<{ timerLogs: string[]; deliveries: HostedDelivery[] }> {
  const { context, logs } = invocation('exportTimer');
  await exportTimer(timer(), context);
  const deliveries = await drainQueue(deployment.queue, exportAuthorQueue, { poison: deployment.poison });
  return { timerLogs: logs, deliveries };
}

async function expectSettledCleanly(
  deployment: FaultyDeployment,
  deliveries: readonly HostedDelivery[],
): Promise<void> {
  // No invocation failed, so nothing was delivered again for a fault and nothing reached the poison queue.
  expect(deliveries.filter((delivery) => !delivery.ok).map((delivery) => delivery.logs)).toEqual([]);
  expect(
    (await deployment.poison.exists()) ? (await deployment.poison.peekMessages()).peekedMessageItems : [],
  ).toEqual([]);
  const record = await storedRunRecord(deployment.container);
  expect(
    deliveries.some((delivery) =>
      delivery.logs.some((line) => line.includes(`Run ${record.runId} finished: complete`)),
    ),
  ).toBe(true);
  await expectEveryAuthorOnce(deployment.container, record, deployment.authorIds, { signed: false });
  // The run released its lock when it finished: the next run can start at once.
  const lock = new BlobRunLock(deployment.container, 15);
  await lock.release(await lock.acquire());
}

function clientRequestId(request: StorageRequest): string {
  return String(request.headers['x-ms-client-request-id']);
}

test('an enqueue whose answer was lost, every retry of it refused, does not fail the timer: the author is exported once', async () => {
  const deployment = await deploy();
  const secretName = `${deployment.prefix}a2`;
  // The case: the message landed, its answer was lost, and the SDK's every retry of that send
  // was answered 503 ServerBusy, so the SDK reports a failure for a message that is on the queue.
  let landed: string | undefined;
  deployment.proxy.addRule((request) => {
    if (queuedWorkItem(request)?.secretName !== secretName) return undefined;
    if (landed === undefined) {
      landed = clientRequestId(request);
      return { kind: 'lost', then: 'busy' };
    }
    return clientRequestId(request) === landed ? { kind: 'busy' } : undefined;
  });

  const { timerLogs, deliveries } = await runFanOut(deployment);

  const sends = deployment.proxy.requests.filter(
    (request) => request.service === 'queue' && request.method === 'POST',
  );
  expect(sends.length).toBeGreaterThan(AUTHORS);
  expect(timerLogs.join('\n')).toContain(`${AUTHORS} author(s) queued`);
  // Both copies were delivered: the second found the author recorded and did nothing.
  expect(deliveries.filter((delivery) => delivery.text.includes(`"${secretName}"`))).toHaveLength(2);
  await expectSettledCleanly(deployment, deliveries);
});

test('every write of the run losing its first answer (the write landed, the client saw a reset) costs no invocation and nothing is counted twice', async () => {
  const deployment = await deploy();
  const lost = new Set<string>();
  deployment.proxy.addRule((request) => {
    if (!['PUT', 'POST', 'DELETE'].includes(request.method)) return undefined;
    // One of each kind of write: its resource, its operation, its conditions, the message it sends.
    const key = [
      request.identity,
      request.headers['x-ms-lease-action'] ?? '',
      request.headers['if-match'] ? 'if-match' : '',
      request.headers['if-none-match'] ? 'if-none-match' : '',
      queuedWorkItem(request)?.secretName ?? '',
    ].join(' ');
    if (lost.has(key)) return undefined;
    lost.add(key);
    return { kind: 'lost' };
  });

  const { deliveries } = await runFanOut(deployment);

  const lostWrites = deployment.proxy.injected.map((fault) => `${fault.method} ${fault.comp ?? ''}`);
  // The writes that matter each lost an answer: the lock, the record (created and finalised), the
  // tally, every message, claims and their leases, snapshot files, outcomes.
  expect(lostWrites).toEqual(expect.arrayContaining(['PUT lease', 'PUT ', 'PUT appendblock', 'POST ']));
  expect(
    deployment.proxy.injected.some(
      (fault) =>
        fault.method === 'PUT' &&
        /^runs\/\d{4}\/\d{2}\/\d{2}\/[^/]+\.json$/.test(fault.path.replace(/^[^/]+\//, '')),
    ),
  ).toBe(true);
  await expectSettledCleanly(deployment, deliveries);
});

test('a fifth of storage requests failing at random (seeded): the timer and every delivery succeed, every author once', async () => {
  const deployment = await deploy({ seed: 26, rate: 0.2 });
  const { deliveries } = await runFanOut(deployment);
  // The faults really happened, of every kind.
  const kinds = new Set(deployment.proxy.injected.map((fault) => fault.fault.kind));
  expect([...kinds].sort()).toEqual(['busy', 'internal', 'lost', 'reset', 'slow']);
  expect(deployment.proxy.injected.length).toBeGreaterThan(deployment.proxy.requests.length / 10);
  await expectSettledCleanly(deployment, deliveries);
}, 60_000);

test('a queue that refuses a message every time fails the timer naming the queue and the storage error; that author is settled as failed and the run still finishes', async () => {
  const deployment = await deploy();
  const secretName = `${deployment.prefix}a4`;
  deployment.proxy.addRule((request) =>
    queuedWorkItem(request)?.secretName === secretName ? { kind: 'busy' } : undefined,
  );

  const { context } = invocation('exportTimer');
  const timerRun = exportTimer(timer(), context);

  await expect(timerRun).rejects.toThrow(
    new RegExp(
      `1 of ${AUTHORS} authors could not be queued: Could not enqueue work on queue ${deployment.queue.name}: HTTP 503 \\(ServerBusy\\)$`,
    ),
  );
  const deliveries = await drainQueue(deployment.queue, exportAuthorQueue, { poison: deployment.poison });
  expect(deliveries.every((delivery) => delivery.ok)).toBe(true);
  const record = await storedRunRecord(deployment.container);
  expect(record).toMatchObject({ status: 'partial', counts: { complete: AUTHORS - 1, failed: 1 } });
  expect(record.authors.find((author) => author.secretName === secretName)).toMatchObject({
    status: 'failed',
    error: {
      code: 'STORAGE_UNAVAILABLE',
      message: expect.stringMatching(/^Could not be queued: /) as unknown,
    },
  });
  const lock = new BlobRunLock(deployment.container, 15);
  await lock.release(await lock.acquire());
}, 45_000);
