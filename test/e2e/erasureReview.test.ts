import { authorIdDigest } from '../../src/contract/authorId';
import type { ErasureRecord, RunRecord } from '../../src/contract/formats';
import { BlobErasureStore } from '../../src/snapshots/BlobErasureStore';
import { runCli } from '../support/cliHarness';
import { createWorld, useAzuriteAndVault, worldAuthorId, type World } from '../support/world';
import { putDocument } from '../support/blobs';
import { secretClient } from '../support/secrets';

/**
 * The review of issue 25's change: a purge never leaves a secret able to export, never deletes or signs
 * what a document planted in storage tells it to, and an erasure that began is never taken as finished.
 */
const servers = useAzuriteAndVault();
const SIGNING_KEY = 'erasure-review-signing';

beforeAll(async () => {
  await servers.vault.createKey(SIGNING_KEY, { size: 3072, keyOps: ['sign', 'verify'] });
});

async function signedWorld(authors = 1): Promise<World> {
  const world = await createWorld(servers, authors, {
    uniqueAuthorIds: true,
    env: { SIGNING_KEY_NAME: SIGNING_KEY },
  });
  expect((await runCli(['run'], world.env)).code).toBe(0);
  return world;
}

function marker(erasureId: string, authorId: string): unknown {
  return {
    schemaVersion: 1,
    erasureId,
    authorIdSha256: authorIdDigest(authorId),
    requestedAt: '2026-12-01T00:00:00.000Z',
    requestedBy: 'someone',
  };
}

test('purge without --yes changes nothing in the vault: a disabled secret stays disabled and is named as unread', async () => {
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
    const preview = await runCli(['purge', '--author', author], world.env);
    expect(preview.code).toBe(1);
    expect(preview.stdout).toContain(`${world.prefix}hidden`);
    expect(preview.stdout).toMatch(/disabled/);
    expect(servers.vault.getSecret(`${world.prefix}hidden`)!.at(-1)!.enabled).toBe(false);
    expect(servers.vault.requests.filter((request) => request.method === 'PATCH')).toEqual([]);
  } finally {
    await world.catalog.close();
  }
}, 90_000);

test('a plan planted in storage makes purge delete only the secrets that name the author, and record no others', async () => {
  const world = await signedWorld(2);
  try {
    const [author, other] = world.authorIds as [string, string];
    servers.vault.setSecret('unrelated-app-connection-string', 'Server=x;Password=y', {});
    const erasureId = '20261201T000000Z-0a0b0c';
    await putDocument(
      world.container,
      `purge-progress/${authorIdDigest(author)}/${erasureId}.json`,
      marker(erasureId, author),
    );
    await putDocument(world.container, `purge-progress/${authorIdDigest(author)}/${erasureId}/plan.json`, {
      schemaVersion: 1,
      erasureId,
      authorId: author,
      keepRegistration: false,
      blobs: [],
      runIds: [],
      secrets: [`${world.prefix}a1`, 'unrelated-app-connection-string'],
    });
    const purge = await runCli(['purge', '--author', author, '--yes', '--json'], world.env);
    expect(purge.code).toBe(0);
    const { record } = JSON.parse(purge.stdout) as { record: ErasureRecord };
    expect(record.registration?.secretsRemoved).toEqual([`${world.prefix}a0`]);
    expect(servers.vault.getSecret('unrelated-app-connection-string')).toBeDefined();
    expect(servers.vault.getSecret(`${world.prefix}a1`)).toBeDefined();
    expect(other).toBeDefined();
  } finally {
    servers.vault.deleteSecret('unrelated-app-connection-string');
    await world.catalog.close();
  }
}, 90_000);

test('a record draft planted for another author is never signed', async () => {
  const world = await signedWorld(2);
  try {
    const [author, victim] = world.authorIds as [string, string];
    const erasureId = '20261201T000000Z-0d0e0f';
    await putDocument(
      world.container,
      `purge-progress/${authorIdDigest(author)}/${erasureId}.json`,
      marker(erasureId, author),
    );
    await putDocument(world.container, `purge-progress/${authorIdDigest(author)}/${erasureId}/record.json`, {
      schemaVersion: 1,
      erasureId,
      authorIdSha256: authorIdDigest(victim),
      requestedAt: '2026-12-01T00:00:00.000Z',
      completedAt: new Date().toISOString(),
      requestedBy: 'data owner B',
      deleted: { snapshots: 1, blobs: 4, bytes: 1, runIds: [] },
      registration: { secretsRemoved: [], kept: true },
      generator: { name: 'gallery-export', version: '0.1.0' },
    });
    const purge = await runCli(['purge', '--author', author, '--yes'], world.env);
    expect(purge.code).toBe(1);
    expect(purge.stderr).toContain(`purge-progress/${authorIdDigest(author)}/${erasureId}/record.json`);
    expect(purge.stderr).not.toMatch(/run the same command again/);
    const records: string[] = [];
    for await (const blob of world.container.listBlobsFlat({ prefix: 'erasures/' })) records.push(blob.name);
    expect(records).toEqual([]);
  } finally {
    await world.catalog.close();
  }
}, 90_000);

