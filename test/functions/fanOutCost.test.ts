import { HttpRequest } from '@azure/functions';
import { QueueServiceClient, type QueueClient } from '@azure/storage-queue';
import type { RunRecord } from '../../src/contract/formats';
import { exportAuthorQueue } from '../../src/functions/exportAuthorQueue';
import { exportTimer } from '../../src/functions/exportTimer';
import { getExport } from '../../src/functions/httpApi';
import { useEnvironment } from '../../src/functions/runtime';
import { validateStoredDocuments } from '../support/documents';
import { invocation, timer } from '../support/functionsHarness';
import { drainQueue } from '../support/queueHost';
import { startSlowProxy, throughProxy, type SlowProxy } from '../support/slowProxy';
import { readAllBlobs, uniqueName } from '../support/storage';
import { createWorld, useAzuriteAndVault, type World } from '../support/world';

/**
 * What a fan-out run costs in blob operations as the fleet grows (issue 14): finishing a run of N
 * authors must cost O(N) operations in all, not a listing and a read of every outcome per author
 * (about N^2/2 reads), and `GET /api/exports/{runId}` must not read one blob per author. Counted at a
 * proxy in front of Azurite's blob endpoint, the way storage would bill them.
 */
const servers = useAzuriteAndVault();
const AUTHORS = 24;

afterAll(async () => {
  await useEnvironment(undefined);
});

interface CountedDeployment extends World {
  proxy: SlowProxy;
  queue: QueueClient;
  poison: QueueClient;
}

async function deploy(): Promise<CountedDeployment> {
  const world = await createWorld(
    servers,
    Array.from({ length: AUTHORS }, () => ({ entities: 3 })),
  );
  const proxy = await startSlowProxy(`http://127.0.0.1:${servers.azurite.blobPort}`, 0);
  const name = uniqueName('cost');
  world.env = {
    ...world.env,
    EXPORT_QUEUE: name,
    EXPORT_STORAGE: throughProxy(servers.azurite.connectionString, proxy, servers.azurite.blobPort),
  };
  await useEnvironment(world.env);
  const queues = QueueServiceClient.fromConnectionString(servers.azurite.connectionString);
  return {
    ...world,
    proxy,
    queue: queues.getQueueClient(name),
    poison: queues.getQueueClient(`${name}-poison`),
  };
}

async function runRecord(world: World): Promise<RunRecord> {
  const blobs = await readAllBlobs(world.container, 'runs/');
  const [record] = [...blobs].filter(([path]) => /^runs\/\d{4}\/\d{2}\/\d{2}\/[^/]+\.json$/.test(path));
  return JSON.parse(record![1].body.toString()) as RunRecord;
}

/** The blob requests about a run's outcome folder: listings of it, and reads of outcome blobs in it. */
function outcomeTraffic(
  requests: ReadonlyArray<{ method: string; path: string }>,
  world: World,
  runId: string,
): { listings: number; outcomeReads: number } {
  const folder = `runs/${runId.slice(0, 4)}/${runId.slice(4, 6)}/${runId.slice(6, 8)}/${runId}/`;
  let listings = 0;
  let outcomeReads = 0;
  for (const request of requests) {
    const url = new URL(request.path, 'http://storage');
    if (request.method !== 'GET' || !url.pathname.includes(`/${world.container.containerName}`)) continue;
    if (url.searchParams.get('comp') === 'list') {
      if (url.searchParams.get('prefix') === folder) listings++;
      continue;
    }
    const blobPath = decodeURIComponent(url.pathname).split(`/${world.container.containerName}/`)[1] ?? '';
    if (blobPath.startsWith(folder) && !blobPath.slice(folder.length).includes('/')) outcomeReads++;
  }
  return { listings, outcomeReads };
}

async function deliver(world: CountedDeployment, count: number): Promise<void> {
  const { receivedMessageItems } = await world.queue.receiveMessages({
    numberOfMessages: count,
    visibilityTimeout: 60,
  });
  expect(receivedMessageItems).toHaveLength(count);
  await Promise.all(
    receivedMessageItems.map(async (message) => {
      const entry = JSON.parse(Buffer.from(message.messageText, 'base64').toString('utf8')) as unknown;
      await exportAuthorQueue(entry, invocation('exportAuthorQueue', { dequeueCount: 1 }).context);
      await world.queue.deleteMessage(message.messageId, message.popReceipt);
    }),
  );
}

