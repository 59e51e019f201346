import { startAzurite, type RunningAzurite } from '../../dev/azurite';
import { startVaultEmulator, type VaultEmulator } from '../../dev/vault-emulator';
import type { RunRecord } from '../../src/snapshots/formats';
import { expectArchiveSound, fingerprintSnapshots } from '../support/archive';
import { runCli } from '../support/cliHarness';
import { readAllBlobs } from '../support/storage';
import { drillWorld } from './drillSetup';

/** Drill: the vault cannot be reached. */
let azurite: RunningAzurite;
let vault: VaultEmulator;

beforeAll(async () => {
  azurite = await startAzurite();
  vault = await startVaultEmulator();
});
afterAll(async () => {
  await vault?.close();
  await azurite?.stop();
});

test.each([
  ['refuses connections', 'closed' as const],
  ['answers 503', 'unavailable' as const],
])(
  'a vault that %s fails the run at once, naming the vault, with a run record saying so',
  async (_, outage) => {
    const world = await drillWorld(azurite, vault, 2);
    try {
      expect((await runCli(['run'], world.env)).code).toBe(0);
      const earlier = await fingerprintSnapshots(world.container);
      const requests = world.catalog.stats.requests;

      const env = { ...world.env };
      let spare: VaultEmulator | undefined;
      if (outage === 'closed') {
        spare = await startVaultEmulator();
        env.KEY_VAULT_URL = spare.url;
        await spare.close();
      } else {
        vault.setOutage('unavailable');
      }
      const result = await runCli(['run'], env).finally(() => vault.setOutage(undefined));
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`Key Vault ${env.KEY_VAULT_URL}`);
      expect(world.catalog.stats.requests).toBe(requests);

      const records = [...(await readAllBlobs(world.container, 'runs/'))]
        .filter(([path]) => /^runs\/\d{4}\/\d{2}\/\d{2}\/[^/]+\.json$/.test(path))
        .map(([, blob]) => JSON.parse(blob.body.toString()) as RunRecord);
      const failed = records.find((record) => record.status === 'failed')!;
      expect(failed.error).toMatchObject({
        code: 'VAULT_UNAVAILABLE',
        message: expect.stringContaining(env.KEY_VAULT_URL!) as string,
      });
      expect(failed.completedAt).not.toBeNull();
      await expectArchiveSound(world.container, earlier);
      // Nothing is left locked: the next run proceeds.
      expect((await runCli(['run'], world.env)).code).toBe(0);
    } finally {
      await world.catalog.close();
    }
  },
  30_000,
);
