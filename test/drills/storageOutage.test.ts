import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAzurite, type RunningAzurite } from '../../dev/azurite';
import { startVaultEmulator, type VaultEmulator } from '../../dev/vault-emulator';
import type { RunRecord } from '../../src/snapshots/formats';
import { expectArchiveSound, fingerprintSnapshots } from '../support/archive';
import { runCli } from '../support/cliHarness';
import { drillWorld, waitFor } from './drillSetup';

/** Drill: the storage account goes away in the middle of a run, then comes back. */
let folder: string;
let azurite: RunningAzurite;
let vault: VaultEmulator;

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'azurite-drill-'));
  azurite = await startAzurite({ location: folder });
  vault = await startVaultEmulator();
});
afterAll(async () => {
  await vault?.close();
  await azurite?.stop();
  await rm(folder, { recursive: true, force: true });
});

test('Azurite stopped mid-run and started again: authors in flight fail cleanly, the rerun completes them, nothing earlier is touched', async () => {
  const world = await drillWorld(azurite, vault, 8, { faults: { latencyMs: 150 } });
  try {
    const first = await runCli(['run', '--json'], world.env);
    expect(first.code).toBe(0);
    const earlier = await fingerprintSnapshots(world.container);
    expect(earlier.size).toBe(24);

    const interrupted = runCli(['run', '--json'], { ...world.env, AUTHOR_CONCURRENCY: '2' });
    // Stop storage once the catalog is being read, keep it away longer than the SDK's retries last.
    const requestsBefore = world.catalog.stats.requests;
    await waitFor(
      () => world.catalog.stats.requests > requestsBefore + 4,
      'the second run to reach the catalog',
    );
    await azurite.stop();
    await new Promise((resolve) => setTimeout(resolve, 6000));
    await azurite.restart();
    const result = await interrupted;
    expect(result.code).toBe(1);
    const record = JSON.parse(result.stdout) as RunRecord;
    const failed = record.authors.filter((author) => author.status === 'failed');
    expect(failed.length).toBeGreaterThan(0);
    for (const author of failed)
      expect(['STORAGE_UNAVAILABLE', 'SNAPSHOT_WRITE', 'ABORTED']).toContain(author.error!.code);
    await expectArchiveSound(world.container, earlier);

    // The rerun (once the dead run's lock has expired) completes every author.
    let rerun = await runCli(['run', '--json'], world.env);
    for (
      let attempt = 0;
      rerun.code !== 0 && rerun.stderr.includes('Another export run') && attempt < 40;
      attempt++
    ) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      rerun = await runCli(['run', '--json'], world.env);
    }
    expect(rerun.code).toBe(0);
    expect((JSON.parse(rerun.stdout) as RunRecord).counts).toMatchObject({ complete: 8, failed: 0 });
    await expectArchiveSound(world.container, earlier);
  } finally {
    await world.catalog.close();
  }
}, 90_000);
