import type { ContainerClient } from '@azure/storage-blob';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEMO_AUTHORS } from '../../dev/catalog-simulator';
import { startLocalStack } from '../../dev/localStack';
import { authorIdDigest } from '../../src/contract/authorId';
import { serializeDocument, type ErasureRecord, type RunRecord } from '../../src/contract/formats';
import { BlobErasureStore } from '../../src/snapshots/BlobErasureStore';
import { BlobRunStore } from '../../src/snapshots/BlobRunStore';
import { runCli } from '../support/cliHarness';
import { startSlowProxy, throughProxy } from '../support/slowProxy';
import { containerFor } from '../support/storage';
import { createWorld, useAzuriteAndVault, type World } from '../support/world';
import { blobsUnder } from '../support/blobs';
import { secretClient } from '../support/secrets';

/**
 * Erasure always completes, and shows (issue 25): purge checks what it needs before its first delete, an
 * interrupted purge is finished by the same command, every secret naming the author goes (disabled ones
 * too), and the erasure is visible to the people who must show it.
 */
const servers = useAzuriteAndVault();
const SIGNING_KEY = 'erasure-signing';

beforeAll(async () => {
  await servers.vault.createKey(SIGNING_KEY, { size: 3072, keyOps: ['sign', 'verify'] });
});

async function signedWorld(authors = 1): Promise<World> {
  const world = await createWorld(servers, authors, {
    uniqueAuthorIds: true,
    env: { SIGNING_KEY_NAME: SIGNING_KEY },
  });
  expect((await runCli(['run'], world.env)).code).toBe(0);
  expect((await runCli(['run'], world.env)).code).toBe(0);
  return world;
}

function secretsOf(world: World): string[] {
  return servers.vault
    .listSecretNames()
    .filter((name) => name.startsWith(world.prefix))
    .sort();
}

async function erasureRecords(container: ContainerClient): Promise<string[]> {
  return (await blobsUnder(container, 'erasures/')).filter(
    (name) => /^erasures\/[^/]+\.json$/.test(name) && !name.endsWith('.signature.json'),
  );
}

test('a purge whose signing key does not exist erases nothing, and says why', async () => {
  const world = await signedWorld();
  try {
    const [author] = world.authorIds as [string];
    const before = await blobsUnder(world.container, '');
    const secrets = secretsOf(world);
    const purge = await runCli(['purge', '--author', author, '--yes'], {
      ...world.env,
      SIGNING_KEY_NAME: 'no-such-key',
    });
    expect(purge.code).toBe(1);
    expect(purge.stderr).toMatch(/no-such-key/);
    expect(purge.stderr).toMatch(/nothing was erased/i);
    expect(await blobsUnder(world.container, '')).toEqual(before);
    expect(secretsOf(world)).toEqual(secrets);
  } finally {
    await world.catalog.close();
  }
}, 90_000);

test('a purge whose vault cannot be reached erases nothing', async () => {
  const world = await signedWorld();
  try {
    const [author] = world.authorIds as [string];
    const before = await blobsUnder(world.container, '');
    const purge = await runCli(['purge', '--author', author, '--yes'], {
      ...world.env,
      KEY_VAULT_URL: 'http://127.0.0.1:1',
    });
    expect(purge.code).toBe(1);
    expect(purge.stderr).toMatch(/nothing was erased/i);
    expect(await blobsUnder(world.container, '')).toEqual(before);
  } finally {
    await world.catalog.close();
  }
}, 90_000);

test('a purge that fails half-way is reported by verify with the command that finishes it, which then does', async () => {
  const world = await signedWorld();
  const proxy = await startSlowProxy(`http://127.0.0.1:${servers.azurite.blobPort}`, 0);
  try {
    const [author] = world.authorIds as [string];
    // Storage refuses every delete: the purge begins, and cannot finish.
    proxy.failIf = (request) => request.method === 'DELETE' && request.path.includes('/snapshots/');
    const broken = {
      ...world.env,
      EXPORT_STORAGE: throughProxy(servers.azurite.connectionString, proxy, servers.azurite.blobPort),
    };
    expect((await runCli(['purge', '--author', author, '--yes'], broken)).code).toBe(1);
    const verify = await runCli(['verify', '--json'], world.env);
    expect(verify.code).toBe(1);
    expect(verify.stdout).toContain('erasure-unfinished');
    expect(verify.stdout).toContain(`gallery-export purge --author ${author} --yes`);
    // The same command, storage healthy again, finishes it.
    const finish = await runCli(['purge', '--author', author, '--yes', '--json'], world.env);
    expect(finish.code).toBe(0);
    expect(await blobsUnder(world.container, `snapshots/${author}/`)).toEqual([]);
    expect(secretsOf(world)).toEqual([]);
    expect(await erasureRecords(world.container)).toHaveLength(1);
    expect((await runCli(['verify', '--require-signatures'], world.env)).code).toBe(0);
    // Registered again, the author is exported again: no marker blocks it.
    servers.vault.setSecret(`${world.prefix}again`, JSON.stringify({ authorId: author, accessToken: null }), {
      contentType: 'application/json',
      tags: { authorId: author },
    });
    const rerun = await runCli(['run', '--json'], world.env);
    expect((JSON.parse(rerun.stdout) as RunRecord).authors.map((entry) => entry.status)).toEqual([
      'complete',
    ]);
  } finally {
    await proxy.close();
    await world.catalog.close();
  }
}, 120_000);

