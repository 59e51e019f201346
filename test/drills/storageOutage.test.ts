import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunRecord } from '../../src/contract/formats';
import { expectArchiveSound, fingerprintSnapshots } from '../support/archive';
import { runCli } from '../support/cliHarness';
import { createWorld, runOnceUnlocked, useAzuriteAndVault, waitFor } from '../support/world';

/** Drill: the storage account goes away in the middle of a run, then comes back. */
// Azurite keeps its data on disk here, so it survives being stopped and started again.
const folder = mkdtempSync(join(tmpdir(), 'azurite-drill-'));
const servers = useAzuriteAndVault(() => ({ location: folder }));

afterAll(async () => {
  await rm(folder, { recursive: true, force: true });
});

test('Azurite stopped mid-run and started again: authors in flight fail cleanly, the rerun completes them, nothing earlier is touched', async () => {
  const world = await createWorld(servers, 8, {
    simulator: { faults: { latencyMs: 150 } },
    env: { RUN_LOCK_SECONDS: '15', CATALOG_MAX_RETRIES: '2' },
  });
  try {
    const first = await runCli(['run', '--json'], world.env);
    expect(first.code).toBe(0);
    const earlier = await fingerprintSnapshots(world.container);
    expect(earlier.size).toBe(24);

    const interrupted = runCli(['run', '--json'], { ...world.env, AUTHOR_CONCURRENCY: '2' });
    // Stop storage once the catalog is being read; keep it away longer than the SDK's retries last
    // (13 s of waits between eight tries, src/snapshots/storageClients.ts).
    const requestsBefore = world.catalog.stats.requests;
    await waitFor(
      () => world.catalog.stats.requests > requestsBefore + 4,
      'the second run to reach the catalog',
    );
    await servers.azurite.stop();
    await new Promise((resolve) => setTimeout(resolve, 16_000));
    await servers.azurite.restart();
    const result = await interrupted;
    expect(result.code).toBe(1);
    const record = JSON.parse(result.stdout) as RunRecord;
    const failed = record.authors.filter((author) => author.status === 'failed');
    expect(failed.length).toBeGreaterThan(0);
    // Storage away longer than a lease (15 s here) also loses the run lock: its holder cannot prove it.
    for (const author of failed)
      expect(['STORAGE_UNAVAILABLE', 'SNAPSHOT_WRITE', 'ABORTED', 'RUN_LOCK_LOST']).toContain(
        author.error!.code,
      );
    await expectArchiveSound(world.container, earlier);

    // The rerun (once the dead run's lock has expired) completes every author.
    const rerun = await runOnceUnlocked(['--json'], world.env);
    expect(rerun.code).toBe(0);
    expect((JSON.parse(rerun.stdout) as RunRecord).counts).toMatchObject({ complete: 8, failed: 0 });
    await expectArchiveSound(world.container, earlier);
  } finally {
    await world.catalog.close();
  }
}, 90_000);