test('an unfinished legacy erasure that a later complete one closed does not block the author after the upgrade', async () => {
  const world = await signedWorld();
  try {
    const [author] = world.authorIds as [string];
    const digest = authorIdDigest(author);
    await putDocument(
      world.container,
      `erasures/begun/${digest}/20261101T020000Z-0a0b0f.json`,
      marker('20261101T020000Z-0a0b0f', author),
    );
    await putDocument(
      world.container,
      `erasures/begun/${digest}/20261101T030000Z-0a0b10.json`,
      marker('20261101T030000Z-0a0b10', author),
    );
    await putDocument(world.container, 'erasures/20261101T030000Z-0a0b10.json', {
      schemaVersion: 1,
      erasureId: '20261101T030000Z-0a0b10',
      authorIdSha256: digest,
      requestedAt: '2026-11-01T03:00:00.000Z',
      completedAt: '2026-11-01T03:00:05.000Z',
      requestedBy: 'an earlier version',
      deleted: { snapshots: 0, blobs: 0, bytes: 0, runIds: [] },
      registration: { secretsRemoved: [], kept: true },
      generator: { name: 'gallery-export', version: '0.1.0' },
    });
    const run = JSON.parse((await runCli(['run', '--json'], world.env)).stdout) as RunRecord;
    expect(run.authors.map((entry) => entry.status)).toEqual(['complete']);
    expect((await runCli(['erasures', '--author', author], world.env)).code).toBe(0);
  } finally {
    await world.catalog.close();
  }
}, 90_000);

test('an erasure begun in the second another one of the author completed is still unfinished', async () => {
  const world = await signedWorld();
  try {
    const [author] = world.authorIds as [string];
    expect(
      (await runCli(['purge', '--author', author, '--yes', '--keep-registration'], world.env)).code,
    ).toBe(0);
    let recordPath = '';
    for await (const blob of world.container.listBlobsFlat({ prefix: 'erasures/' }))
      if (!blob.name.includes('signature')) recordPath = blob.name;
    const written = (await world.container.getBlockBlobClient(recordPath).getProperties()).createdOn!;
    const store = new BlobErasureStore(world.container);
    const later = `${recordPath.slice('erasures/'.length, 'erasures/'.length + 17)}fff${'abc'}`;
    await store.begin({
      schemaVersion: 1,
      erasureId: later,
      authorIdSha256: authorIdDigest(author),
      requestedAt: new Date().toISOString(),
      requestedBy: 'killed right after its marker',
    });
    const markerAt = (
      await world.container
        .getBlockBlobClient(`purge-progress/${authorIdDigest(author)}/${later}.json`)
        .getProperties()
    ).createdOn!;
    if (Math.floor(markerAt.getTime() / 1000) !== Math.floor(written.getTime() / 1000)) return; // not the same second: nothing to show
    expect((await store.unfinished(author)).map((erasure) => erasure.erasureId)).toEqual([later]);
    expect((await runCli(['erasures', '--author', author], world.env)).code).toBe(1);
  } finally {
    await world.catalog.close();
  }
}, 90_000);

test('a plan naming another author than its folder never turns into "purge that other author"', async () => {
  const world = await signedWorld();
  try {
    const [author] = world.authorIds as [string];
    const stranger = worldAuthorId(99, 'stranger');
    const erasureId = '20261201T000000Z-0c0c0c';
    await putDocument(
      world.container,
      `purge-progress/${authorIdDigest(author)}/${erasureId}.json`,
      marker(erasureId, author),
    );
    await putDocument(world.container, `purge-progress/${authorIdDigest(author)}/${erasureId}/plan.json`, {
      schemaVersion: 1,
      erasureId,
      authorId: stranger,
      keepRegistration: false,
      blobs: [],
      runIds: [],
      secrets: [],
    });
    const listed = await runCli(['erasures', '--json'], world.env);
    expect(listed.stdout).not.toContain(stranger);
    const verify = await runCli(['verify', '--json'], world.env);
    expect(verify.stdout).not.toContain(`purge --author ${stranger}`);
  } finally {
    await world.catalog.close();
  }
}, 90_000);

test('the secrets a purge deletes are those under AUTHOR_SECRET_PREFIX whose tag or value names the author', async () => {
  const world = await signedWorld(2);
  try {
    const [author, other] = world.authorIds as [string, string];
    servers.vault.setSecret(`zz-elsewhere-${world.prefix}x`, 'not an author secret', {
      tags: { authorId: author },
    });
    servers.vault.setSecret(
      `${world.prefix}mislabelled`,
      JSON.stringify({ authorId: author, accessToken: null }),
      {
        contentType: 'application/json',
        tags: { authorId: other },
      },
    );
    const purge = await runCli(['purge', '--author', author, '--yes', '--json'], world.env);
    expect(purge.code).toBe(0);
    const { record } = JSON.parse(purge.stdout) as { record: ErasureRecord };
    expect(record.registration?.secretsRemoved).toEqual([`${world.prefix}a0`, `${world.prefix}mislabelled`]);
    expect(servers.vault.getSecret(`zz-elsewhere-${world.prefix}x`)).toBeDefined();
  } finally {
    servers.vault.deleteSecret(`zz-elsewhere-${world.prefix}x`);
    await world.catalog.close();
  }
}, 90_000);