test('an unfinished erasure left by an earlier version (erasures/begun/) is finished, and no longer blocks a registered author', async () => {
  const world = await signedWorld();
  try {
    const [author] = world.authorIds as [string];
    const digest = authorIdDigest(author);
    const legacy = serializeDocument({
      schemaVersion: 1,
      erasureId: '20261101T020000Z-0a0b0c',
      authorIdSha256: digest,
      requestedAt: '2026-11-01T02:00:00.000Z',
      requestedBy: 'an earlier version',
    });
    await world.container
      .getBlockBlobClient(`erasures/begun/${digest}/20261101T020000Z-0a0b0c.json`)
      .upload(legacy, legacy.length);
    expect((await runCli(['purge', '--author', author, '--yes'], world.env)).code).toBe(0);
    expect((await runCli(['verify', '--require-signatures'], world.env)).code).toBe(0);
    servers.vault.setSecret(`${world.prefix}back`, JSON.stringify({ authorId: author, accessToken: null }), {
      contentType: 'application/json',
      tags: { authorId: author },
    });
    const rerun = await runCli(['run', '--json'], world.env);
    expect((JSON.parse(rerun.stdout) as RunRecord).authors.map((entry) => entry.status)).toEqual([
      'complete',
    ]);
  } finally {
    await world.catalog.close();
  }
}, 120_000);

test('a disabled, untagged secret whose value names the author is deleted and listed', async () => {
  const world = await signedWorld();
  try {
    const [author] = world.authorIds as [string];
    await secretClient(servers.vault.url).setSecret(
      `${world.prefix}hidden`,
      JSON.stringify({ authorId: author, accessToken: null }),
      {
        enabled: false,
        contentType: 'application/json',
      },
    );
    const purge = await runCli(['purge', '--author', author, '--yes', '--json'], world.env);
    expect(purge.code).toBe(0);
    const { record } = JSON.parse(purge.stdout) as { record: ErasureRecord };
    expect(record.registration?.secretsRemoved).toEqual([`${world.prefix}a0`, `${world.prefix}hidden`]);
    expect(secretsOf(world)).toEqual([]);
  } finally {
    await world.catalog.close();
  }
}, 90_000);

test('purge without --yes shows what it would erase, and erases nothing', async () => {
  const world = await signedWorld();
  try {
    const [author] = world.authorIds as [string];
    const before = await blobsUnder(world.container, '');
    const preview = await runCli(['purge', '--author', author], world.env);
    expect(preview.code).toBe(1);
    expect(preview.stdout + preview.stderr).toMatch(/2 snapshot/);
    expect(preview.stdout + preview.stderr).toMatch(/\d+ files?/);
    expect(preview.stdout + preview.stderr).toMatch(/bytes|KiB|MiB/);
    expect(preview.stdout + preview.stderr).toContain(`${world.prefix}a0`);
    expect(preview.stdout + preview.stderr).toMatch(/nothing was erased/i);
    expect(await blobsUnder(world.container, '')).toEqual(before);
  } finally {
    await world.catalog.close();
  }
}, 90_000);

test('the erasure shows: erasures lists it (text and JSON), list, verify and a second purge name it', async () => {
  const world = await signedWorld();
  try {
    const [author] = world.authorIds as [string];
    const purge = await runCli(
      ['purge', '--author', author, '--yes', '--requested-by', 'ticket-4711', '--json'],
      world.env,
    );
    expect(purge.code).toBe(0);
    const { record } = JSON.parse(purge.stdout) as { record: ErasureRecord };
    const text = await runCli(['erasures', '--author', author], world.env);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(record.erasureId);
    expect(text.stdout).toContain('ticket-4711');
    expect(text.stdout).toMatch(/signature verified/i);
    const json = await runCli(['erasures', '--json'], world.env);
    expect(JSON.parse(json.stdout)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          erasureId: record.erasureId,
          requestedBy: 'ticket-4711',
          signature: expect.objectContaining({ verified: true }) as unknown,
        }),
      ]),
    );
    for (const argv of [
      ['list', '--author', author],
      ['verify', '--author', author],
      ['purge', '--author', author, '--yes'],
    ]) {
      const result = await runCli(argv, world.env);
      expect([argv[0], result.code]).toEqual([argv[0], 0]);
      expect(result.stdout + result.stderr).toContain(record.erasureId);
    }
  } finally {
    await world.catalog.close();
  }
}, 90_000);

