import { QueueServiceClient, type QueueClient } from '@azure/storage-queue';
import type { ContainerClient } from '@azure/storage-blob';
import type { AuthorOutcome, ErasureRecord, RunRecord } from '../../src/contract/formats';
import { exportAuthorQueue } from '../../src/functions/exportAuthorQueue';
import { exportTimer } from '../../src/functions/exportTimer';
import { startExport } from '../../src/functions/httpApi';
import { useEnvironment } from '../../src/functions/runtime';
import { HttpRequest } from '@azure/functions';
import { runCli } from '../support/cliHarness';
import { validateStoredDocuments } from '../support/documents';
import { invocation, timer } from '../support/functionsHarness';
import { drainQueue } from '../support/queueHost';
import { readAllBlobs, uniqueName } from '../support/storage';
import { createWorld, useAzuriteAndVault, waitFor, type World } from '../support/world';
import { blobsUnder } from '../support/blobs';
import { secretClient } from '../support/secrets';

/**
 * Erasure stays erased, and one run at a time really holds (issue 11), driven as the Functions host
 * would: timer, queued messages, leases that lapse, `purge` from the command line, deliveries.
 */
const servers = useAzuriteAndVault();

afterAll(async () => {
  await useEnvironment(undefined);
});

interface Deployment extends World {
  queue: QueueClient;
  poison: QueueClient;
}

async function deploy(authors: number, env: Record<string, string> = {}): Promise<Deployment> {
  const world = await createWorld(servers, authors);
  const name = uniqueName('erase');
  world.env = { ...world.env, EXPORT_QUEUE: name, CATALOG_MAX_RETRIES: '1', ...env };
  await useEnvironment(world.env);
  const queues = QueueServiceClient.fromConnectionString(servers.azurite.connectionString);
  const queue = queues.getQueueClient(name);
  const poison = queues.getQueueClient(`${name}-poison`);
  return { ...world, queue, poison };
}

async function runRecords(container: ContainerClient): Promise<RunRecord[]> {
  const blobs = await readAllBlobs(container, 'runs/');
  return (
    [...blobs]
      .filter(([path]) => /^runs\/\d{4}\/\d{2}\/\d{2}\/[^/]+\.json$/.test(path))
      .map(([, blob]) => JSON.parse(blob.body.toString()) as RunRecord)
      // Two runs may start within one second: their start times, not their IDs, order them.
      .sort((a, b) => a.startedAt.localeCompare(b.startedAt) || (a.runId < b.runId ? -1 : 1))
  );
}

async function timerRun(world: Deployment): Promise<void> {
  await exportTimer(timer(), invocation('exportTimer').context);
  await drainQueue(world.queue, exportAuthorQueue, { poison: world.poison });
}

function breakEveryLease(container: ContainerClient): Promise<unknown> {
  return container.getBlobLeaseClient().breakLease(0);
}

test('a purge between the timer and the deliveries stays erased: after the purge, the deliveries and the next timer run', async () => {
  const world = await deploy(3, { RUN_LOCK_SECONDS: '15' });
  const erased = world.authorIds[1]!;
  try {
    // An earlier, complete run, so the author has something to erase.
    expect((await runCli(['run'], world.env)).code).toBe(0);
    await exportTimer(timer(), invocation('exportTimer').context);
    // Every lease on the export container lapses before the messages are delivered.
    await breakEveryLease(world.container);
    const purge = await runCli(['purge', '--author', erased, '--yes'], world.env);
    expect(purge.code).toBe(0);
    expect(await blobsUnder(world.container, `snapshots/${erased}/`)).toEqual([]);

    const deliveries = await drainQueue(world.queue, exportAuthorQueue, { poison: world.poison });
    expect(await blobsUnder(world.container, `snapshots/${erased}/`)).toEqual([]);
    // Each message was settled once: a worker whose run lost its lock does not ask to be redelivered.
    expect(deliveries.every((delivery) => delivery.ok)).toBe(true);
    expect(deliveries).toHaveLength(3);

    const [, lost] = await runRecords(world.container);
    expect(lost!.status).toBe('failed');
    expect(lost!.authors.map((author) => author.error?.code)).toEqual([
      'RUN_LOCK_LOST',
      'RUN_LOCK_LOST',
      'RUN_LOCK_LOST',
    ]);

    await timerRun(world);
    expect(await blobsUnder(world.container, `snapshots/${erased}/`)).toEqual([]);
    const next = (await runRecords(world.container)).at(-1)!;
    expect(next.counts).toMatchObject({ authors: 2, complete: 2, failed: 0 });
    expect(next.authors.map((author) => author.authorId)).not.toContain(erased);
    expect((await validateStoredDocuments(world.container)).problems).toEqual([]);
  } finally {
    await world.catalog.close();
  }
}, 60_000);

