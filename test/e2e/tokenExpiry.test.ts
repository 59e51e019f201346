import type { Manifest, RunRecord } from '../../src/contract/formats';
import { runCli } from '../support/cliHarness';
import { readAllBlobs } from '../support/storage';
import { createWorld, useAzuriteAndVault } from '../support/world';

/**
 * A token that expires while the list is read (issue 12): the catalog quietly stops returning unlisted
 * entities once the token has expired, so a manifest may say `includesUnlisted: true` only when the token
 * was valid through the listing that was kept; otherwise its token status and a warning say what
 * happened.
 */
const servers = useAzuriteAndVault();

test('the token lapses half-way through a 2,200-entity listing: the manifest does not claim the unlisted entities', async () => {
  const world = await createWorld(servers, [{ entities: 2200 }], {
    // 23 pages two at a time, 400 ms each: about 5 s of listing, and the token lapses after 2.
    simulator: { faults: { latencyMs: 400 } },
    env: { CATALOG_CONCURRENCY: '2', CATALOG_PAGE_SIZE: '100' },
  });
  try {
    const authorId = world.authorIds[0]!;
    const unlisted = world.catalog.data.authors
      .get(authorId)!
      .entities.filter((entity) => (entity as { hidden?: boolean }).hidden === true).length;
    expect(unlisted).toBeGreaterThan(100);
    const token = world.catalog.issueToken(authorId, { expiresInSeconds: 3 });
    servers.vault.setSecret(`${world.prefix}a0`, JSON.stringify({ authorId, accessToken: token }), {
      contentType: 'application/json',
      tags: { authorId },
    });
    const result = await runCli(['run', '--json'], world.env);
    const record = JSON.parse(result.stdout) as RunRecord;
    expect(record.authors[0]!.status).toBe('complete');
    const blobs = await readAllBlobs(world.container, 'snapshots/');
    const [, manifestBlob] = [...blobs].find(([path]) => path.endsWith('/manifest.json'))!;
    const manifest = JSON.parse(manifestBlob.body.toString()) as Manifest;
    if (manifest.includesUnlisted) {
      // Only true if every unlisted entity really is there.
      expect(manifest.counts.unlisted).toBe(unlisted);
    } else {
      expect(manifest.token.status).toBe('expired');
      expect(manifest.counts.unlisted).toBe(0);
      expect(manifest.warnings.join(' ')).toMatch(
        /expired .*while the entities were read|during the export/i,
      );
    }
    // Either way what is stored matches what the manifest says.
    const [, entitiesBlob] = [...blobs].find(([path]) => path.endsWith('/entities.json'))!;
    const stored = JSON.parse(entitiesBlob.body.toString()) as Array<{ hidden?: boolean }>;
    expect(stored.filter((entity) => entity.hidden === true)).toHaveLength(manifest.counts.unlisted);
  } finally {
    await world.catalog.close();
  }
}, 60_000);