/** Each storage request of a delivery, named by what it does (method, `comp`, the blob's folder). */
function describeOperations(
  requests: ReadonlyArray<{ method: string; path: string }>,
  container: string,
): string[] {
  return requests.map((request) => {
    const url = new URL(request.path, 'http://storage');
    const comp = url.searchParams.get('comp');
    const restype = url.searchParams.get('restype');
    const blob = decodeURIComponent(url.pathname).split(`/${container}/`)[1];
    const where =
      blob === undefined
        ? `container ${url.searchParams.get('prefix') ?? ''}`
        : blob.replace(/[0-9A-F]{64}/g, '<author>').replace(/\d{8}T\d{6}Z-[0-9a-f]{6}/g, '<run>');
    return `${request.method}${comp ? ` comp=${comp}` : ''}${restype ? ` restype=${restype}` : ''} ${where}`;
  });
}

/** What one small author's queued delivery costs in storage operations (issue 28): counted, and bounded. */
/**
 * What one small author's queued delivery may cost (issue 28: 16 before). Each remains for a promise: the
 * run record (the run's lock and status) and the author's outcome (a redelivery does nothing); the run
 * lease renewed before any work (a run that lost its lock exports nothing); the claim, made and leased
 * (one live delivery per author); the author's latest complete snapshot (the chain); the erasure markers
 * and the run and claim leases renewed before the first visible write (the fence); the three files; the
 * outcome and the tally append (the run is finalised once, in O(N)). Cut: the listing that checked the
 * files before the manifest (the claim's lease, renewed by that fence, already keeps every other delivery
 * out of the folder) and the claim's release after a complete export (the outcome, recorded next, is what
 * a redelivery reads first).
 */
const DELIVERY_OPERATIONS_LIMIT = 14;

test('one small author through the queue costs a bounded number of storage operations', async () => {
  const world = await deploy();
  try {
    await exportTimer(timer(), invocation('exportTimer').context);
    const before = world.proxy.requests.length;
    await deliver(world, 1);
    const operations = describeOperations(world.proxy.requests.slice(before), world.container.containerName);
    // When the bound fails, the message is the list: what each operation was.
    expect(operations.length <= DELIVERY_OPERATIONS_LIMIT ? [] : operations).toEqual([]);
    expect(operations.length).toBeGreaterThan(DELIVERY_OPERATIONS_LIMIT / 2);
    await drainQueue(world.queue, exportAuthorQueue, { poison: world.poison });
    expect(await runRecord(world)).toMatchObject({ status: 'complete', counts: { complete: AUTHORS } });
  } finally {
    await world.proxy.close();
    await world.catalog.close();
  }
}, 60_000);

test(`finishing a fan-out run of ${AUTHORS} authors lists its outcomes about once and reads each outcome at most once`, async () => {
  const world = await deploy();
  try {
    await exportTimer(timer(), invocation('exportTimer').context);
    const planned = world.proxy.requests.length;
    await drainQueue(world.queue, exportAuthorQueue, { poison: world.poison });

    const record = await runRecord(world);
    expect(record).toMatchObject({ status: 'complete', counts: { complete: AUTHORS, pending: 0 } });
    const traffic = outcomeTraffic(world.proxy.requests.slice(planned), world, record.runId);
    // Each delivery may look for its own outcome once (a redelivery finds it there); the run is
    // finalised from one listing. Gathering every outcome on every delivery costs N listings and
    // N(N+1)/2 reads.
    expect(traffic.listings).toBeLessThanOrEqual(2);
    expect(traffic.outcomeReads).toBeLessThanOrEqual(AUTHORS + 2);
    expect((await validateStoredDocuments(world.container)).problems).toEqual([]);
  } finally {
    await world.proxy.close();
    await world.catalog.close();
  }
}, 60_000);

test('GET /api/exports/{runId} of a running run costs one listing, not a read per author', async () => {
  const world = await deploy();
  try {
    await exportTimer(timer(), invocation('exportTimer').context);
    await deliver(world, AUTHORS / 2);
    const runId = (await runRecord(world)).runId;

    const before = world.proxy.requests.length;
    const response = await getExport(
      new HttpRequest({ url: `https://x/api/exports/${runId}`, method: 'GET', params: { runId } }),
      invocation('getExport').context,
    );
    const traffic = outcomeTraffic(world.proxy.requests.slice(before), world, runId);
    expect(response.status ?? 200).toBe(200);
    expect(response.jsonBody).toMatchObject({
      runId,
      status: 'running',
      counts: { complete: AUTHORS / 2, pending: AUTHORS / 2 },
    });
    expect(traffic).toEqual({ listings: 1, outcomeReads: 0 });
    expect(world.proxy.requests.length - before).toBeLessThanOrEqual(3);

    await drainQueue(world.queue, exportAuthorQueue, { poison: world.poison });
    expect(await runRecord(world)).toMatchObject({ status: 'complete', counts: { complete: AUTHORS } });
  } finally {
    await world.proxy.close();
    await world.catalog.close();
  }
}, 60_000);