test('a purge that lands while a worker is paging the author: the worker writes nothing after it', async () => {
  const world = await deploy(2, { RUN_LOCK_SECONDS: '15' });
  const erased = world.authorIds[0]!;
  try {
    expect((await runCli(['run'], world.env)).code).toBe(0);
    // The erased author's pages take long enough for the purge to land in the middle of its export.
    world.catalog.setFaults({ perAuthor: { [erased]: { latencyMs: 1500 } } });
    await exportTimer(timer(), invocation('exportTimer').context);
    const delivering = drainQueue(world.queue, exportAuthorQueue, { poison: world.poison });
    await waitFor(
      () =>
        world.catalog.requestLog.some(
          (entry) => entry.path === '/entities' && entry.authorId === erased && entry.hadToken,
        ),
      'the worker to page the author with its token',
    );
    await breakEveryLease(world.container);
    expect((await runCli(['purge', '--author', erased, '--yes'], world.env)).code).toBe(0);
    const purgedAt = performance.now();
    await delivering;
    expect(await blobsUnder(world.container, `snapshots/${erased}/`)).toEqual([]);
    const [, during] = await runRecords(world.container);
    const outcome = during!.authors.find((author) => author.authorId === erased)!;
    expect(outcome).toMatchObject({ status: 'failed' });
    expect(['RUN_LOCK_LOST', 'AUTHOR_ERASED']).toContain(outcome.error!.code);
    // Its requests stopped: nothing for the erased author reached the catalog well after the purge.
    const late = world.catalog.requestLog.filter(
      (entry) => entry.authorId === erased && entry.arrivedAt > purgedAt + 6000,
    );
    expect(late).toEqual([]);
  } finally {
    await world.catalog.close();
  }
}, 60_000);

test('two runs racing: the one that lost the lock writes nothing, records RUN_LOCK_LOST and is not redelivered', async () => {
  const world = await deploy(3);
  try {
    await exportTimer(timer(), invocation('exportTimer').context);
    const [first] = await runRecords(world.container);
    // The first run's lock lapses and a second run, started over HTTP, takes it.
    await breakEveryLease(world.container);
    const answer = await startExport(
      new HttpRequest({ url: 'http://localhost/api/exports', method: 'POST', body: { string: '' } }),
      invocation('startExport').context,
    );
    expect(answer.status).toBe(202);
    const second = (answer.jsonBody as { runId: string }).runId;
    // Both runs' messages are delivered, concurrently.
    const deliveries = await drainQueue(world.queue, exportAuthorQueue, { poison: world.poison });
    expect(deliveries).toHaveLength(6);
    expect(deliveries.every((delivery) => delivery.ok)).toBe(true);
    const snapshots = await blobsUnder(world.container, 'snapshots/');
    expect(snapshots.filter((name) => name.includes(`/${first!.runId}/`))).toEqual([]);
    expect(snapshots.filter((name) => name.endsWith(`/${second}/manifest.json`))).toHaveLength(3);
    const records = await runRecords(world.container);
    const lost = records.find((record) => record.runId === first!.runId)!;
    expect(lost.status).toBe('failed');
    expect(lost.authors.every((author: AuthorOutcome) => author.error?.code === 'RUN_LOCK_LOST')).toBe(true);
    expect(records.find((record) => record.runId === second)!.status).toBe('complete');
  } finally {
    await world.catalog.close();
  }
}, 60_000);