test('a run that starts in the same second the erasure record was written is not blocked', async () => {
  const world = await signedWorld();
  try {
    const [author] = world.authorIds as [string];
    expect(
      (await runCli(['purge', '--author', author, '--yes', '--keep-registration'], world.env)).code,
    ).toBe(0);
    const [recordPath] = await erasureRecords(world.container);
    const written = (await world.container.getBlockBlobClient(recordPath!).getProperties()).createdOn!;
    const runs = new BlobRunStore(world.container);
    const erasures = new BlobErasureStore(world.container);
    // A run record created in the very second the erasure record was (storage's clock counts seconds).
    let runCreated: Date | undefined;
    for (let attempt = 0; attempt < 20 && !runCreated; attempt++) {
      const runId = `${written.toISOString().replace(/[-:]/g, '').slice(0, 15)}Z-${(0xa00 + attempt).toString(16)}abc`;
      const { createdOn } = await runs.create({
        schemaVersion: 1,
        runId,
        trigger: 'cli',
        startedAt: new Date().toISOString(),
        completedAt: null,
        status: 'running',
        settings: {},
        counts: { authors: 0, complete: 0, failed: 0, skipped: 0, pending: 0 },
        authors: [],
      });
      if (Math.floor(createdOn.getTime() / 1000) === Math.floor(written.getTime() / 1000))
        runCreated = createdOn;
    }
    if (!runCreated) throw new Error('could not create a run record in the same second (machine too slow)');
    expect(await erasures.blocking(author, runCreated)).toEqual([]);
  } finally {
    await world.catalog.close();
  }
}, 90_000);

test('the local stack does not register again a demo author that was purged', async () => {
  const home = await mkdtemp(join(tmpdir(), 'erased-demo-'));
  const location = join(home, 'azurite');
  const ada = DEMO_AUTHORS.find((entry) => entry.label === 'ada-lovelace')!;
  try {
    const first = await startLocalStack({ azuriteLocation: location });
    try {
      await first.registerDemoAuthors();
      expect((await runCli(['run'], first.env)).code).toBe(1); // the demo's unknown author fails on purpose
      expect((await runCli(['purge', '--author', ada.authorId, '--yes'], first.env)).code).toBe(0);
    } finally {
      await first.stop();
    }
    const second = await startLocalStack({ azuriteLocation: location });
    try {
      const registered = await second.registerDemoAuthors();
      expect(
        registered.find((entry) => entry.authorId === ada.authorId && entry.expected === 'complete'),
      ).toBeUndefined();
      const run = JSON.parse((await runCli(['run', '--json'], second.env)).stdout) as RunRecord;
      expect(
        run.authors.filter((entry) => entry.authorId === ada.authorId && entry.status === 'complete'),
      ).toEqual([]);
      const container = containerFor(second.env.EXPORT_STORAGE!, second.env.EXPORT_CONTAINER!);
      expect(await blobsUnder(container, `snapshots/${ada.authorId}/`)).toEqual([]);
    } finally {
      await second.stop();
    }
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}, 120_000);

test('an unfinished erasure marked by an earlier version still blocks the author in a run', async () => {
  const world = await signedWorld();
  try {
    const [author] = world.authorIds as [string];
    const digest = authorIdDigest(author);
    const legacy = serializeDocument({
      schemaVersion: 1,
      erasureId: '20261101T020000Z-0d0e0f',
      authorIdSha256: digest,
      requestedAt: '2026-11-01T02:00:00.000Z',
      requestedBy: 'an earlier version',
    });
    await world.container
      .getBlockBlobClient(`erasures/begun/${digest}/20261101T020000Z-0d0e0f.json`)
      .upload(legacy, legacy.length);
    const run = JSON.parse((await runCli(['run', '--json'], world.env)).stdout) as RunRecord;
    expect(run.authors.map((entry) => entry.error?.code)).toEqual(['AUTHOR_ERASED']);
  } finally {
    await world.catalog.close();
  }
}, 90_000);
