import type { RunRecord } from '../../src/contract/formats';
import { BlobRunLock } from '../../src/snapshots/BlobRunLock';
import { runCli } from '../support/cliHarness';
import { expectEveryAuthorOnce, storedRunRecord } from '../support/runVerdict';
import {
  faultSequence,
  startStorageFaultProxy,
  type StorageFaultProxy,
  type StorageFaultProxyOptions,
} from '../support/storageFaultProxy';
import { createWorld, useAzuriteAndVault, type World } from '../support/world';

/**
 * Drill: `gallery-export run` with storage misbehaving (issue 26). Every blob and queue request of the
 * CLI goes through a proxy that answers some 503 ServerBusy or 500, resets connections, holds requests,
 * or passes a request on and loses its answer. Nothing may be lost or claimed twice, and no author may
 * fail for a fault storage's retry or a check can absorb. The verdict reads Azurite directly.
 */
const servers = useAzuriteAndVault();
const AUTHORS = 6;

interface FaultyWorld extends World {
  proxy: StorageFaultProxy;
}

const worlds: FaultyWorld[] = [];
afterEach(async () => {
  for (const world of worlds.splice(0)) {
    await world.proxy.close();
    await world.catalog.close();
  }
});

async function faultyWorld(faults: Partial<StorageFaultProxyOptions> = {}): Promise<FaultyWorld> {
  const world = await createWorld(
    servers,
    Array.from({ length: AUTHORS }, () => ({ entities: 40 })),
  );
  const proxy = await startStorageFaultProxy({
    blobEndpoint: servers.azurite.blobEndpoint,
    queueEndpoint: servers.azurite.queueEndpoint,
    ...faults,
  });
  const faulty = {
    ...world,
    proxy,
    env: { ...world.env, EXPORT_STORAGE: proxy.connectionString(servers.azurite.connectionString) },
  };
  worlds.push(faulty);
  return faulty;
}

async function expectLockFree(world: World): Promise<void> {
  const lock = new BlobRunLock(world.container, 15);
  await lock.release(await lock.acquire());
}

test('the run record finalised but the answer lost: the run reports no error and frees the lock at once', async () => {
  const world = await faultyWorld();
  world.proxy.addRule((request) => {
    const finalising =
      request.method === 'PUT' &&
      /^[^/]+\/runs\/\d{4}\/\d{2}\/\d{2}\/[^/]+\.json$/.test(request.path) &&
      request.headers['if-match'] !== undefined;
    return finalising && request.occurrence === 1 ? { kind: 'lost' } : undefined;
  });

  const result = await runCli(['run', '--json'], world.env);

  expect(world.proxy.injected).toHaveLength(1);
  const reported = JSON.parse(result.stdout) as RunRecord;
  expect(reported.error).toBeUndefined();
  expect(result.code).toBe(0);
  const stored = await storedRunRecord(world.container);
  await expectEveryAuthorOnce(world.container, stored, world.authorIds, { signed: false });
  await expectLockFree(world);
});

test('a request refused seven times in a row still lands: at a fifth of requests failing, a run of thousands of requests meets streaks of four', async () => {
  const world = await faultyWorld();
  const manifest = `snapshots/${world.authorIds[0]}/`;
  world.proxy.addRule(
    faultSequence(
      (request) =>
        request.method === 'PUT' &&
        request.path.includes(manifest) &&
        request.path.endsWith('/manifest.json'),
      [
        { kind: 'busy' },
        { kind: 'internal' },
        { kind: 'reset' },
        { kind: 'busy' },
        { kind: 'internal' },
        { kind: 'reset' },
        { kind: 'busy' },
      ],
    ),
  );

  const result = await runCli(['run', '--json'], world.env);

  expect(world.proxy.injected).toHaveLength(7);
  expect(result.code).toBe(0);
  await expectEveryAuthorOnce(world.container, await storedRunRecord(world.container), world.authorIds, {
    signed: false,
  });
}, 45_000);

test.each([
  ['signed', 7],
  ['unsigned', 26],
])(
  'a fifth of storage requests failing at random (%s, seed %d): every author complete once, verify passes',
  async (signing, seed) => {
    const world = await faultyWorld({ seed, rate: 0.2 });
    if (signing === 'signed') {
      await servers.vault.createKey(`${world.prefix}key`, { size: 3072, keyOps: ['sign', 'verify'] });
      world.env.SIGNING_KEY_NAME = `${world.prefix}key`;
    }

    const result = await runCli(['run', '--json'], world.env);

    const kinds = new Set(world.proxy.injected.map((fault) => fault.fault.kind));
    expect([...kinds].sort()).toEqual(['busy', 'internal', 'lost', 'reset', 'slow']);
    expect(result.stderr).not.toMatch(/failed/);
    expect(result.code).toBe(0);
    await expectEveryAuthorOnce(world.container, await storedRunRecord(world.container), world.authorIds, {
      signed: signing === 'signed',
    });
    // The auditor's check, against storage directly.
    const verify = await runCli(['verify', ...(signing === 'signed' ? ['--require-signatures'] : [])], {
      ...world.env,
      EXPORT_STORAGE: servers.azurite.connectionString,
    });
    expect([verify.code, verify.stderr]).toEqual([0, '']);
  },
  45_000,
);

test('a write storage refuses every time fails that author alone, naming the blob and the storage error, and no key', async () => {
  const world = await faultyWorld();
  const refused = world.authorIds[1]!;
  world.proxy.addRule((request) =>
    request.method === 'PUT' &&
    request.path.includes(`snapshots/${refused}/`) &&
    request.path.endsWith('/manifest.json')
      ? { kind: 'busy' }
      : undefined,
  );

  const result = await runCli(['run', '--json'], world.env);

  expect(result.code).toBe(1);
  const record = JSON.parse(result.stdout) as RunRecord;
  expect(record.counts).toMatchObject({ complete: AUTHORS - 1, failed: 1 });
  const failed = record.authors.find((author) => author.status === 'failed')!;
  expect(failed.authorId).toBe(refused);
  expect(failed.error!.message).toMatch(
    new RegExp(
      `^Could not write snapshots/${refused}/\\d{4}/\\d{2}/\\d{2}/${record.runId}/manifest\\.json: HTTP 503 \\(ServerBusy\\)$`,
    ),
  );
  const key = /AccountKey=([^;]+)/.exec(servers.azurite.connectionString)![1]!;
  expect(`${result.stdout}${result.stderr}`).not.toContain(key);
  expect(`${result.stdout}${result.stderr}`).not.toMatch(/sig=|AccountKey/);
}, 45_000);