test('two untagged secrets of one author delivered at once: one snapshot, the other skipped', async () => {
  const world = await deploy(1);
  try {
    const author = world.authorIds[0]!;
    const value = servers.vault.getSecret(`${world.prefix}a0`)!.at(-1)!.value;
    // Both secrets name the author only in their values: planning cannot tell them apart.
    servers.vault.setSecret(`${world.prefix}a0`, value, { contentType: 'application/json' });
    servers.vault.setSecret(`${world.prefix}twin`, value, { contentType: 'application/json' });
    await timerRun(world);
    const [record] = await runRecords(world.container);
    const byStatus = Object.fromEntries(record!.authors.map((a) => [a.status, a]));
    expect(record!.counts).toMatchObject({ authors: 2, complete: 1, skipped: 1, failed: 0 });
    const writer = byStatus.complete!.secretName;
    expect(byStatus.skipped!.reason).toBe(`same author as secret ${writer}`);
    const folders = new Set(
      (await blobsUnder(world.container, `snapshots/${author}/`)).map((name) => name.replace(/[^/]+$/, '')),
    );
    expect(folders.size).toBe(1);
    const verify = await runCli(['verify'], world.env);
    expect(verify.code).toBe(0);
  } finally {
    await world.catalog.close();
  }
}, 60_000);

test('purge ends the registration: every secret naming the author is deleted and listed in the erasure record', async () => {
  const world = await createWorld(servers, 2, { uniqueAuthorIds: true });
  try {
    const [author, other] = world.authorIds as [string, string];
    const value = servers.vault.getSecret(`${world.prefix}a0`)!.at(-1)!.value;
    // A second secret for the same author, untagged: found by its value.
    servers.vault.setSecret(`${world.prefix}again`, value, { contentType: 'application/json' });
    expect((await runCli(['run'], world.env)).code).toBe(0);
    const purge = await runCli(['purge', '--author', author, '--yes', '--json'], world.env);
    expect(purge.code).toBe(0);
    const result = JSON.parse(purge.stdout) as { record: ErasureRecord };
    expect(result.record.registration).toMatchObject({
      kept: false,
      secretsRemoved: [`${world.prefix}a0`, `${world.prefix}again`],
    });
    const remaining: string[] = [];
    for await (const properties of secretClient(servers.vault.url).listPropertiesOfSecrets()) {
      if (properties.name.startsWith(world.prefix)) remaining.push(properties.name);
    }
    expect(remaining).toEqual([`${world.prefix}a1`]);
    // Soft-deleted, so recoverable for the vault's retention.
    await expect(
      secretClient(servers.vault.url).getDeletedSecret(`${world.prefix}a0`),
    ).resolves.toBeDefined();
    const next = await runCli(['run', '--json'], world.env);
    expect((JSON.parse(next.stdout) as RunRecord).authors.map((a) => a.authorId)).toEqual([other]);
  } finally {
    await world.catalog.close();
  }
}, 60_000);

test('purge --keep-registration keeps the secrets and says the next run exports the author again', async () => {
  const world = await createWorld(servers, 1);
  try {
    const author = world.authorIds[0]!;
    expect((await runCli(['run'], world.env)).code).toBe(0);
    const purge = await runCli(['purge', '--author', author, '--yes', '--keep-registration'], world.env);
    expect(purge.code).toBe(0);
    expect(purge.stdout + purge.stderr).toMatch(/next run will export (this )?author .* again/i);
    expect(servers.vault.getSecret(`${world.prefix}a0`)).toBeDefined();
    expect(await blobsUnder(world.container, `snapshots/${author}/`)).toEqual([]);
  } finally {
    await world.catalog.close();
  }
}, 60_000);
